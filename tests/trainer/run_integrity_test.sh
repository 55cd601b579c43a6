#!/usr/bin/env bash
# `hesp train`, `hesp sweep` and `hesp predict` when a run crashes, diverges or finds its
# inputs at a new path (issue 20, kinds 2, 6 and 7), on 1 rank and under mpirun -np 2:
#  1. logs after a crash between checkpoints: a run checkpoints at epoch 2, dies (failpoint
#     train.epoch_logged=exit(9)) right after logging epoch 3, and resumes. metrics.jsonl
#     has one record per epoch and a restart marker; the new TensorBoard events carry a
#     SessionLog START at step 3, so every (tag, step) written twice is purged by it.
#  2. divergence: optim.lr=1e6 ends `hesp train` with exit 65 and "training diverged at
#     epoch ..." naming the term, and no result.json; `hesp sweep` records such a run as
#     failed with that reason.
#  3. a finished sweep rerun after its data and weights moved (${HESP_SWEEP_DATA}) trains
#     nothing and keeps every run finished.
#  4. `hesp predict` refuses CLIP weights with other bytes than the run trained with,
#     naming both hashes, unless --force-weights; the same bytes at a new path are fine.
set -uo pipefail
hesp="$1"; pack="$2"; mpirun="${3:-}"; src="$4"
PY=/usr/bin/python3
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
"$pack" synth --layout afew --out "$work/synth" --clips-per-class 4 --frames 6 --size 64 --seed 5 > /dev/null || exit 1
"$pack" convert --format afew --root "$work/synth" --output "$work/data/packed" --frames-per-clip 4 --size 64 --threads 1 > /dev/null || exit 1
cp "$src/tests/data/fixtures/clip/tiny_clip_a.safetensors" "$work/data/w.safetensors"
sets=(--set "data.manifests=[\"$work/data/packed\"]" --set "model.clip_weights=$work/data/w.safetensors"
      --set "data.frames_per_clip=2" --set "train.global_batch_size=4" --set "eval.every_epochs=100")
fail=0
have_mpi=0
[[ -n "$mpirun" ]] && command -v "$mpirun" > /dev/null && have_mpi=1
launch() { # ranks, then the hesp arguments
  local np=$1; shift
  if ((np == 1)); then "$hesp" "$@"; else
    "$mpirun" --allow-run-as-root --oversubscribe --bind-to none -np "$np" \
      ${HESP_FAILPOINTS:+-x HESP_FAILPOINTS} "$hesp" "$@"
  fi
}

