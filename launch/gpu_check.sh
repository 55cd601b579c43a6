#!/usr/bin/env bash
# The GPU check (issue 15): on a machine with CUDA, a C++ compiler, cmake, ninja and
# PyTorch (whose LibTorch hesp builds against) but none of hesp's other libraries and no
# network, build hesp with CUDA and run the device checks. The libraries come from .gpu/
# (launch/gpu_prefix.sh, made on a Debian 12 machine and carried along).
#
#   launch/gpu_check.sh [--out DIR] [--budget-s 480] [--jobs N] [--torch-cmake DIR]
#
# Writes DIR/gpu_check.log (everything) and DIR/gpu_check.json (one entry per check:
# status pass | fail | skipped, seconds, details); DIR defaults to $OUT (the device tool's
# folder) or ./gpu-check-out. Checks, in order, each skipped once the budget is spent:
#   env        nvidia-smi, CUDA/PyTorch/LibTorch/compiler/glibc versions
#   build      configure + build (timed) with -DHESP_DEPS_PREFIX, dataset tools off
#   clip       CLIP parity on CUDA: fp32 within 1e-4, bf16 autocast within 5e-2 of max|ref|
#   step       `hesp step` on the pinned step fixture (fp32) vs its /expected (if the
#              command exists in this build)
#   nccl       comm.nccl with one rank (mpirun -np 1)
#   train      `hesp train --set train.device=cuda` on the demo data, uninterrupted vs
#              stopped after 2 epochs and resumed: bitwise or the largest difference
#   matmul     the card's measured bf16 matmul rate (8192^3, PyTorch)
#   speed      the HESP step, bf16 autocast, ViT-B/16 and ViT-B/32, batch 64, T 8, K 7,
#              224 px: hesp (bench_step) vs plain PyTorch (tests/benchmarks/reference_step.py):
#              step time, frames/s, peak memory, TFLOP/s vs the matmul rate; hesp with
#              train.activation_checkpointing too (memory saved, time cost)
# On a machine without a GPU (and a CPU-only LibTorch: --torch-cmake) the same script
# runs the recipe through the same prefix and reports the CUDA checks as skipped.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="${OUT:-$root/gpu-check-out}"
budget_s=480
jobs=$(nproc)
torch_cmake=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="$2"; shift ;;
    --budget-s) budget_s="$2"; shift ;;
    --jobs) jobs="$2"; shift ;;
    --torch-cmake) torch_cmake="$2"; shift ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$out"
log="$out/gpu_check.log"
results="$(mktemp -d)"
: >"$log"
exec > >(tee -a "$log") 2>&1
start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start )); }
say() { echo "[gpu_check +$(elapsed)s] $*"; }
# Python (PyTorch, h5py, the JSON) runs with the machine's own libraries, never the
# carried ones that LD_LIBRARY_PATH adds for hesp below.
orig_ld_path="${LD_LIBRARY_PATH:-}"
py() { LD_LIBRARY_PATH="$orig_ld_path" python3 "$@"; }

# record NAME STATUS SECONDS DETAILS_JSON: one result; gpu_check.json is rewritten after
# each, so a run cut short still leaves what it measured.
record() {
  printf '{"check": "%s", "status": "%s", "seconds": %s, "details": %s}\n' "$1" "$2" "$3" \
    "${4:-null}" >>"$results/results.jsonl"
  py - "$results/results.jsonl" "$out/gpu_check.json" "$(elapsed)" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
json.dump({"elapsed_s": int(sys.argv[3]), "checks": rows}, open(sys.argv[2], "w"), indent=1)
EOF
  say "== $1: $2 ($3 s)"
}
# A check may start while this many seconds of the budget are left.
have_time() {
  local need="$1"
  if (( $(elapsed) + need > budget_s )); then
    say "budget: $(elapsed)/$budget_s s spent, $need s needed: skipping"
    return 1
  fi
}
json_str() { py -c 'import json,sys; print(json.dumps(sys.stdin.read()[-4000:]))'; }

