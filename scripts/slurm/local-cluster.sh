#!/usr/bin/env bash
# Start a real single-node Slurm (Debian's slurm-wlm with munge) on this
# machine, for testing gengap's array jobs. Run as root.
#
#   scripts/slurm/local-cluster.sh          # install if needed, configure, start
#   scripts/slurm/local-cluster.sh stop     # stop the daemons this script started
#
# Safe on a machine that already runs Slurm or munge:
# * it writes the Slurm configuration ($GENGAP_SLURM_CONF, default
#   /etc/slurm/slurm.conf) only if the file is absent or was written by this
#   script (its first line is the marker below); any other configuration is
#   left alone and the script refuses, exit 1;
# * it starts a daemon only if none of that name is running, records the pid
#   of each daemon it started under $GENGAP_SLURM_STATE (default
#   /run/gengap-local-cluster), and `stop` signals only those pids (after
#   checking that each still runs the same program), never daemons that
#   someone else started.
set -euo pipefail

conf=${GENGAP_SLURM_CONF:-/etc/slurm/slurm.conf}
state=${GENGAP_SLURM_STATE:-/run/gengap-local-cluster}
marker="# written by gengap scripts/slurm/local-cluster.sh (safe to overwrite by it)"

stop_ours() {
  [ -d "$state" ] || { echo "local-cluster.sh: nothing to stop (no $state)" >&2; return 0; }
  for name in slurmd slurmctld munged; do
    f="$state/$name.pid"
    [ -s "$f" ] || continue
    pid=$(cat "$f")
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$name" ]; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      echo "local-cluster.sh: stopped $name (pid $pid)" >&2
    fi
    rm -f "$f"
  done
}

if [ "${1:-}" = "stop" ]; then
  stop_ours
  exit 0
fi

[ "$(id -u)" = 0 ] || { echo "local-cluster.sh: run as root (it installs and starts daemons)" >&2; exit 1; }
if [ -e "$conf" ] && [ "$(head -n 1 "$conf")" != "$marker" ]; then
  echo "local-cluster.sh: $conf exists and was not written by this script; refusing to overwrite it (set GENGAP_SLURM_CONF to another path, or use that cluster)" >&2
  exit 1
fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge
fi
mkdir -p "$state"

host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))

# Start `name` with the given command unless one of that name runs; record
# the pid of the one we start (the daemons fork: find it by name after).
start_daemon() {
  name=$1; shift
  if pgrep -x "$name" >/dev/null; then
    [ -s "$state/$name.pid" ] || echo "local-cluster.sh: a $name not started by this script is running; using it, and \`stop\` will leave it alone" >&2
    return 0
  fi
  "$@"
  for _ in $(seq 1 20); do
    pid=$(pgrep -x -n "$name" || true)
    [ -n "$pid" ] && { echo "$pid" > "$state/$name.pid"; return 0; }
    sleep 0.5
  done
  echo "local-cluster.sh: $name did not start" >&2
  return 1
}

# munge: a key (only if none exists), a runtime dir, and the daemon (as root it needs --force).
[ -s /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; chmod 400 /etc/munge/munge.key; }
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
start_daemon munged sh -c 'su -s /bin/sh munge -c /usr/sbin/munged 2>/dev/null || /usr/sbin/munged --force'

mkdir -p "$(dirname "$conf")" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > "$conf" <<CONF
$marker
ClusterName=gengap-local
SlurmctldHost=${host}
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
NodeName=${host} CPUs=${cpus} RealMemory=${mem} State=UNKNOWN
PartitionName=local Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF
# No cgroup.conf: with proctrack/linuxproc and task/none this test cluster needs no cgroups.
export SLURM_CONF="$conf"

start_daemon slurmctld /usr/sbin/slurmctld -f "$conf"
start_daemon slurmd /usr/sbin/slurmd -f "$conf"
for _ in $(seq 1 30); do
  if sinfo -h -o '%t' 2>/dev/null | grep -qE 'idle|mix|alloc'; then
    sinfo
    exit 0
  fi
  scontrol update nodename="${host}" state=resume >/dev/null 2>&1 || true
  sleep 1
done
echo "local-cluster.sh: the node did not come up; see /var/log/slurm/" >&2
sinfo || true
exit 1
