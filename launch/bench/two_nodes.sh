#!/usr/bin/env bash
# Two nodes on one machine (cluster/local/nodes.sh; root): what the network between them
# costs, all measured in the same run.
#   1. raw TCP between node1 and node2 over the bridge, iperf-style (one stream, 4 MiB
#      writes for 2 s) and a 1-byte ping-pong for the round trip;
#   2. bench_comm (MPI all-reduce, 1 KiB .. 64 MiB) with 2 ranks on 2 nodes (TCP on the
#      bridge) and with 2 ranks on one node (shared memory);
#   3. `hesp train` step scaling, tiny CLIP shapes (tests/data fixtures, 1 thread per rank):
#      1 rank against 2 nodes x 1 rank, with the all-reduce share of a step; again with
#      1 ms added delay each way (tc netem) when the kernel offers netem.
# Writes $HESP_BENCH_DIR/two_nodes.json (and comm_tcp.json, comm_shm.json).
#   launch/bench/two_nodes.sh     (HESP_TWO_NODES_STEPS: steps per epoch, default 8)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$root/build/bin"
out="${HESP_BENCH_DIR:-$root/bench-results}"
steps="${HESP_TWO_NODES_STEPS:-8}"
mkdir -p "$out"; out="$(cd "$out" && pwd)"
nodes_sh="$root/cluster/local/nodes.sh"
# Skipped (not failed) where the cluster cannot be made, so launch/bench.sh goes on.
[[ $(id -u) -eq 0 ]] || { echo "two_nodes: skipped: needs root"; exit 0; }
why=$(bash "$nodes_sh" check 2>&1) || { echo "two_nodes: skipped: $why"; exit 0; }
# One namespace cluster at a time (fixed names), shared with tests/cluster.
exec 9> /run/lock/hesp-two-nodes-test.lock 2> /dev/null || exec 9> /var/tmp/hesp-two-nodes-test.lock
flock -w 1500 9
work=$(mktemp -d "$root/build/two-nodes-bench.XXXXXX")
nodes="$work/nodes"
trap 'bash "$nodes_sh" down "$nodes" > /dev/null 2>&1; rm -rf "$work"' EXIT
bash "$nodes_sh" up "$nodes" 2 > /dev/null
# shellcheck disable=SC1091
source "$nodes/env.sh"
net=$(cat "$nodes/net"); tag=$(cat "$nodes/tag")
on() { local node="$1"; shift; bash "$nodes_sh" exec "$nodes" "$node" "$@"; }
mpi() {
  on node1 mpirun --allow-run-as-root --oversubscribe --bind-to none -x OMP_NUM_THREADS \
    -x OPENBLAS_NUM_THREADS -x HESP_BENCH_DIR "$@"
}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

# --- 1. raw TCP ------------------------------------------------------------------------------
cat > "$work/tcp.py" << 'PY'
import json, socket, sys, time
role, host = sys.argv[1], sys.argv[2]
PORT, CHUNK, SECONDS, PINGS = 5201, 4 << 20, 2.0, 2000
if role == "server":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, PORT)); s.listen(1)
    for _ in range(2):
        c, _ = s.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray(CHUNK)
        while True:
            n = c.recv_into(buf)
            if not n: break
            if n == 1: c.sendall(buf[:1])  # ping-pong phase echoes single bytes
        c.close()
