#!/usr/bin/env bash
# End-to-end test on a real (local, single-node) Slurm, as root. Not in CI
# (it installs and starts system daemons). It checks that
#  1. local-cluster.sh refuses to overwrite a Slurm configuration it did not write;
#  2. a small phase-transition sweep as a 4-task array plus the merge job gives
#     the same main_cells.csv, byte for byte, as a local unsharded run;
#  3. resubmitting a subset of the array (tasks 1 and 3, as after two failed
#     tasks) runs exactly shards 1/4 and 3/4, and the merge again equals the
#     local run;
#  4. `local-cluster.sh stop` stops only the daemons it started: a process
#     named slurmd that it did not start survives.
#
#   scripts/slurm/test-local.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
work=$(mktemp -d /tmp/gengap-slurm-XXXXXX)
fail() { echo "slurm test: FAILED: $*" >&2; exit 1; }

# 1. A foreign configuration is never overwritten.
echo "ClusterName=someone-else" > "$work/foreign.conf"
if GENGAP_SLURM_CONF="$work/foreign.conf" GENGAP_SLURM_STATE="$work/state" "$root/scripts/slurm/local-cluster.sh" 2>"$work/refusal"; then
  fail "local-cluster.sh overwrote a configuration it did not write"
fi
[ "$(cat "$work/foreign.conf")" = "ClusterName=someone-else" ] || fail "the foreign configuration was changed"
grep -q "refusing to overwrite" "$work/refusal" || fail "no refusal message: $(cat "$work/refusal")"
echo "slurm test: a foreign slurm.conf is left alone ($(cat "$work/refusal"))"

"$root/scripts/slurm/local-cluster.sh" >/dev/null
cfg=experiments/phase-transition/quick.toml

# Wait for a job to leave the queue (this test cluster keeps no accounting).
wait_job() {
  for _ in $(seq 1 300); do
    line=$(squeue -h -j "$1" -o '%T %r' 2>/dev/null || true)
    [ -z "$line" ] && return 0
    case "$line" in
      *DependencyNeverSatisfied*) cat "$work"/slurm/slurm-*.out >&2 || true; scancel "$1"; fail "merge job $1 never ran: an array task failed" ;;
    esac
    sleep 1
  done
  fail "job $1 still queued after 300 s"
}

# 2. The whole array, then the merge.
merge=$("$root/scripts/slurm/submit.sh" phase-transition "$cfg" 4 "$work/slurm" "$work/slurm-figures")
wait_job "$merge"
target/release/phase-transition --config "$cfg" --out "$work/local" --figures "$work/local-figures" 2>/dev/null
a="$work/slurm/phase-transition/main_cells.csv"
b="$work/local/phase-transition/main_cells.csv"
journals="$work/slurm/phase-transition/journal"
shards=$(ls "$journals" | grep -c 'shard-.-of-4' || true)
cmp -s "$a" "$b" && [ "$shards" = 4 ] || fail "shard journals: $shards; compare $a and $b"
echo "slurm test: 4 array tasks + merge == local run ($(wc -l < "$a") lines, byte for byte)"

# 3. Tasks 1 and 3 "failed": drop their journals and the merged output, resubmit only them.
rm -f "$journals"/*shard-1-of-4.jsonl "$journals"/*shard-3-of-4.jsonl "$a"
merge=$("$root/scripts/slurm/submit.sh" phase-transition "$cfg" 4 "$work/slurm" "$work/slurm-figures" 1,3)
wait_job "$merge"
names=$(ls "$journals" | sed -n 's/.*\.shard-\([0-9]*-of-[0-9]*\)\.jsonl$/\1/p' | sort | tr '\n' ' ')
[ "$names" = "0-of-4 1-of-4 2-of-4 3-of-4 " ] || fail "after resubmitting tasks 1,3 the shard journals are: $names"
cmp -s "$a" "$b" || fail "after resubmitting tasks 1,3 the merge differs from the local run"
echo "slurm test: resubmitting tasks 1,3 ran shards 1/4 and 3/4; merge == local run"

# 4. stop leaves a daemon it did not start alone.
cp "$(command -v sleep)" "$work/slurmd"
"$work/slurmd" 600 &
decoy=$!
sleep 0.5
[ "$(cat /proc/$decoy/comm)" = slurmd ] || fail "the decoy is not named slurmd"
ours=$(cat /run/gengap-local-cluster/*.pid 2>/dev/null | tr '\n' ' ')
"$root/scripts/slurm/local-cluster.sh" stop
kill -0 "$decoy" 2>/dev/null || fail "stop killed a slurmd it did not start"
for p in $ours; do
  [ "$(cat /proc/$p/comm 2>/dev/null || true)" = "" ] || fail "stop left its own daemon $p running"
done
kill "$decoy"
echo "slurm test: stop ended only its own daemons ($ours); a foreign slurmd survived"
rm -rf "$work"
echo "slurm test: passed"