# ------------------------------------------------------------------ env
t0=$(date +%s)
say "== env"
nvidia-smi 2>&1 | head -20 || echo "nvidia-smi: not available"
(command -v nvcc && nvcc --version | tail -2) 2>&1 || echo "nvcc: not on PATH"
gcc --version | head -1; cmake --version | head -1; ldd --version | head -1
env_json=$(py - <<'EOF'
import json, platform
d = {"python": platform.python_version()}
try:
    import torch
    d.update(torch=torch.__version__, torch_cuda=torch.version.cuda,
             cuda_available=torch.cuda.is_available(),
             cmake_prefix_path=torch.utils.cmake_prefix_path,
             cxx11_abi=torch._C._GLIBCXX_USE_CXX11_ABI)
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        d.update(gpu=p.name, gpu_memory_gib=round(p.total_memory / 2**30, 1),
                 sms=p.multi_processor_count)
except Exception as e:  # no torch: a CPU recipe run with --torch-cmake
    d["torch_error"] = str(e)
print(json.dumps(d))
EOF
)
echo "$env_json"
cuda=$(py -c 'import json,sys; print(int(json.loads(sys.argv[1]).get("cuda_available", False)))' "$env_json")
record env pass $(( $(date +%s) - t0 )) "$env_json"

# ------------------------------------------------------------------ deps + build
t0=$(date +%s)
deps="${HESP_GPU_DEPS:-/tmp/hesp-deps}"
if [[ ! -f "$deps/usr/lib/x86_64-linux-gnu/libprotobuf.so" ]]; then
  if [[ ! -f "$root/.gpu/deps.tar.xz" ]]; then
    record build fail 0 '"no .gpu/deps.tar.xz: run launch/gpu_prefix.sh and carry .gpu"'
    exit 1
  fi
  mkdir -p "$deps" && tar -C "$deps" -xJf "$root/.gpu/deps.tar.xz"
fi
lib="$deps/usr/lib/x86_64-linux-gnu"
export LD_LIBRARY_PATH="$lib:$lib/openmpi/lib:$lib/hdf5/serial:${LD_LIBRARY_PATH:-}"
export OPAL_PREFIX="$deps/usr" PATH="$deps/usr/bin:$PATH"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
[[ -n "$torch_cmake" ]] || torch_cmake=$(py -c 'import torch; print(torch.utils.cmake_prefix_path)')
cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DHESP_DEPS_PREFIX="$deps"
            -DHESP_BUILD_DATASET_TOOLS=OFF -DHESP_WARNINGS_AS_ERRORS=OFF
            -DHESP_SHARED_DIR="$root/.gpu" -DCMAKE_PREFIX_PATH="$torch_cmake")
if (( cuda )); then
  # The wheel's CUDA libraries (cuDNN, NCCL, ...) live in site-packages/nvidia/*; the
  # wheels ship versioned sonames only, so name the files.
  nv=$(py -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0] + "/"))' 2>/dev/null || true)
  cudnn_lib=$(ls "$nv"/cudnn/lib/libcudnn.so* 2>/dev/null | head -1)
  export NCCL_ROOT="$nv/nccl" CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
  export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
  cmake_args+=(-DCUDAToolkit_ROOT="$CUDA_HOME" -DCMAKE_CUDA_COMPILER="$CUDA_HOME/bin/nvcc"
               -DCUDNN_INCLUDE_PATH="$nv/cudnn/include" -DCUDNN_LIBRARY_PATH="$cudnn_lib"
               -DCAFFE2_USE_CUDNN=ON)
  # LibTorch's CUDA headers include cuBLAS, cuSPARSE, cuSOLVER... headers: from the
  # toolkit, else from the wheels.
  for d in "$nv"/*/lib; do LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$d"; done
  if [[ ! -f "$CUDA_HOME/include/cublas_v2.h" ]]; then
    for d in "$nv"/*/include; do CPATH="${CPATH:+$CPATH:}$d"; done
    export CPATH
  fi
  LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$torch_cmake/../../lib"
fi
build="$root/build-gpu"
say "== build: cmake ${cmake_args[*]}"
targets=(hesp clip_device_test comm_nccl_test bench_step)
if cmake -S "$root" -B "$build" "${cmake_args[@]}" >"$results/configure.log" 2>&1; then
  tail -5 "$results/configure.log"
  tb=$(date +%s)
  if cmake --build "$build" -j "$jobs" --target "${targets[@]}" >"$results/build.log" 2>&1; then
    warnings=$(grep -c 'warning:' "$results/build.log" || true)
    grep -m 20 'warning:' "$results/build.log" || true
    record build pass $(( $(date +%s) - t0 )) \
      "{\"build_s\": $(( $(date +%s) - tb )), \"jobs\": $jobs, \"warnings\": $warnings, \"summary\": $(grep 'hesp: LibTorch' "$results/configure.log" | json_str)}"
  else
    grep -E -m 30 'error|Error' "$results/build.log"
    tail -30 "$results/build.log"
    record build fail $(( $(date +%s) - t0 )) "$(grep -E -m 20 'error' "$results/build.log" | json_str)"
    exit 1
  fi
