#!/usr/bin/env bash
# Stops what cluster/local/start.sh DIR started (by the pids it recorded) and removes DIR
# unless KEEP=1.
#   cluster/local/stop.sh DIR
set -uo pipefail
dir="$1"
[[ -f "$dir/slurm.conf" ]] || { echo "stop.sh: $dir is not a local SLURM folder" >&2; exit 2; }
if [[ -f "$dir/slurm.conf" ]]; then
  SLURM_CONF="$dir/slurm.conf" scancel --quiet --full --user=root 2> /dev/null || true
fi
for name in slurmd slurmctld munge/munged; do
  pidfile="$dir/$name.pid"
  [[ -f "$pidfile" ]] || continue
  pid=$(cat "$pidfile")
  kill "$pid" 2> /dev/null || continue
  for _ in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2> /dev/null || true
done
[[ "${KEEP:-0}" == 1 ]] || rm -rf "$dir"
