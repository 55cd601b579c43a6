#!/usr/bin/env bash
# Data-parallel scaling of `hesp train`: samples/s with 1 rank and with 2 ranks (1 thread
# each, the same per-rank batch), ViT-B/32 shapes with random weights, T = 8 frames at
# 224 px, on synthetic AFEW-layout data. Beside them: the scaling efficiency, the
# all-reduce and data-wait shares of a step, peak RSS per rank, and the machine's sgemm
# ceiling at 1 thread. Figures are from the last (warm) training epoch's metrics.jsonl
# record.
# Writes $HESP_BENCH_DIR/scaling.json.
#   launch/bench/scaling.sh     (HESP_SCALING_STEPS, HESP_SCALING_BATCH: steps per epoch
#                                and per-rank batch; defaults 4 and 4)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../mpirun_root.sh
source "$root/launch/mpirun_root.sh"
root_flags=$(hesp_mpirun_root_flags)
bin="$root/build/bin"
out="${HESP_BENCH_DIR:-$root/bench-results}"
steps="${HESP_SCALING_STEPS:-4}"
per_rank="${HESP_SCALING_BATCH:-4}"
mkdir -p "$out"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

# Enough training clips for 2 epochs of `steps` steps at 2 ranks; a small test set (the
# final evaluation is not part of the figures, only of the wall time).
clips=$(( (2 * per_rank * steps + 4) / 5 + 1 ))
"$bin/hesp-pack" synth --layout afew --out "$work/synth" --clips-per-class "$clips" --frames 8 \
  --size 224 --seed 3 > /dev/null
"$bin/hesp-pack" convert --format afew --root "$work/synth" --output "$work/packed" \
  --frames-per-clip 8 --size 224 --threads 2 > /dev/null
"$bin/hesp" clip init --arch ViT-B/32 --seed 0 --out "$work/vit-b-32.safetensors" > /dev/null

run() {  # run NP -> prints the last epoch record
  local np=$1 dir="$work/run-np$1"
  mpirun $root_flags --oversubscribe --bind-to none -np "$np" \
    -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS \
    "$bin/hesp" --threads 1 train --config "$root/configs/default.pbtxt" --run-dir "$dir" \
    --set "data.manifests=[\"$work/packed\"]" \
    --set "model.clip_weights=$work/vit-b-32.safetensors" \
    --set "data.train_split=Train_AFEW" --set "data.test_split=Val_AFEW" \
    --set "data.frames_per_clip=8" --set "data.image_size=224" --set "data.loader_threads=1" \
    --set "data.open_set={setting: \"afew\" num_known: 5 num_unknown: 2 split_seed: 1}" \
    --set "schedule={kind: custom epochs: 2}" \
    --set "train={global_batch_size: $(( np * per_rank )) max_steps_per_epoch: $steps seed: 1}" \
    --set "prompts.visual.box=cam_once" --set "eval.every_epochs=100" \
    --set "checkpoint.every_epochs=100" \
    > "$work/np$np.log" 2>&1 || { echo "scaling: the $np-rank run failed" >&2; tail -30 "$work/np$np.log" >&2; exit 1; }
  # The last training-epoch record (the final line holds the end-of-run evaluation).
  jq -c 'select(.samples_per_s != null)' "$dir/metrics.jsonl" | tail -1
}
one=$(run 1)
two=$(run 2)
HESP_BENCH_DIR="$work" "$bin/bench_machine" > /dev/null
python3 - "$one" "$two" "$work/machine.json" "$per_rank" "$steps" "$out/scaling.json" <<'PY'
import json, sys
one, two = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ceiling = json.load(open(sys.argv[3]))["sgemm_gflops"]["1024"]["1_threads"]
eff = two["samples_per_s"] / (2 * one["samples_per_s"])
res = {
    "arch": "ViT-B/32", "frames": 8, "image_size": 224, "threads_per_rank": 1,
    "per_rank_batch": int(sys.argv[4]), "steps_per_epoch": int(sys.argv[5]),
    "sgemm_ceiling_gflops_1_thread": ceiling,
    "ranks": {
        str(n): {k: r[k] for k in ("samples_per_s", "step_s", "allreduce_fraction",
                                   "data_wait_fraction", "peak_rss_mib")}
        for n, r in ((1, one), (2, two))},
    "scaling_efficiency": eff,
    "targets": {"scaling_efficiency": 0.9, "allreduce_fraction": 0.05, "data_wait_fraction": 0.05},
}
json.dump(res, open(sys.argv[6], "w"), indent=2)
print(f"sgemm ceiling (1 thread): {ceiling} GFLOP/s")
for n in ("1", "2"):
    r = res["ranks"][n]
    print(f"{n} rank(s): {r['samples_per_s']:.3f} samples/s, step {r['step_s']:.2f} s, "
          f"all-reduce {100*r['allreduce_fraction']:.1f}%, data wait {100*r['data_wait_fraction']:.1f}%, "
          f"peak RSS {r['peak_rss_mib']:.0f} MiB/rank")
print(f"scaling efficiency: {100*eff:.1f}% (target >= 90%)")
PY
echo "wrote $out/scaling.json"
