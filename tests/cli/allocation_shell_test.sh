#!/usr/bin/env bash
# Single-process tools run as one process inside a multi-task SLURM allocation, outside any
# job step: the batch script of `sbatch --ntasks=4` or the shell of `salloc -n 4`, where
# SLURM_JOB_ID, SLURM_NTASKS=4, SLURM_NODELIST, ... are set but no step variables
# (SLURM_STEP_ID, SLURM_STEP_NUM_TASKS). hesp-pack convert/verify/inspect/export, hesp
# predict, summary, config, clip and comm info all run there (they were refused as "did
# not join one MPI job"); mpirun -np 2 inside it is one job of 2 ranks. Only one rank in an
# srun step of several tasks (srun without PMI) is refused.
set -uo pipefail
hesp="$1"; pack="$2"; mpirun="${3:-}"; src="$4"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }
host=$(hostname)
in_alloc() { env SLURM_JOB_ID=4242 SLURM_JOBID=4242 SLURM_NTASKS=4 SLURM_NPROCS=4 SLURM_NNODES=1 \
  SLURM_JOB_NUM_NODES=1 SLURM_NODELIST="$host" SLURM_JOB_NODELIST="$host" SLURM_TASKS_PER_NODE=4 \
  SLURM_JOB_CPUS_PER_NODE=4 SLURM_JOB_NAME=interactive SLURM_SUBMIT_DIR="$work" \
  SLURM_CPUS_ON_NODE=4 "$@"; }
in_step() { in_alloc SLURM_STEP_ID=0 SLURM_STEPID=0 SLURM_STEP_NUM_TASKS=4 SLURM_PROCID=2 "$@"; }

"$pack" synth --layout afew --out "$work/synth" --clips-per-class 3 --frames 6 --size 64 --seed 7 > /dev/null || exit 1
in_alloc "$pack" convert --format afew --root "$work/synth" --output "$work/packed" \
  --frames-per-clip 2 --size 64 --threads 1 > "$work/convert.log" 2>&1; rc=$?
check "hesp-pack convert (rc $rc)" '[[ $rc -eq 0 ]]'
[[ $rc -eq 0 ]] || { cat "$work/convert.log"; exit 1; }
in_alloc "$pack" verify "$work/packed" > /dev/null 2>&1; rc=$?
check "hesp-pack verify (rc $rc)" '[[ $rc -eq 0 ]]'
in_alloc "$pack" inspect "$work/packed" > /dev/null 2>&1; rc=$?
check "hesp-pack inspect (rc $rc)" '[[ $rc -eq 0 ]]'
in_alloc "$pack" export "$work/packed" --split Val_AFEW --as frames --max-clips 2 --out "$work/frames" > /dev/null 2>&1; rc=$?
check "hesp-pack export (rc $rc)" '[[ $rc -eq 0 ]]'
in_alloc "$hesp" clip init --arch tiny --seed 0 --out "$work/w.safetensors" > /dev/null 2>&1; rc=$?
check "hesp clip init (rc $rc)" '[[ $rc -eq 0 ]]'
sets=(--set "data.manifests=[\"$work/packed\"]" --set "model.clip_weights=$work/w.safetensors"
      --set "schedule={kind: custom epochs: 1}" --set "data.frames_per_clip=2")
in_alloc "$hesp" config check "$src/configs/demo/hesp.pbtxt" > /dev/null 2>&1; rc=$?
check "hesp config check (rc $rc)" '[[ $rc -eq 0 ]]'
"$hesp" train --config "$src/configs/demo/hesp.pbtxt" --run-dir "$work/run" "${sets[@]}" > "$work/train.log" 2>&1 ||
  { tail -20 "$work/train.log"; echo "FAIL: training outside SLURM"; exit 1; }

in_alloc "$hesp" predict --run "$work/run" "$work/packed" --split Val_AFEW --output "$work/p.jsonl" > "$work/predict.log" 2>&1; rc=$?
check "hesp predict (rc $rc)" '[[ $rc -eq 0 && -s $work/p.jsonl ]]'
[[ $rc -eq 0 ]] || cat "$work/predict.log"
in_alloc "$hesp" summary "$work/run" > /dev/null 2>&1; rc=$?
check "hesp summary (rc $rc)" '[[ $rc -eq 0 ]]'
in_alloc "$hesp" comm info > "$work/info.out" 2>&1; rc=$?
check "hesp comm info is one process (rc $rc)" '[[ $rc -eq 0 ]] && grep -q "size=1" $work/info.out'
in_step "$hesp" comm info > /dev/null 2> "$work/step.err"; rc=$?
check "one rank in a 4-task srun step is refused (rc $rc)" '[[ $rc -ne 0 ]] && grep -q "SLURM_STEP_NUM_TASKS=4" $work/step.err'
in_step "$hesp" predict --run "$work/run" "$work/packed" --split Val_AFEW --output "$work/p2.jsonl" > /dev/null 2> "$work/step2.err"; rc=$?
check "predict as one rank of a 4-task srun step is refused (rc $rc)" '[[ $rc -ne 0 ]]'
if [[ -n "$mpirun" ]] && command -v "$mpirun" > /dev/null; then
  in_alloc "$mpirun" --allow-run-as-root --oversubscribe --bind-to none -np 2 "$hesp" comm info > "$work/mpi.out" 2>&1; rc=$?
  check "mpirun -np 2 in the allocation is one job of 2 ranks (rc $rc)" '[[ $rc -eq 0 ]] && grep -q "rank=1 size=2" $work/mpi.out'
  in_alloc "$mpirun" --allow-run-as-root --oversubscribe --bind-to none -np 2 "$pack" convert --format afew \
    --root "$work/synth" --output "$work/packed2" --frames-per-clip 2 --size 64 --threads 1 > "$work/c2.log" 2>&1; rc=$?
  check "mpirun -np 2 hesp-pack convert in the allocation (rc $rc)" '[[ $rc -eq 0 ]]'
fi
exit $fail
