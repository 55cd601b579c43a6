#!/usr/bin/env bash
# The main job on built-in demo data: set up and build if needed, synthesise a small
# AFEW-layout dataset, pack it, make a random tiny CLIP, then train and evaluate with
# `mpirun -np 2`: clip_zeroshot (Baseline 1) and hesp, and print a results table.
#
#   launch/demo.sh [--weights W] [--data PACKED_DIR] [--epochs N] [--out DIR] [--np N]
#
# --weights  real CLIP weights (OpenAI .pt, safetensors, torch.save); the configs then need
#            a matching image size, e.g. --set data.image_size=224 via HESP_DEMO_SET.
# --data     an already packed AFEW dataset (hesp-pack convert --format afew ...).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="$root/demo-run"
weights=""
data=""
epochs=""
np=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --weights) weights="$2"; shift ;;
    --data) data="$2"; shift ;;
    --epochs) epochs="$2"; shift ;;
    --out) out="$2"; shift ;;
    --np) np="$2"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [[ ! -x "$root/build/bin/hesp" || ! -x "$root/build/bin/hesp-pack" || "${HESP_DEMO_SKIP_SETUP:-0}" != 1 ]]; then
  "$here/setup.sh"
fi
hesp="$root/build/bin/hesp"
pack="$root/build/bin/hesp-pack"
mkdir -p "$out"
start=$(date +%s)

if [[ -z "$data" ]]; then
  echo "== synthesising a small AFEW-layout dataset (7 classes; Train_AFEW / Val_AFEW)"
  rm -rf "$out/synth" "$out/packed"
  "$pack" synth --layout afew --out "$out/synth" --clips-per-class 12 --frames 12 --size 72 --seed 7
  echo "== packing it into sharded HDF5"
  "$pack" convert --format afew --root "$out/synth" --output "$out/packed" --frames-per-clip 8 \
    --size 64 --shard-size-mb 4
  data="$out/packed"
fi

if [[ -z "$weights" ]]; then
  echo "== NOTE: no real CLIP weights exist on this machine. The demo uses a randomly"
  echo "   initialised tiny CLIP (hesp clip init --arch tiny): the numbers show that the whole"
  echo "   pipeline runs end to end, not what HESP reaches with real CLIP weights."
  weights="$out/clip_tiny_random.safetensors"
  [[ -f "$weights" ]] || "$hesp" clip init --arch tiny --seed 0 --out "$weights"
fi

threads=$(( $(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc) / np )); (( threads >= 1 )) || threads=1
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
# shellcheck source=mpirun_root.sh
source "$here/mpirun_root.sh"
# shellcheck disable=SC2207
mpirun_cmd=(mpirun $(hesp_mpirun_root_flags) --oversubscribe --bind-to none -np "$np"
            -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS)
sets=(--set "data.manifests=[\"$data\"]" --set "model.clip_weights=$weights")
[[ -n "$epochs" ]] && sets+=(--set "schedule={kind: custom epochs: $epochs}")
# shellcheck disable=SC2206
extra=(${HESP_DEMO_SET:-})

for method in clip_zeroshot hesp; do
  echo "== training + evaluating $method with mpirun -np $np"
  rm -rf "$out/runs/$method"
  "${mpirun_cmd[@]}" "$hesp" train --config "$root/configs/demo/$method.pbtxt" \
    --run-dir "$out/runs/$method" "${sets[@]}" "${extra[@]}"
done

echo
echo "== results (test split Val_AFEW; 5 known classes, 2 unknown; percentages)"
"$hesp" summary "$out/runs/clip_zeroshot" "$out/runs/hesp"
echo
echo "run directories: $out/runs/{clip_zeroshot,hesp} (config.pbtxt, logs/, checkpoints/,"
echo "  metrics.jsonl, tb/, result.json); total $(( $(date +%s) - start )) s"
