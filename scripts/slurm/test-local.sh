#!/usr/bin/env bash
# End-to-end test on a real (local, single-node) Slurm: a small
# phase-transition sweep as a 4-task array plus the merge job must give the
# same main_cells.csv, byte for byte, as a local unsharded run.
#
#   scripts/slurm/test-local.sh        (as root; starts the cluster with local-cluster.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
"$root/scripts/slurm/local-cluster.sh" >/dev/null
work=$(mktemp -d /tmp/gengap-slurm-XXXXXX)
cfg=experiments/phase-transition/quick.toml
merge=$("$root/scripts/slurm/submit.sh" phase-transition "$cfg" 4 "$work/slurm" "$work/slurm-figures")
# Wait for the merge job to leave the queue (this test cluster keeps no accounting).
for _ in $(seq 1 300); do
  line=$(squeue -h -j "$merge" -o '%T %r' 2>/dev/null || true)
  [ -z "$line" ] && break
  case "$line" in
    *DependencyNeverSatisfied*) echo "merge job $merge never ran: an array task failed" >&2; cat "$work"/slurm/slurm-*.out >&2 || true; scancel "$merge"; exit 1 ;;
  esac
  sleep 1
done
target/release/phase-transition --config "$cfg" --out "$work/local" --figures "$work/local-figures" 2>/dev/null
a="$work/slurm/phase-transition/main_cells.csv"
b="$work/local/phase-transition/main_cells.csv"
shards=$(ls "$work/slurm/phase-transition/journal/" | grep -c 'shard-.-of-4' || true)
if cmp -s "$a" "$b" && [ "$shards" = 4 ]; then
  echo "slurm test: 4 array tasks + merge == local run ($(wc -l < "$a") lines, byte for byte)"
  rm -rf "$work"
else
  echo "slurm test: FAILED (shard journals: $shards; compare $a and $b)" >&2
  exit 1
fi
