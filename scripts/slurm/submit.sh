#!/usr/bin/env bash
# Submit a gengap grid sweep to Slurm as an N-task array plus a merge job
# that runs when every task has succeeded. Prints the merge job's id.
#
#   scripts/slurm/submit.sh EXPERIMENT CONFIG N [OUT] [FIGURES]
#
# Run from the workspace root, on a shared file system visible to the nodes.
set -euo pipefail
exp=${1:?experiment}; cfg=${2:?config}; n=${3:?number of tasks}
out=${4:-results}; figs=${5:-docs/figures}
here=$(cd "$(dirname "$0")" && pwd)
cargo build --release --quiet -p "$exp"
mkdir -p "$out" "$figs"   # Slurm cannot open --output in a missing folder
array=$(sbatch --parsable --array=0-$((n - 1)) --output="$out/slurm-%A_%a.out" "$here/sweep-array.sbatch" "$exp" "$cfg" "$out" "$figs")
merge=$(sbatch --parsable --dependency=afterok:"$array" --output="$out/slurm-%j-merge.out" "$here/merge.sbatch" "$exp" "$cfg" "$out" "$figs")
echo "submitted array job $array ($n tasks) and merge job $merge" >&2
echo "$merge"
