#!/usr/bin/env bash
# OpenMPI's rsh agent for the namespace nodes of nodes.sh: mpirun calls it as ssh,
#   agent.sh DIR [ssh options] HOST COMMAND...
# and it runs COMMAND (the remote daemon, orted) inside HOST's network, UTS and mount
# namespaces, with a clean login-like environment (as sshd would give): only what
# mpirun puts on the command line (PATH, LD_LIBRARY_PATH, -mca ...) reaches orted.
set -euo pipefail
dir="$1"; shift
# ssh options mpirun may pass (-x, -T, -l user, -o opt).
while [[ $# -gt 0 && "$1" == -* ]]; do
  case "$1" in -l | -o | -p | -i) shift 2 ;; *) shift ;; esac
done
host="${1:?agent.sh: no host}"; shift
host="${host%%.*}"
pidfile="$dir/nodes/$host/holder.pid"
[[ -f "$pidfile" ]] || { echo "agent.sh: no node '$host' in $dir" >&2; exit 255; }
echo "[$(date +%T)] agent: $host: $*" >> "$dir/agent.log"
exec nsenter -t "$(cat "$pidfile")" --net --uts --mount --wd=/ -- \
  env -i HOME="${HOME:-/root}" USER="${USER:-root}" LOGNAME="${USER:-root}" SHELL=/bin/sh \
  PATH="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" LANG=C.UTF-8 /bin/sh -c "$*"