else:
    c = socket.create_connection((host, PORT)); data = bytes(CHUNK); sent = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < SECONDS: c.sendall(data); sent += CHUNK
    c.shutdown(socket.SHUT_WR); c.recv(1); dt = time.perf_counter() - t0; c.close()
    c = socket.create_connection((host, PORT)); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rtts = []
    for _ in range(PINGS):
        t = time.perf_counter(); c.sendall(b"x"); c.recv(1); rtts.append(time.perf_counter() - t)
    c.close(); rtts.sort()
    print(json.dumps({"gib_per_s": sent / dt / 2**30, "rtt_us_median": 1e6 * rtts[len(rtts) // 2]}))
PY
raw_tcp() {
  on node2 python3 "$work/tcp.py" server "$net.2" & local server=$!
  sleep 0.5
  on node1 python3 "$work/tcp.py" client "$net.2"
  wait $server
}
tcp=$(raw_tcp)
echo "raw TCP node1 -> node2: $tcp"

# --- 2. all-reduce over TCP (2 nodes) and shared memory (1 node) ----------------------------
HESP_BENCH_DIR="$work" mpi --host node1,node2 -np 2 --mca btl self,tcp "$bin/bench_comm" > "$work/comm_tcp.log"
cp "$work/comm.json" "$out/comm_tcp.json"
HESP_BENCH_DIR="$work" mpi --host node1:2 -np 2 --mca btl self,vader "$bin/bench_comm" > "$work/comm_shm.log"
cp "$work/comm.json" "$out/comm_shm.json"

# --- 3. Step scaling, tiny shapes ----------------------------------------------------------
per_rank=4
clips=$(( (2 * per_rank * steps + 4) / 5 + 1 ))
"$bin/hesp-pack" synth --layout afew --out "$work/synth" --clips-per-class "$clips" --frames 4 \
  --size 64 --seed 3 > /dev/null
"$bin/hesp-pack" convert --format afew --root "$work/synth" --output "$work/packed" \
  --frames-per-clip 4 --size 64 --threads 2 > /dev/null
train() {  # NP HOSTS NAME -> the last training-epoch record
  local np=$1 hosts=$2 dir="$work/run-$3"
  mpi --host "$hosts" -np "$np" "$bin/hesp" --threads 1 train --config "$root/configs/demo/hesp.pbtxt" \
    --run-dir "$dir" --set "data.manifests=[\"$work/packed\"]" \
    --set "model.clip_weights=$root/tests/data/fixtures/clip/tiny_clip_a.safetensors" \
    --set "data.frames_per_clip=4" --set "data.loader_threads=1" \
    --set "schedule={kind: custom epochs: 3}" \
    --set "train={global_batch_size: $(( np * per_rank )) max_steps_per_epoch: $steps seed: 1}" \
    --set "eval.every_epochs=100" --set "checkpoint.every_epochs=100" > "$work/$3.log" 2>&1 ||
    { echo "two_nodes: the $3 run failed" >&2; tail -30 "$work/$3.log" >&2; exit 1; }
  jq -c 'select(.samples_per_s != null)' "$dir/metrics.jsonl" | tail -1
}
one=$(train 1 node1 one)
two=$(train 2 node1,node2 two)
delayed=null
if tc qdisc add dev "$tag-n2" root netem delay 1ms 2> /dev/null; then
  on node2 tc qdisc add dev hesp0 root netem delay 1ms
  delayed=$(train 2 node1,node2 two-1ms)
  tcp_1ms=$(raw_tcp)
  tc qdisc del dev "$tag-n2" root; on node2 tc qdisc del dev hesp0 root
else
  echo "note: no tc netem in this kernel: the 1 ms delay runs are skipped"
  tcp_1ms=null
fi

python3 - "$tcp" "$tcp_1ms" "$out/comm_tcp.json" "$out/comm_shm.json" "$one" "$two" "$delayed" \
  "$out/two_nodes.json" << 'PY'
import json, sys
tcp, tcp_1ms = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ctcp, cshm = json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))
one, two, delayed = (json.loads(a) for a in sys.argv[5:8])
fields = ("samples_per_s", "step_s", "allreduce_fraction", "data_wait_fraction")
res = {
    "raw_tcp": tcp, "raw_tcp_1ms": tcp_1ms,
    "all_reduce": [{"bytes": t["bytes"], "tcp_s": t["seconds"], "tcp_gib_per_s": t["algbw_gib_per_s"],
                    "shm_s": s["seconds"], "shm_gib_per_s": s["algbw_gib_per_s"]}
                   for t, s in zip(ctcp["all_reduce"], cshm["all_reduce"])],
    "train": {name: (None if r is None else {k: r[k] for k in fields})
              for name, r in (("1_rank", one), ("2_nodes_x_1", two), ("2_nodes_x_1_1ms", delayed))},
}
res["scaling_efficiency"] = two["samples_per_s"] / (2 * one["samples_per_s"])
json.dump(res, open(sys.argv[8], "w"), indent=2)
print(f"raw TCP: {tcp['gib_per_s']:.2f} GiB/s, round trip {tcp['rtt_us_median']:.0f} us")
print("size        TCP (2 nodes)            shared memory (1 node)")
for r in res["all_reduce"]:
    print(f"{r['bytes']:>9} B  {1e6*r['tcp_s']:9.1f} us {r['tcp_gib_per_s']:6.2f} GiB/s   "
          f"{1e6*r['shm_s']:9.1f} us {r['shm_gib_per_s']:6.2f} GiB/s")
for name, r in res["train"].items():
    if r: print(f"{name}: {r['samples_per_s']:.1f} samples/s, step {1e3*r['step_s']:.1f} ms, "
                f"all-reduce {100*r['allreduce_fraction']:.1f}%, data wait {100*r['data_wait_fraction']:.1f}%")
print(f"scaling efficiency 2 nodes x 1: {100*res['scaling_efficiency']:.1f}%")
PY
echo "wrote $out/two_nodes.json"
