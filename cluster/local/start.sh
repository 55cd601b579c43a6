#!/usr/bin/env bash
# A real one-node SLURM on this machine, for tests: munged, slurmctld and slurmd with all
# state in one folder. Run as root. Prints the folder; source <folder>/env.sh to use it.
#   cluster/local/start.sh [DIR]     (DIR default: a new mktemp folder)
# Stop with cluster/local/stop.sh DIR. Nothing is written outside DIR.
set -euo pipefail
dir="${1:-$(mktemp -d /tmp/hesp-slurm.XXXXXX)}"
mkdir -p "$dir"/{state,spool,log,munge}
dir="$(cd "$dir" && pwd)"
host="$(hostname -s)"
cpus="${HESP_SLURM_CPUS:-$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)}"
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
# Free TCP ports: two local clusters (or a system one) must not collide.
read -r ctld_port slurmd_port < <(python3 -c '
import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')

# munge: its own key, socket and pid file in DIR (--force: root-owned test folder).
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1 count=1024 status=none
chmod 400 "$dir/munge/munge.key"
chmod 700 "$dir/munge"
munged --force --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
  --seed-file="$dir/munge/munge.seed"

cat > "$dir/slurm.conf" <<CONF
ClusterName=hesplocal
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=30
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF

cat > "$dir/env.sh" <<ENV
export SLURM_CONF="$dir/slurm.conf"
ENV
export SLURM_CONF="$dir/slurm.conf"
slurmctld -c -f "$dir/slurm.conf"   # -c: clean start, no saved state
slurmd -f "$dir/slurm.conf"
for _ in $(seq 1 60); do
  state=$(sinfo -h -N -o '%t' 2> /dev/null | head -1 || true)
  [[ "$state" == idle* ]] && { echo "$dir"; exit 0; }
  [[ "$state" == down* || "$state" == drain* ]] && scontrol update nodename="$host" state=resume 2> /dev/null || true
  sleep 1
done
echo "start.sh: the node did not become idle (state '$state'); logs in $dir/log" >&2
exit 1
