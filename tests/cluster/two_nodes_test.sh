#!/usr/bin/env bash
# hesp on a real two-node cluster made of Linux namespaces on this machine
# (cluster/local/nodes.sh): its own hostname, IP, /tmp and /dev/shm per node, MPI between
# the nodes over TCP on a bridge, the rest of the file system shared. One bring-up for:
#  0. the nodes are separate: shared memory cannot join them (--mca btl self,vader fails
#     across nodes), TCP on the bridge does, and the MPI traffic is on the bridge;
#  1. `hesp train` on 2 nodes x 1 rank and 2 nodes x 2 ranks == 1 rank (result.json
#     metrics within the rank-equivalence tolerance); each rank's log names its node,
#     local rank, local size and thread share;
#  2. `hesp sweep` across the nodes (ranks alternate nodes, so a group of 2 spans both),
#     group size 2 and 1: every run done once; a rerun trains nothing;
#  3. `hesp-pack convert` across the nodes packs the dataset one process packs;
#  4. node loss: every process of node2 killed mid-epoch ends the job within 60 s with a
#     message naming node2; the rerun resumes from the last checkpoint and ends with the
#     uninterrupted result;
#  5. SLURM on the nodes (nodes-slurm.sh): a 2-node train.sbatch preempted with USR1
#     checkpoints, requeues, and the requeued job ends with the uninterrupted result; each
#     rank trains with --cpus-per-task threads;
#  6. a slow link (tc netem delay + loss; htb rate limit where the kernel has no netem):
#     the result is unchanged and the stall inspector stays quiet.
# Skips (77) with the reason when the machine does not allow namespaces (not root, no
# iproute2, a container without CAP_SYS_ADMIN/CAP_NET_ADMIN) or lacks mpirun/SLURM.
# Tears everything down on any exit.
#   two_nodes_test.sh HESP HESP_PACK MPIRUN SOURCE_DIR
set -uo pipefail
hesp="$(realpath "$1")"; pack="$(realpath "$2")"; mpirun="${3:-}"; src="$(realpath "$4")"
skip() { echo "SKIP: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "the namespace cluster needs root"
# Every node mounts its own empty /tmp (node-local scratch); a tree under /tmp (a CI clone)
# is bound into every node's /tmp at its own path, as shared storage (HESP_NODES_SHARE).
share=""
for p in "$(dirname "$hesp")" "$(dirname "$pack")" "$src"; do
  [[ "$p/" == /tmp/* ]] && share+="$p:"
done
export HESP_NODES_SHARE="$share"
for b in ip nsenter unshare tc jq python3; do command -v "$b" > /dev/null || skip "$b not found"; done
[[ -n "$mpirun" ]] && command -v "$mpirun" > /dev/null || skip "mpirun not found"
nodes_sh="$src/cluster/local/nodes.sh"
why=$(bash "$nodes_sh" check 2>&1) || skip "this machine does not allow network namespaces: $why"
have_slurm=1
for b in sbatch squeue scontrol scancel sinfo slurmctld slurmd munged; do
  command -v "$b" > /dev/null || { have_slurm=0; echo "note: $b not found: the SLURM part (5) is skipped"; }
done

# One cluster at a time on this machine (fixed bridge name and subnet).
exec 9> /run/lock/hesp-two-nodes-test.lock 2> /dev/null || exec 9> /var/tmp/hesp-two-nodes-test.lock
flock -w 1500 9 || { echo "FAIL: another two-node test held the lock for 25 min"; exit 1; }
# The work folder must be shared storage: not /tmp, which is per node.
base="${HESP_BINARY_DIR:-/var/tmp}"
[[ "$base/" == /tmp/* ]] && base=/var/tmp
work=$(mktemp -d "$base/two-nodes-test.XXXXXX")
nodes="$work/nodes"
cleanup() {
  [[ -f "$nodes/slurm/slurm.conf" ]] && bash "$src/cluster/local/nodes-slurm.sh" stop "$nodes"
  [[ -f "$nodes/tag" ]] && bash "$nodes_sh" down "$nodes"
  [[ "${KEEP:-0}" == 1 ]] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
trap "exit 1" INT TERM
bash "$nodes_sh" up "$nodes" 2 > /dev/null || { echo "FAIL: nodes.sh up"; exit 1; }
# shellcheck disable=SC1091
source "$nodes/env.sh"
on() { local node="$1"; shift; bash "$nodes_sh" exec "$nodes" "$node" "$@"; }
# mpirun started on node1, as from a login shell there.
mpi() { on node1 "$mpirun" --allow-run-as-root --oversubscribe --bind-to none "$@"; }
bridge_bytes() {  # bytes through node2's link (both ways)
  local d=/sys/class/net/$(cat "$nodes/tag")-n2/statistics
  echo $(( $(cat "$d/rx_bytes") + $(cat "$d/tx_bytes") ))
}
# HESP_CLUSTER_PARTS picks parts (default all; 4, 5 and 6 compare with part 1's 2 x 1 run).
parts=" ${HESP_CLUSTER_PARTS:-0 1 2 3 4 5 6} "
part() { [[ "$parts" == *" $1 "* ]]; }
fail=0
bad() { echo "FAIL: $*"; fail=1; }
wait_for_checkpoint() {  # RUN_DIR ALIVE_CMD...: until a checkpoint exists or ALIVE_CMD fails
  local dir="$1"; shift
  for _ in $(seq 1 6000); do
    ls "$dir/checkpoints/"ckpt-*.hespckpt > /dev/null 2>&1 && return 0
    "$@" || return 1
    sleep 0.1
  done
  return 1
}
job_alive() { [[ -n "$(squeue -h -j "$1" -o %T 2> /dev/null)" ]]; }
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)

bash "$src/tests/sweep/make_demo_data.sh" "$pack" "$work/data" || { echo "FAIL: data"; exit 1; }
config="$src/configs/demo/hesp.pbtxt"
# 4 epochs of 2 steps: the run goes on after its first checkpoint, where part 4 loses a node.
sets=(--set "data.manifests=[\"$work/data/afew\"]"
      --set "model.clip_weights=$src/tests/data/fixtures/clip/tiny_clip_a.safetensors"
      --set "schedule={kind: custom epochs: 4}" --set "checkpoint={every_epochs: 1 keep_last: 2}"
      --set "data.frames_per_clip=2" --set "eval.every_epochs=100" --set "train.global_batch_size=4"
      --set "train.max_steps_per_epoch=2")
metrics_close() {  # A B: every result.json metric within the rank-equivalence tolerance
  python3 - "$1/result.json" "$2/result.json" << 'PY'
import json, math, sys
a, b = (json.load(open(p))["metrics"] for p in sys.argv[1:3])
def walk(x, y, path):
    if isinstance(x, dict):
        assert set(x) == set(y), f"{path}: keys differ"
        for k in x: walk(x[k], y[k], f"{path}.{k}")
    elif isinstance(x, list):
        assert len(x) == len(y), f"{path}: lengths differ"
        for i, (u, v) in enumerate(zip(x, y)): walk(u, v, f"{path}[{i}]")
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        assert math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-6), f"{path}: {x} vs {y}"
    else:
        assert x == y, f"{path}: {x} vs {y}"
try:
    walk(a, b, "metrics")
except AssertionError as e:
    print(e); sys.exit(1)
PY
}

# --- 0. The nodes are apart; MPI between them goes over TCP on the bridge ---------------
if part 0; then
echo "== 0. nodes and transport"
for n in node1 node2; do
  [[ "$(on $n hostname)" == "$n" ]] || bad "$n's hostname is $(on $n hostname)"
done
on node1 touch /tmp/only-on-node1
on node2 test -e /tmp/only-on-node1 && bad "node2 sees node1's /tmp"
if mpi --host node1,node2 -np 2 --mca btl self,vader "$hesp" comm info > "$work/shm.log" 2>&1; then
  bad "shared memory joined ranks on two nodes (they are not apart)"
fi
mpi --host node1,node2 -np 2 --mca btl self,tcp --mca btl_base_verbose 30 "$hesp" comm info \
  > "$work/tcp.log" 2>&1 || { bad "comm info over TCP across the nodes"; tail -20 "$work/tcp.log"; }
grep "all_reduce_check" "$work/tcp.log"
grep -m 3 -E "btl:tcp|hesp0|10\.77\." "$work/tcp.log" || true
echo "OpenMPI TCP pinned to: btl_tcp_if_include=$OMPI_MCA_btl_tcp_if_include oob_tcp_if_include=$OMPI_MCA_oob_tcp_if_include"
[[ $(grep -c "all_reduce_check=2" "$work/tcp.log") -eq 2 ]] || bad "comm info: not 2 ranks summing to 2"

fi

# --- 1. Training: 1 rank == 2 x 1 == 2 x 2 ----------------------------------------------
if part 1; then
echo "== 1. train: 1 rank, 2 nodes x 1, 2 nodes x 2"
# One thread per rank, except in the 2 x 2 run, which checks the automatic share.
on node1 "$hesp" --threads 1 train --config "$config" "${sets[@]}" --run-dir "$work/t1" \
  > "$work/t1.log" 2>&1 || { bad "1-rank train"; tail -20 "$work/t1.log"; }
before=$(bridge_bytes)
mpi --host node1,node2 -np 2 "$hesp" --log-all-ranks --threads 1 train --config "$config" \
  "${sets[@]}" --run-dir "$work/t2x1" > "$work/t2x1.log" 2>&1 || { bad "2 x 1 train"; tail -20 "$work/t2x1.log"; }
echo "2 x 1 training moved $(( ($(bridge_bytes) - before) / 1024 )) KiB over node2's link"
mpi --host node1:2,node2:2 -np 4 "$hesp" --log-all-ranks train --config "$config" "${sets[@]}" \
  --run-dir "$work/t2x2" > "$work/t2x2.log" 2>&1 || { bad "2 x 2 train"; tail -20 "$work/t2x2.log"; }
for run in t2x1 t2x2; do
  [[ -f "$work/$run/result.json" ]] || { bad "$run: no result.json"; continue; }
  why=$(metrics_close "$work/t1" "$work/$run") || bad "$run metrics differ from 1 rank: $why"
done
# Rank placement by slot: ranks 0..k-1 on node1, the rest on node2.
check_layout() {  # RUN NP PER_NODE THREADS
  local run="$1" np="$2" per="$3" th="$4" r line want
  for r in $(seq 0 $((np - 1))); do
    local node="node$(( r / per + 1 ))" lr=$(( r % per ))
    want="rank $r of $np on $node: local rank $lr of $per, $th thread(s)"
    line=$(grep -m 1 -o "rank $r of $np on .*thread(s)" "$work/$run/logs/rank$r.log" 2> /dev/null)
    [[ "$line" == "$want" ]] || bad "$run rank $r: log says '$line', expected '$want'"
  done
}
check_layout t2x1 2 1 1
# Automatic: the node's cores shared among its 2 local ranks.
share=$(( cores / 2 )); (( share >= 1 )) || share=1
check_layout t2x2 4 2 $share
grep -h "rank . of 4 on" "$work"/t2x2/logs/rank*.log | sed 's/^.*\] //'

fi

# --- 2. Sweeps across the nodes ------------------------------------------------------------
if part 2; then
echo "== 2. sweep, group size 2 and 1"
sed -e "s#=\.\./\.\./#=$src/#g" -e "s#\"\.\./\.\./#\"$src/#g" -e "s#\"\.\./#\"$src/configs/#g" \
  -e 's/num_splits: 2/num_splits: 1/' "$src/configs/sweeps/demo.pbtxt" > "$work/sweep.pbtxt"
echo 'base_set: "train.max_steps_per_epoch=2"' >> "$work/sweep.pbtxt"
export HESP_SWEEP_DATA="$work/data"
runs=$("$hesp" sweep --config "$work/sweep.pbtxt" --list --skip-data-check | wc -l)
sweep_errors() {  # OUT: every rank's errors and last lines (mpirun shows rank 0's only)
  local f
  for f in $(find "$1" -name 'rank*.log' -o -name 'sweep*.log' 2> /dev/null); do
    grep -H -E "\] [EF][0-9]{4} |error|exit code" "$f" | tail -5
  done
  grep -E "\] [EF][0-9]{4} |error|exit code" "$work/sweep-g$g.log" | tail -10
}
for g in 2 1; do
  out="$work/sweep-g$g"
  mpi --host node1:2,node2:2 -np 4 --map-by node -x HESP_SWEEP_DATA "$hesp" --log-all-ranks sweep \
    --config "$work/sweep.pbtxt" --out "$out" --group-size $g > "$work/sweep-g$g.log" 2>&1 ||
    { bad "sweep --group-size $g"; tail -20 "$work/sweep-g$g.log"; sweep_errors "$out"; continue; }
  n=$(find "$out" -name result.json | wc -l)
  [[ $n -eq $runs && $runs -gt 0 ]] || bad "sweep --group-size $g: $n of $runs runs finished"
  # Each run trained once: one "run DIR (NAME): method" line per run, in its own rank-0 log.
  for f in $(find "$out" -name result.json); do
    d=$(dirname "$f"); c=$(grep -c "run $d (.*): method" "$d/logs/rank0.log" 2> /dev/null)
    [[ "$c" == 1 ]] || bad "sweep --group-size $g: $d trained $c time(s)"
  done
  find "$out" -name result.json -exec md5sum {} + | sort > "$work/before.md5"
  mpi --host node1:2,node2:2 -np 4 --map-by node -x HESP_SWEEP_DATA "$hesp" --log-all-ranks sweep \
    --config "$work/sweep.pbtxt" --out "$out" --group-size $g > "$work/sweep-g$g-again.log" 2>&1 ||
    bad "second sweep --group-size $g"
  grep -q "$runs already finished" "$work/sweep-g$g-again.log" || bad "the rerun (group size $g) did not skip $runs runs"
  find "$out" -name result.json -exec md5sum {} + | sort | cmp -s - "$work/before.md5" ||
    bad "the rerun (group size $g) trained a finished run again"
  echo "group size $g: $n runs once each; rerun skipped them"
done

fi

# --- 3. Packing across the nodes -----------------------------------------------------------
if part 3; then
echo "== 3. hesp-pack convert across the nodes"
"$pack" synth --layout afew --out "$work/src-afew" --clips-per-class 4 --frames 4 --size 64 --seed 7 \
  --defects > /dev/null 2>&1 || "$pack" synth --layout afew --out "$work/src-afew" --clips-per-class 4 \
  --frames 4 --size 64 --seed 7 > /dev/null
conv=(convert --format afew --root "$work/src-afew" --frames-per-clip 2 --size 64 --threads 1)
on node1 "$pack" "${conv[@]}" --output "$work/p1" > "$work/p1.log" 2>&1 || bad "convert, one process"
mpi --host node1:2,node2:2 -np 4 "$pack" "${conv[@]}" --output "$work/p4" > "$work/p4.log" 2>&1 ||
  { bad "convert under mpirun across the nodes"; tail -20 "$work/p4.log"; }
strip() { sed -e '/^created_utc/d' "$1/manifest.pbtxt" | awk '/^shards *\{/ {skip=1} !skip {print} skip && /^\}/ {skip=0}'; }
cmp -s <(strip "$work/p1") <(strip "$work/p4") || { bad "the manifests differ (bar shards and time)"; diff <(strip "$work/p1") <(strip "$work/p4") | head; }
cmp -s "$work/p1/rejected.tsv" "$work/p4/rejected.tsv" || bad "rejected.tsv differs"
"$pack" verify "$work/p4" > /dev/null 2>&1 || bad "hesp-pack verify of the 4-rank dataset"
grep -c "shard-r" "$work/p4/manifest.pbtxt" | xargs echo "4-rank shards:"

fi

# --- 4. Node loss ------------------------------------------------------------------------
if part 4; then
echo "== 4. node2 lost mid-epoch"
# The run holds after its first checkpoint (failpoint train.checkpoint_saved) until
# lost.release exists: node2 is lost mid-run whatever the machine's speed.
release="$work/lost.release"
run=(--host node1,node2 -np 2 -x HESP_FAILPOINTS="train.checkpoint_saved=pause($release)" "$hesp"
     --threads 1 train --config "$config" "${sets[@]}" --run-dir "$work/lost")
mpi "${run[@]}" > "$work/lost1.log" 2>&1 &
launcher=$!
wait_for_checkpoint "$work/lost" kill -0 $launcher
if ! kill -0 $launcher 2> /dev/null || [[ -f "$work/lost/result.json" ]]; then
  bad "the run ended before its first checkpoint was held"; tail -20 "$work/lost1.log"
else
  t0=$(date +%s.%N)
  bash "$nodes_sh" kill "$nodes" node2
  wait $launcher; rc=$?
  elapsed=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
  echo "node2 killed: mpirun exited $rc after ${elapsed} s"
  grep -m 3 -iE "node2|lost|rank" "$work/lost1.log"
  [[ $rc -ne 0 ]] || bad "mpirun exited 0 after node2 was lost"
  python3 -c "import sys; sys.exit($elapsed > 60)" || bad "the job took ${elapsed} s (> 60 s) to end"
  # OpenMPI names the host ("lost communication with a remote daemon ... node2") or, when
  # the daemon dies while ORTE still tracks its start-up, only says it could not keep the
  # daemons ("unable to reliably start one or more daemons"): either is the loss reported.
  grep -qE "node2|unable to reliably start one or more daemons" "$work/lost1.log" ||
    bad "no message reports the lost node2"
  touch "$release"
  mpi "${run[@]}" > "$work/lost2.log" 2>&1 || { bad "the rerun after the loss"; tail -20 "$work/lost2.log"; }
  grep -q "resumed from" "$work/lost2.log" "$work/lost/logs/rank0.log" || bad "the rerun did not resume from a checkpoint"
  cmp -s <(jq -S .metrics "$work/t2x1/result.json") <(jq -S .metrics "$work/lost/result.json") ||
    bad "the resumed run's metrics differ from the uninterrupted 2 x 1 run's"
fi

fi

# --- 6. Slow, lossy link -------------------------------------------------------------------
if part 6; then
echo "== 6. slow link"
tag=$(cat "$nodes/tag")
if tc qdisc add dev "$tag-n2" root netem delay 3ms 1ms loss 0.1% 2> /dev/null; then
  on node2 tc qdisc add dev hesp0 root netem delay 3ms 1ms loss 0.1%
  link="netem delay 3 ms +- 1 ms, 0.1% loss, both ways"
else
  # No netem in this kernel (sch_netem missing): a rate limit is the slow link we can make.
  echo "note: this kernel has no tc netem; delay and loss are not tested, a 20 Mbit/s htb limit is"
  tc qdisc add dev "$tag-n2" root handle 1: htb default 10 &&
    tc class add dev "$tag-n2" parent 1: classid 1:10 htb rate 20mbit burst 32k &&
    on node2 tc qdisc add dev hesp0 root handle 1: htb default 10 &&
    on node2 tc class add dev hesp0 parent 1: classid 1:10 htb rate 20mbit burst 32k ||
    bad "cannot shape the link with htb"
  link="htb 20 Mbit/s, both ways"
fi
t0=$(date +%s)
mpi --host node1,node2 -np 2 "$hesp" --threads 1 train --config "$config" "${sets[@]}" \
  --run-dir "$work/slow" > "$work/slow.log" 2>&1 || { bad "train on the slow link"; tail -20 "$work/slow.log"; }
echo "slow link ($link): 2 x 1 training took $(( $(date +%s) - t0 )) s"
cmp -s <(jq -S .metrics "$work/t2x1/result.json") <(jq -S .metrics "$work/slow/result.json") ||
  bad "the slow-link run's metrics differ from the 2 x 1 run's"
grep -h "stall:" "$work/slow.log" "$work"/slow/logs/*.log && bad "the stall inspector fired on a slow link"
tc qdisc del dev "$tag-n2" root 2> /dev/null
on node2 tc qdisc del dev hesp0 root 2> /dev/null

fi

# --- 5. SLURM across the nodes: preemption and requeue ----------------------------------
if part 5; then
echo "== 5. SLURM: 2-node job preempted with USR1, requeued"
if [[ $have_slurm == 1 ]]; then
  cluster=$(bash "$src/cluster/local/nodes-slurm.sh" start "$nodes" | tail -1) ||
    { bad "SLURM did not start"; cat "$nodes"/slurm/log/*.log; exit 1; }
  # shellcheck disable=SC1091
  source "$cluster/env.sh"
  export SBATCH_TIMELIMIT=10 HESP_ROOT="$src" HESP_BIN="$hesp"
  export HESP_MPIRUN_FLAGS="--allow-run-as-root --oversubscribe"
  cd "$work" || exit 1
  # --cpus-per-task=1: each rank must train with 1 thread (not the node's cores).
  # The run holds after its first checkpoint until pre.release exists (failpoint
  # train.checkpoint_saved; a stop signal releases it too), so USR1 always finds it
  # running; the release file is made once the first incarnation has ended, so the
  # requeued job runs through.
  release="$work/pre.release"
  job=$(HESP_FAILPOINTS="train.checkpoint_saved=pause($release)" sbatch --parsable --nodes=2 \
    --ntasks-per-node=1 --cpus-per-task=1 --output="$work/train.out" \
    "$src/cluster/slurm/train.sbatch" "$config" "$work/pre" "${sets[@]}")
  wait_for_checkpoint "$work/pre" job_alive "$job" ||
    bad "the SLURM job wrote no checkpoint"
  [[ -f "$work/pre/result.json" ]] && bad "the SLURM job finished before it was preempted"
  scancel --signal=USR1 --batch "$job"
  released=""; gone=0
  for _ in $(seq 1 1200); do
    state=$(squeue -h -j "$job" -o %T 2> /dev/null)
    [[ -z "$state" && -f "$work/pre/result.json" ]] && break
    # Out of the queue for 5 s without a result: it ended (failed).
    if [[ -z "$state" ]]; then gone=$((gone + 1)); else gone=0; fi
    [[ $gone -ge 10 ]] && { echo "job $job left the queue without a result"; break; }
    [[ "$state" == FAILED || "$state" == CANCELLED ]] && { echo "job $job ended $state"; break; }
    # A requeued job waits ~2 min before it is eligible again; release it once both
    # nodes cleaned up the first incarnation.
    grep -q "scontrol requeue" "$work/train.out" && touch "$release"
    if [[ -z "$released" && "$state" == PENDING ]] && grep -q "scontrol requeue" "$work/train.out" &&
       [[ $(sinfo -h -N -o %t | grep -c '^idle') -eq 2 ]]; then
      sleep 3
      scontrol update JobId="$job" StartTime=now > /dev/null 2>&1 && released=1
    fi
    sleep 0.5
  done
  grep -q "scontrol requeue" "$work/train.out" || bad "the 2-node job did not requeue itself"
  grep -q "restart 1" "$work/train.out" || bad "the requeued job did not run"
  grep -qr "resumed from" "$work/train.out" "$work/pre/logs" || bad "no resume from a checkpoint"
  if [[ -f "$work/pre/result.json" ]]; then
    cmp -s <(jq -S .metrics "$work/t2x1/result.json") <(jq -S .metrics "$work/pre/result.json") ||
      bad "the requeued 2-node job's metrics differ from the uninterrupted 2 x 1 run's"
  else
    bad "the requeued job did not finish"
  fi
  for r in 0 1; do
    line=$(grep -h -o "rank $r of 2 on .*" "$work/pre/logs/rank$r.log" | tail -1)
    echo "$line"
    [[ "$line" == "rank $r of 2 on node$((r + 1)): local rank 0 of 1, 1 thread(s)" ]] ||
      bad "SLURM rank $r: '$line' (expected node$((r + 1)), local rank 0 of 1, --cpus-per-task=1 thread)"
  done
  [[ $fail -eq 0 ]] || cat "$work/train.out"
fi
fi
exit $fail
