#!/usr/bin/env bash
# A real multi-node SLURM on the namespace nodes of nodes.sh: munged and slurmctld on the
# machine (the head, on the bridge address), one slurmd inside every node under the node's
# hostname, with the node's spool, pid and log in its own /tmp. Run as root.
#   cluster/local/nodes-slurm.sh start NODES_DIR   state in NODES_DIR/slurm; prints it
#   cluster/local/nodes-slurm.sh stop NODES_DIR    cancels the jobs, stops every daemon
# `source NODES_DIR/slurm/env.sh` points sbatch/squeue/scontrol at it (and the MPI
# environment of NODES_DIR/env.sh rides along into the jobs: sbatch copies it).
# nodes.sh down also ends the slurmds (they run inside the nodes).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cmd="$1"; nodes="$(cd "$2" && pwd)"
dir="$nodes/slurm"
case "$cmd" in
start)
  n=$(cat "$nodes/size"); net=$(cat "$nodes/net")
  mkdir -p "$dir"/{state,log,munge}
  head="$(hostname -s)"
  cpus="${HESP_SLURM_CPUS:-$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)}"
  mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / n - 512 ))
  ctld_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("",0)); print(s.getsockname()[1])')
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1 count=1024 status=none
  chmod 400 "$dir/munge/munge.key"; chmod 700 "$dir/munge"
  # One munged for all nodes: its socket is a file, reachable from every namespace.
  munged --force --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munge.seed"
  {
    cat << CONF
ClusterName=hespnodes
SlurmctldHost=$head($net.254)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=6818
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmctldPidFile=$dir/slurmctld.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdSpoolDir=/tmp/slurmd
SlurmdPidFile=/tmp/slurmd.pid
SlurmdLogFile=/tmp/slurmd.log
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
CONF
    for i in $(seq 1 "$n"); do
      echo "NodeName=node$i NodeAddr=$net.$i CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN"
    done
    echo "PartitionName=nodes Nodes=node[1-$n] Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES"
  } > "$dir/slurm.conf"
  echo "export SLURM_CONF=\"$dir/slurm.conf\"" > "$dir/env.sh"
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -c -f "$dir/slurm.conf"
  for i in $(seq 1 "$n"); do
    mkdir -p "$nodes/nodes/node$i/tmp/slurmd"
    "$here/nodes.sh" exec "$nodes" "node$i" slurmd -f "$dir/slurm.conf"; done
  for _ in $(seq 1 60); do
    idle=$(sinfo -h -N -o '%N %t' 2> /dev/null | awk '$2 ~ /^idle/' | wc -l)
    [[ $idle -eq $n ]] && { echo "$dir"; exit 0; }
    for down in $(sinfo -h -N -o '%N %t' 2> /dev/null | awk '$2 ~ /^(down|drain)/ {print $1}'); do
      scontrol update nodename="$down" state=resume 2> /dev/null || true
    done
    sleep 1
  done
  echo "nodes-slurm.sh: $idle of $n nodes idle after 60 s; logs in $dir/log and $nodes/nodes/*/tmp/slurmd.log" >&2
  exit 1
  ;;
stop)
  [[ -f "$dir/slurm.conf" ]] || exit 0
  SLURM_CONF="$dir/slurm.conf" scancel --quiet --full --user=root 2> /dev/null || true
  n=$(cat "$nodes/size")
  for i in $(seq 1 "$n"); do
    pidfile="$nodes/nodes/node$i/tmp/slurmd.pid"
    [[ -f "$pidfile" ]] && kill "$(cat "$pidfile")" 2> /dev/null || true
  done
  for pidfile in "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    [[ -f "$pidfile" ]] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2> /dev/null || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2> /dev/null || true
  done
  ;;
*) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
