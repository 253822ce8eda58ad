#!/usr/bin/env bash
# Submit a gengap grid sweep to Slurm as an N-task array plus a merge job
# that runs when every task has succeeded. Prints the merge job's id.
#
#   scripts/slurm/submit.sh EXPERIMENT CONFIG N [OUT] [FIGURES] [TASKS]
#
# TASKS (default 0-(N-1)) is a Slurm --array list: to resubmit only the
# shards that failed, give their ids, e.g. `1,3`; they still run as shards
# 1 and 3 of N, and the merge job then joins every shard's journal.
# Run from the workspace root, on a shared file system visible to the nodes.
set -euo pipefail
exp=${1:?experiment}; cfg=${2:?config}; n=${3:?number of shards N}
out=${4:-results}; figs=${5:-docs/figures}; tasks=${6:-0-$((n - 1))}
here=$(cd "$(dirname "$0")" && pwd)
cargo build --release --quiet -p "$exp"
mkdir -p "$out" "$figs"   # Slurm cannot open --output in a missing folder
array=$(sbatch --parsable --array="$tasks" --output="$out/slurm-%A_%a.out" "$here/sweep-array.sbatch" "$exp" "$cfg" "$n" "$out" "$figs")
merge=$(sbatch --parsable --dependency=afterok:"$array" --output="$out/slurm-%j-merge.out" "$here/merge.sbatch" "$exp" "$cfg" "$out" "$figs")
echo "submitted array job $array (tasks $tasks of $n shards) and merge job $merge" >&2
echo "$merge"