else
  tail -40 "$results/configure.log"
  record build fail $(( $(date +%s) - t0 )) "$(tail -40 "$results/configure.log" | json_str)"
  exit 1
fi
bin="$build/bin"
ldd "$bin/hesp" | grep -E 'not found|torch|cuda|nccl|protobuf|hdf5' || true

# ------------------------------------------------------------------ clip parity
if have_time 30; then
  t0=$(date +%s)
  say "== clip: CLIP parity (fp32 on CUDA 1e-4; bf16 autocast 5e-2 of max|ref|)"
  "$bin/clip_device_test" >"$results/clip.log" 2>&1
  rc=$?
  cat "$results/clip.log"
  # Without CUDA the fp32 case skips and bf16 runs through CPU autocast: "cpu_only".
  status=pass
  if (( rc != 0 )); then status=fail
  elif grep -q 'SKIPPED' "$results/clip.log"; then status=$( ((cuda)) && echo fail || echo cpu_only)
  fi
  record clip "$status" $(( $(date +%s) - t0 )) "$(grep -E 'bf16 autocast on|OK|FAILED|SKIPPED' "$results/clip.log" | json_str)"
fi

# ------------------------------------------------------------------ hesp step
if have_time 30; then
  t0=$(date +%s)
  fixture="$root/.gpu/fixtures/hesp_step/hesp_step_a.h5"
  weights="$root/tests/data/fixtures/clip/tiny_clip_a.state_dict.pt"
  say "== step: hesp step on the step fixture (fp32)"
  if ! "$bin/hesp" step --help >"$results/step_help.txt" 2>&1; then
    cat "$results/step_help.txt"
    record step skipped 0 '"this build has no `hesp step` command (issue 11 adds it)"'
  elif [[ ! -f "$fixture" ]]; then
    record step skipped 0 '"no .gpu/fixtures/hesp_step/hesp_step_a.h5 (launch/gpu_prefix.sh --shared)"'
  else
    step_args=(step --weights "$weights" --input "$fixture" --output "$results/step_out.h5")
    if (( cuda )); then
      if grep -q -- '--device' "$results/step_help.txt"; then step_args+=(--device cuda)
      elif grep -q -- '--set' "$results/step_help.txt"; then step_args+=(--set train.device=cuda)
      fi
    fi
    say "hesp ${step_args[*]}"
    "$bin/hesp" "${step_args[@]}" >"$results/step.log" 2>&1
    rc=$?
    tail -20 "$results/step.log"
    if (( rc != 0 )); then
      record step fail $(( $(date +%s) - t0 )) "$(tail -20 "$results/step.log" | json_str)"
    else
      # Every dataset of the output that /expected also has, against the fixture
      # README's float32 rule (losses 1e-4 rel; logits/features 1e-4 rel + 1e-4 max;
      # gradients 1e-3 rel + 1e-4 max): the worst ratio to the bound, 1 = just passes.
      details=$(py - "$results/step_out.h5" "$fixture" <<'EOF'
import json, sys
try:
    import h5py, numpy as np
except ImportError as e:
    print(json.dumps({"error": f"no h5py/numpy: {e}"})); sys.exit(0)
got, ref = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
worst, compared = {}, 0
def visit(name, obj):
    global compared
    if not isinstance(obj, h5py.Dataset):
        return
    key = name.split("expected/", 1)[-1]
    if "expected/" + key not in ref:
        return
    a, b = np.asarray(obj[()], np.float64), np.asarray(ref["expected/" + key][()], np.float64)
    if a.shape != b.shape:
        worst[key] = float("inf"); return
    scale = np.abs(b).max() if b.size else 0
    if key.startswith("loss"):
        bound = 1e-4 * np.abs(b)
    elif key.startswith("grad"):
        bound = 1e-3 * np.abs(b) + 1e-4 * scale
    else:
        bound = 1e-4 * np.abs(b) + 1e-4 * scale
    worst[key] = float(np.max(np.abs(a - b) / np.maximum(bound, 1e-300)))
    compared += 1
got.visititems(visit)
print(json.dumps({"compared": compared, "worst_ratio": max(worst.values()) if worst else None,
                  "per_dataset": worst}))
EOF
)
      echo "$details"
      status=$(py -c 'import json,sys; d=json.loads(sys.argv[1]); r=d.get("worst_ratio"); print("pass" if d.get("compared") and r is not None and r <= 1 else "fail")' "$details")
      record step "$status" $(( $(date +%s) - t0 )) "$details"
    fi
  fi
fi