# --- 1. logs after a crash between checkpoints ---
check_logs() { # run_dir
  $PY - "$1" << 'PY'
import collections, glob, json, struct, sys
run = sys.argv[1]
per = collections.Counter(); restarts = []
for line in open(run + "/metrics.jsonl"):
    r = json.loads(line)
    if r.get("event") == "restart": restarts.append(r)
    elif "epoch" in r and not r.get("final"): per[r["epoch"]] += 1
problems = []
if sorted(per.items()) != [(1, 1), (2, 1), (3, 1), (4, 1)]: problems.append("records per epoch %s" % dict(per))
if not any(r.get("resumed_at_epoch") == 2 and r.get("dropped_records", 0) >= 1 for r in restarts):
    problems.append("no restart marker at epoch 2 that dropped the orphaned record: %s" % restarts)
def varint(b, i):
    v = s = 0
    while True:
        x = b[i]; i += 1; v |= (x & 0x7F) << s; s += 7
        if not x & 0x80: return v, i
def fields(b):
    i = 0
    while i < len(b):
        k, i = varint(b, i); f, w = k >> 3, k & 7
        if w == 0: v, i = varint(b, i)
        elif w == 1: v = b[i:i + 8]; i += 8
        elif w == 5: v = b[i:i + 4]; i += 4
        elif w == 2: n, i = varint(b, i); v = b[i:i + n]; i += n
        yield f, v
events = []  # in writing order: (step, tags, session status)
for fn in sorted(glob.glob(run + "/tb/events.out.tfevents.*")):
    data = open(fn, "rb").read(); i = 0
    while i < len(data):
        (n,) = struct.unpack("<Q", data[i:i + 8]); ev = data[i + 12:i + 12 + n]; i += 16 + n
        step = 0; tags = []; status = None
        for f, v in fields(ev):
            if f == 2: step = v
            elif f == 5: tags += [t.decode() for f2, v2 in fields(v) for f3, t in fields(v2) if f3 == 1]
            elif f == 6: status = dict(fields(v)).get(1)
        events.append((step, tags, status))
starts = [s for s, _, st in events if st == 1]
if 3 not in starts: problems.append("no SessionLog START at step 3 (starts: %s)" % starts)
seen = {}
for k, (step, tags, _) in enumerate(events):
    for t in tags:
        if (t, step) in seen:  # written twice: a START at <= step must lie in between
            j = seen[(t, step)]
            if not any(st == 1 and s <= step for s, _, st in events[j + 1:k]):
                problems.append("%s at step %d twice without a restart between" % (t, step))
        seen[(t, step)] = k
print("; ".join(problems) if problems else "OK")
PY
}
logs_case() { # ranks
  local np=$1 run="$work/logs$1"
  local args=(train --config "$src/configs/demo/hesp.pbtxt" --run-dir "$run" "${sets[@]}"
              --set schedule.epochs=4 --set "schedule.milestones=[3]" --set "checkpoint={every_epochs: 2 keep_last: 3}")
  launch "$np" "${args[@]}" --max-epochs-this-run 2 > "$run.1.log" 2>&1; local r1=$?
  HESP_FAILPOINTS="train.epoch_logged=exit(9)" launch "$np" "${args[@]}" > "$run.2.log" 2>&1; local r2=$?
  sleep 1.1  # a new second: the resumed events file gets its own name
  launch "$np" "${args[@]}" > "$run.3.log" 2>&1; local r3=$?
  echo "logs, $np rank(s): exits $r1 (checkpoint at 2), $r2 (crash after epoch 3), $r3 (resume)"
  if ((r1 != 75 || r2 == 0 || r3 != 0)); then
    echo "FAIL: unexpected exit codes"; tail -n 5 "$run.2.log" "$run.3.log"; fail=1; return
  fi
  local verdict; verdict=$(check_logs "$run")
  [[ $verdict == OK ]] || { echo "FAIL: logs after the crash-resume, $np rank(s): $verdict"; fail=1; }
}
logs_case 1
((have_mpi)) && logs_case 2

# --- 2. divergence ---
diverge_case() { # ranks
  local np=$1 run="$work/nan$1"
  launch "$np" train --config "$src/configs/demo/hesp.pbtxt" --run-dir "$run" "${sets[@]}" \
    --set schedule.epochs=3 --set "schedule.milestones=[2]" --set optim.lr=1e6 > "$run.log" 2>&1
  local rc=$?
  echo "divergence, $np rank(s): exit $rc: $(grep -m1 -o 'training diverged at [^:]*: [^.]*' "$run.log")"
  ((rc == 65)) || { echo "FAIL: exit $rc, 65 expected"; tail -n 5 "$run.log"; fail=1; }
  grep -qE 'training diverged at epoch [0-9]+/3 step [0-9]+/[0-9]+ .*(nan|inf|gradient)' "$run.log" ||
    { echo "FAIL: no message naming epoch, step and term"; fail=1; }
  [[ ! -f "$run/result.json" ]] || { echo "FAIL: a diverged run left result.json"; fail=1; }
}
diverge_case 1
((have_mpi)) && diverge_case 2