# ------------------------------------------------------------------ nccl, one rank
if have_time 30; then
  t0=$(date +%s)
  say "== nccl: comm.nccl with one rank (two ranks need two GPUs: not on this machine)"
  mpirun --allow-run-as-root --oversubscribe --bind-to none -np 1 "$bin/comm_nccl_test" \
    >"$results/nccl.log" 2>&1
  rc=$?
  tail -15 "$results/nccl.log"
  case $rc in
    0) status=pass ;;
    77) status=$([[ $cuda == 1 ]] && echo fail || echo skipped) ;;
    *) status=fail ;;
  esac
  record nccl "$status" $(( $(date +%s) - t0 )) "{\"rc\": $rc, \"tail\": $(tail -5 "$results/nccl.log" | json_str)}"
fi

# ------------------------------------------------------------------ train + resume
if have_time 90; then
  t0=$(date +%s)
  # On the CPU (the recipe run without a GPU) the same runs check the script itself.
  device=cpu; (( cuda )) && device=cuda
  say "== train: demo data on $device, uninterrupted vs stopped after 2 epochs and resumed"
  data="$root/.gpu/demo/packed"
  if [[ ! -d "$data" ]]; then
    record train skipped 0 '"no .gpu/demo/packed (launch/gpu_prefix.sh packs it)"'
  else
    w="$results/clip_tiny.safetensors"
    "$bin/hesp" clip init --arch tiny --seed 0 --out "$w" >/dev/null
    sets=(--set "data.manifests=[\"$data\"]" --set "model.clip_weights=$w"
          --set "train.device=$device" --set "schedule={kind: custom epochs: 4 milestones: [3]}"
          --set "checkpoint={every_epochs: 1 keep_last: 2}" --set "eval={every_epochs: 2 batch_size: 16}")
    cfg="$root/configs/demo/hesp.pbtxt"
    "$bin/hesp" train --config "$cfg" --run-dir "$results/run_full" "${sets[@]}" >"$results/train_full.log" 2>&1
    rc_full=$?
    "$bin/hesp" train --config "$cfg" --run-dir "$results/run_resumed" "${sets[@]}" \
      --max-epochs-this-run 2 >"$results/train_part1.log" 2>&1
    rc_p1=$?
    "$bin/hesp" train --config "$cfg" --run-dir "$results/run_resumed" "${sets[@]}" \
      >"$results/train_part2.log" 2>&1
    rc_p2=$?
    tail -5 "$results/train_full.log" "$results/train_part2.log"
    details=$(py - "$results/run_full" "$results/run_resumed" "$rc_full" "$rc_p1" "$rc_p2" <<'EOF'
import json, os, sys
full, resumed = sys.argv[1], sys.argv[2]
rc = dict(full=int(sys.argv[3]), part1=int(sys.argv[4]), part2=int(sys.argv[5]))
def numbers(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(numbers(v, prefix + k + "."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[prefix + k] = float(v)
    return out
def load(run):
    vals = {}
    p = os.path.join(run, "result.json")
    if os.path.exists(p):
        vals.update({"result." + k: v for k, v in numbers(json.load(open(p))).items()})
    p = os.path.join(run, "metrics.jsonl")
    if os.path.exists(p):
        for i, line in enumerate(open(p)):
            r = json.loads(line)
            tag = f"{r.get('kind', r.get('type', 'rec'))}@{r.get('epoch', i)}.{r.get('step', '')}"
            vals.update({f"metrics.{tag}.{k}": v for k, v in numbers(r).items()})
    return vals
a, b = load(full), load(resumed)
# Timing figures differ between runs; data_wait_fraction and allreduce_fraction are too.
timing = ("_s", "time", "wall", "per_s", "seconds", "rss", "throughput", "elapsed", "fraction")
# The GPU's wait for data per epoch of the uninterrupted run (DevicePrefetcher, issue 23).
data_wait = [v for k, v in sorted(a.items()) if k.endswith(".data_wait_fraction")]
keys = sorted(k for k in set(a) & set(b) if not any(t in k for t in timing))
diffs = {k: abs(a[k] - b[k]) / max(abs(a[k]), 1e-12) for k in keys}
bad = {k: v for k, v in diffs.items() if v > 0}
print(json.dumps({"rc": rc, "compared": len(keys), "only_full": len(set(a) - set(b)),
                  "only_resumed": len(set(b) - set(a)), "bitwise_equal": not bad,
                  "max_rel_diff": max(diffs.values()) if diffs else None,
                  "differing": dict(sorted(bad.items(), key=lambda x: -x[1])[:10]),
                  "data_wait_fraction": data_wait}))
EOF
)
    echo "$details"
    status=$(py -c 'import json,sys; d=json.loads(sys.argv[1]); print("pass" if d["rc"]=={"full":0,"part1":75,"part2":0} and d["compared"]>0 and (d["max_rel_diff"] or 0) <= 1e-5 else "fail")' "$details")
    record "train_$device" "$status" $(( $(date +%s) - t0 )) "$details"
  fi
fi

# ------------------------------------------------------------------ matmul rate
matmul_tflops=0
if have_time 30 && (( cuda )); then
  t0=$(date +%s)
  say "== matmul: bf16 8192^3 through PyTorch"
  matmul_tflops=$(py - <<'EOF'
import torch
n = 8192
a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
for _ in range(3):
    a @ b
torch.cuda.synchronize()
s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
s.record()
for _ in range(10):
    a @ b
e.record(); torch.cuda.synchronize()
print(round(2 * n**3 * 10 / (s.elapsed_time(e) / 1e3) / 1e12, 1))
EOF
)
  record matmul pass $(( $(date +%s) - t0 )) "{\"bf16_tflops\": ${matmul_tflops:-0}}"
fi

# ------------------------------------------------------------------ speed
if (( cuda )); then
  for arch in ViT-B/16 ViT-B/32; do
    tag=${arch//\//_}
    have_time 60 || break
    t0=$(date +%s)
    say "== speed $arch: hesp vs plain PyTorch, bf16 autocast, batch 64, T 8, K 7"
    HESP_BENCH_DIR="$results" "$bin/bench_step" --device cuda --bf16 --arch "$arch" --batch 64 \
      --frames 8 --reps 3 --name "hesp_$tag" >"$results/bench_hesp_$tag.log" 2>&1
    rc_h=$?
    HESP_BENCH_DIR="$results" "$bin/bench_step" --device cuda --bf16 --checkpointing --arch "$arch" \
      --batch 64 --frames 8 --reps 3 --name "hesp_ckpt_$tag" >"$results/bench_ckpt_$tag.log" 2>&1
    rc_c=$?
    py "$root/tests/benchmarks/reference_step.py" bench --device cuda --bf16 --arch "$arch" \
      --batch 64 --frames 8 --classes 7 --steps 3 --warmup 2 --json "$results/ref_$tag.json" \
      >"$results/bench_ref_$tag.log" 2>&1
    rc_r=$?
    tail -3 "$results/bench_hesp_$tag.log" "$results/bench_ckpt_$tag.log" "$results/bench_ref_$tag.log"
    details=$(py - "$results" "$tag" "$matmul_tflops" <<'EOF'
import json, os, sys
d, tag, peak = sys.argv[1], sys.argv[2], float(sys.argv[3] or 0)
def load(p, key=None):
    try:
        j = json.load(open(os.path.join(d, p)))
        return j[key] if key else j
    except Exception as e:
        return {"error": str(e)}
h, c, r = load(f"hesp_{tag}.json", "hesp"), load(f"hesp_ckpt_{tag}.json", "hesp"), load(f"ref_{tag}.json")
out = {"hesp": h, "hesp_checkpointing": c, "pytorch_eager": r, "matmul_bf16_tflops": peak}
if "step_s" in h and "step_s" in r:
    out["speedup_vs_pytorch"] = r["step_s"] / h["step_s"]
    out["pytorch_achieved_tflops"] = h["step_tflop"] / r["step_s"]
if "achieved_tflops" in h and peak:
    out["fraction_of_matmul_rate"] = h["achieved_tflops"] / peak
if "peak_memory_mib" in h and "peak_memory_mib" in c:
    out["checkpointing_memory_saved_mib"] = h["peak_memory_mib"] - c["peak_memory_mib"]
    out["checkpointing_time_cost"] = c["step_s"] / h["step_s"] - 1
print(json.dumps(out))
EOF
)
    echo "$details"
    status=pass; (( rc_h == 0 && rc_c == 0 && rc_r == 0 )) || status=fail
    record "speed_$tag" "$status" $(( $(date +%s) - t0 )) "$details"
  done
else
  record speed skipped 0 '"no CUDA device"'
fi

# Keep $OUT within the device tool's 8 files: the log and the JSON (everything is in them).
say "done in $(elapsed) s; results in $out/gpu_check.json"
py -c 'import json,sys; [print(c["check"], c["status"], c["seconds"]) for c in json.load(open(sys.argv[1]))["checks"]]' "$out/gpu_check.json"
rm -rf "$results"