# --- 3. a finished sweep rerun after its data and weights moved ---
sed -e 's/epochs: 6 milestones: \[4\]/epochs: 1/' "$src/configs/demo/hesp.pbtxt" > "$work/base.pbtxt"
cat > "$work/sweep.pbtxt" << 'CFG'
name: "moved-data"
base_file: "base.pbtxt"
base_set: "model.clip_weights=${HESP_SWEEP_DATA}/w.safetensors"
base_set: "data.frames_per_clip=2"
base_set: "train.global_batch_size=4"
settings { name: "afew" manifests: "${HESP_SWEEP_DATA}/packed" train_split: "Train_AFEW" test_split: "Val_AFEW" openness: ["5:2"] }
num_splits: 1
splits { base_seed: 3 }
methods: [hesp]
CFG
cp -a "$work/data" "$work/scratchA"
cd "$work" || exit 1
HESP_SWEEP_DATA="$work/scratchA" "$hesp" sweep --config "$work/sweep.pbtxt" --out "$work/sw" > "$work/sw1.log" 2>&1; s1=$?
before=$(find "$work/sw" -name result.json -exec sha256sum {} + | sort)
mv "$work/scratchA" "$work/scratchB"
HESP_SWEEP_DATA="$work/scratchB" "$hesp" sweep --config "$work/sweep.pbtxt" --out "$work/sw" > "$work/sw2.log" 2>&1; s2=$?
after=$(find "$work/sw" -name result.json -exec sha256sum {} + | sort)
status=$($PY -c 'import json,sys; print(" ".join(r["status"] for r in json.load(open(sys.argv[1]))["runs"]))' "$work/sw/sweep_summary.json")
echo "sweep: first exit $s1, rerun after the move exit $s2, statuses '$status'"
((s1 == 0 && s2 == 0)) || { echo "FAIL: sweep exits"; tail -n 5 "$work/sw2.log"; fail=1; }
[[ $status == finished && -n $before && $before == "$after" ]] || { echo "FAIL: the rerun retrained or failed the finished run"; fail=1; }
grep -q "same data and CLIP weights, now at another path" "$work/sw2.log" || { echo "FAIL: the rerun did not say why the run is finished"; fail=1; }

# --- 2b. a sweep records a diverged run as failed, with the reason ---
sed -e 's/^name: "moved-data"/name: "diverged"/' "$work/sweep.pbtxt" > "$work/sweep_nan.pbtxt"
printf 'base_set: "optim.lr=1e12"\nbase_set: "schedule.epochs=3"\n' >> "$work/sweep_nan.pbtxt"
HESP_SWEEP_DATA="$work/data" "$hesp" sweep --config "$work/sweep_nan.pbtxt" --out "$work/swnan" > "$work/swnan.log" 2>&1; sn=$?
nan_status=$($PY -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"][0]; print(r["status"], "|", r.get("error", "")[:60])' "$work/swnan/sweep_summary.json" 2>&1)
echo "sweep of a diverging run: exit $sn; summary: $nan_status"
((sn == 1)) && [[ $nan_status == "failed | training diverged at epoch"* ]] ||
  { echo "FAIL: the sweep did not record the divergence as a failure with its reason"; fail=1; }

# --- 4. hesp predict and the weights' identity ---
run=$(dirname "$(find "$work/sw" -name result.json | head -1)")
cp "$work/scratchB/w.safetensors" "$work/same.safetensors"
$PY - "$work/scratchB/w.safetensors" "$work/other.safetensors" << 'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[-2] ^= 1  # one weight, same shapes
open(sys.argv[2], "wb").write(bytes(b))
PY
predict() { "$hesp" predict --run "$run" --split Val_AFEW "$@" "$work/scratchB/packed"; }
predict --weights "$work/same.safetensors" > /dev/null 2> "$work/p1.log"; p1=$?
predict --weights "$work/other.safetensors" > /dev/null 2> "$work/p2.log"; p2=$?
predict --weights "$work/other.safetensors" --force-weights > /dev/null 2> "$work/p3.log"; p3=$?
echo "predict: same bytes elsewhere exit $p1, other bytes exit $p2, forced exit $p3"
((p1 == 0)) || { echo "FAIL: the same weights at a new path were refused"; tail -n 3 "$work/p1.log"; fail=1; }
((p2 != 0)) && grep -qE "other.safetensors \(sha256 [0-9a-f]{64}\) are not the ones run .* sha256 [0-9a-f]{64}" "$work/p2.log" ||
  { echo "FAIL: other weights not refused naming both"; tail -n 3 "$work/p2.log"; fail=1; }
((p3 == 0)) || { echo "FAIL: --force-weights did not accept them"; tail -n 3 "$work/p3.log"; fail=1; }
exit $fail
