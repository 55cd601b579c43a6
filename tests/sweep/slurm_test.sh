#!/usr/bin/env bash
# The sbatch scripts of cluster/slurm/ on a real one-node SLURM (cluster/local/start.sh):
#  0. plain commands in the batch shell of a 2-task job run as one process; one rank of an
#     srun step of 2 tasks without PMI is refused;
#  1. sweep.sbatch runs a demo sweep to the end;
#  2. sweep-array.sbatch runs the same sweep as a job array, one run per task;
#  3. train.sbatch gets USR1 mid-run: the ranks checkpoint, the job requeues itself, the
#     requeued job resumes and ends with the metrics of an uninterrupted run;
#  4. sweep.sbatch gets USR1 while the sweep plans: exit 75, requeue, every run finished.
# Failpoints (HESP_FAILPOINTS, passed to the ranks by lib.sh) hold the jobs where the
# signal must find them: no clock decides.
# Skips (77) only when the SLURM or munge binaries are absent. Stops every daemon it starts.
set -uo pipefail
hesp="$1"; pack="$2"; mpirun="${3:-}"; src="$4"
for b in sbatch squeue scontrol scancel slurmctld slurmd munged; do
  command -v "$b" > /dev/null || { echo "$b not found: skipping"; exit 77; }
done
[[ -n "$mpirun" ]] && command -v "$mpirun" > /dev/null || { echo "mpirun not found: skipping"; exit 77; }
work=$(mktemp -d)
cluster=""
cleanup() {
  [[ -n "$cluster" ]] && bash "$src/cluster/local/stop.sh" "$cluster"
  rm -rf "$work"
}
trap cleanup EXIT
trap "exit 1" INT TERM
cluster=$(bash "$src/cluster/local/start.sh" "$work/slurm" | tail -1) || { echo "FAIL: SLURM did not start"; cat "$work"/slurm/log/*.log; exit 1; }
# shellcheck disable=SC1091
source "$cluster/env.sh"
cpus=$(sinfo -h -N -o '%c' | head -1)
[[ "$cpus" -ge 2 ]] || { echo "FAIL: the local SLURM node has $cpus CPU(s); the jobs below need 2"; exit 1; }
# Every job gets a time limit, so a job that can never start or never ends fails the test
# instead of hanging it.
export SBATCH_TIMELIMIT=10
bash "$src/tests/sweep/make_demo_data.sh" "$pack" "$work/data" || { echo "FAIL: data"; exit 1; }
export HESP_SWEEP_DATA="$work/data" HESP_ROOT="$src" HESP_BIN="$hesp"
export HESP_MPIRUN_FLAGS="--oversubscribe"  # as root, lib.sh adds --allow-run-as-root
fail=0
# The demo sweep with one split per cell (4 runs), its relative paths made absolute.
sed -e "s#=\.\./\.\./#=$src/#g" -e "s#\"\.\./\.\./#\"$src/#g" -e "s#\"\.\./#\"$src/configs/#g" -e 's/num_splits: 2/num_splits: 1/' \
  "$src/configs/sweeps/demo.pbtxt" > "$work/sweep.pbtxt"
cd "$work"

# 0. The batch shell of a 2-task job: a plain hesp-pack/hesp command is one process and
#    runs (no step variables there); one rank in a 2-task srun step without PMI (2 silent
#    singletons) is refused, naming SLURM_STEP_NUM_TASKS.
cat > "$work/plain.sh" <<JOB
#!/bin/bash
env | grep -c '^SLURM_STEP_' > "$work/plain.stepvars"
"$pack" verify "$work/data/afew" > "$work/plain.verify" 2>&1; echo "verify \$?" >> "$work/plain.rc"
"$hesp" comm info > "$work/plain.info" 2>&1; echo "info \$?" >> "$work/plain.rc"
srun --ntasks=2 --mpi=none "$hesp" comm info > "$work/plain.srun" 2>&1; echo "srun \$?" >> "$work/plain.rc"
JOB
timeout 300 sbatch --wait --ntasks=2 --output="$work/plain-%j.out" "$work/plain.sh" > /dev/null
echo "batch shell: $(tr '\n' ' ' < "$work/plain.rc"), SLURM_STEP_* variables: $(cat "$work/plain.stepvars")"
grep -qx "verify 0" "$work/plain.rc" || { echo "FAIL: hesp-pack verify in the batch shell"; cat "$work/plain.verify"; fail=1; }
grep -qx "info 0" "$work/plain.rc" && grep -q "size=1" "$work/plain.info" ||
  { echo "FAIL: hesp comm info in the batch shell"; cat "$work/plain.info"; fail=1; }
grep -q "^srun [1-9]" "$work/plain.rc" && grep -q "SLURM_STEP_NUM_TASKS=2" "$work/plain.srun" ||
  { echo "FAIL: one rank of a 2-task srun step was not refused"; cat "$work/plain.srun"; fail=1; }

# 1. One allocation, the in-job scheduler.
timeout 900 sbatch --wait --ntasks=2 --output="$work/sweep-%j.out" "$src/cluster/slurm/sweep.sbatch" \
  "$work/sweep.pbtxt" "$work/s" 1 > /dev/null; rc=$?
n=$(find "$work/s" -name result.json 2> /dev/null | wc -l)
echo "sweep.sbatch: exit $rc, $n runs finished"
[[ $rc -eq 0 && $n -eq 4 ]] || { echo "FAIL: sweep.sbatch"; cat "$work"/sweep-*.out; fail=1; }

# 2. The job array.
runs=$("$hesp" sweep --config "$work/sweep.pbtxt" --list | wc -l)
timeout 900 sbatch --wait --array=0-$((runs - 1)) --ntasks=1 --output="$work/array-%A_%a.out" \
  "$src/cluster/slurm/sweep-array.sbatch" "$work/sweep.pbtxt" "$work/arr" > /dev/null; rc=$?
n=$(find "$work/arr" -name result.json 2> /dev/null | wc -l)
echo "sweep-array.sbatch: exit $rc, $n of $runs runs finished"
[[ $rc -eq 0 && $n -eq $runs ]] || { echo "FAIL: sweep-array.sbatch"; cat "$work"/array-*.out; fail=1; }
for f in $(cd "$work/s" && find . -name result.json); do
  cmp -s <(jq -S .metrics "$work/s/$f") <(jq -S .metrics "$work/arr/$f") ||
    { echo "FAIL: $f differs between the array and the in-job sweep"; fail=1; }
done

# 3. Preempt a training job; it must requeue, resume and match an uninterrupted run.
# 60 short epochs keep it running well after its first checkpoint, when USR1 is sent.
sets=(--set "data.manifests=[\"$work/data/afew\"]"
      --set "model.clip_weights=$src/tests/data/fixtures/clip/tiny_clip_a.safetensors"
      --set "schedule={kind: custom epochs: 60}" --set "checkpoint={every_epochs: 1 keep_last: 2}"
      --set "data.frames_per_clip=2" --set "eval.every_epochs=100" --set "train.global_batch_size=4")
OMP_NUM_THREADS=1 "$mpirun" --allow-run-as-root --oversubscribe --bind-to none -np 2 \
  -x OMP_NUM_THREADS "$hesp" train --config "$src/configs/demo/hesp.pbtxt" --run-dir "$work/plain" \
  "${sets[@]}" > "$work/plain.log" 2>&1 || { echo "FAIL: the plain run"; tail -20 "$work/plain.log"; fail=1; }
# The run holds after its first checkpoint (failpoint train.checkpoint_saved) until the
# signal or pre.release, so USR1 always finds it running; the release file is made once
# the first incarnation has requeued, so the requeued job runs through.
release="$work/pre.release"
job=$(HESP_FAILPOINTS="train.checkpoint_saved=pause($release)" sbatch --parsable --ntasks=2 \
  --output="$work/train.out" "$src/cluster/slurm/train.sbatch" \
  "$src/configs/demo/hesp.pbtxt" "$work/pre" "${sets[@]}")
# wait_held OUT FAILPOINT JOB: until OUT says both ranks of the job hold at FAILPOINT (or
# the job left).
wait_held() {
  for _ in $(seq 1 2400); do
    [[ $(grep -c "failpoint $2: paused" "$1" 2> /dev/null) -ge 2 ]] && return 0
    [[ -z "$(squeue -h -j "$3" 2> /dev/null)" ]] && break
    sleep 0.25
  done
  echo "FAIL: job $3 did not hold at $2"; cat "$1"; fail=1; return 1
}
wait_held "$work/train.out" train.checkpoint_saved "$job"
scancel --signal=USR1 --batch "$job"
released=""
for _ in $(seq 1 1200); do
  state=$(squeue -h -j "$job" -o %T 2> /dev/null)
  [[ -z "$state" && -f "$work/pre/result.json" ]] && break
  [[ "$state" == FAILED || "$state" == CANCELLED ]] && { echo "job $job ended $state"; break; }
  # A requeued job waits ~2 min before it is eligible again; make it eligible now, but only
  # once the node has cleaned up the first incarnation (otherwise slurmd refuses to launch
  # the same job id again: "Job credential revoked").
  grep -q "scontrol requeue" "$work/train.out" && touch "$release"
  if [[ -z "$released" && "$state" == PENDING ]] && grep -q "scontrol requeue" "$work/train.out" &&
     [[ "$(sinfo -h -N -o %t | head -1)" == idle ]]; then
    sleep 3
    scontrol update JobId="$job" StartTime=now > /dev/null 2>&1 && released=1
  fi
  sleep 0.5
done
grep -q "scontrol requeue" "$work/train.out" || { echo "FAIL: the job did not requeue itself"; fail=1; }
grep -q "restart 1" "$work/train.out" || { echo "FAIL: the requeued job did not run"; fail=1; }
grep -qr "resumed from" "$work/train.out" "$work/pre/logs" || { echo "FAIL: no resume from a checkpoint"; fail=1; }
if [[ -f "$work/pre/result.json" ]]; then
  cmp -s <(jq -S .metrics "$work/plain/result.json") <(jq -S .metrics "$work/pre/result.json") ||
    { echo "FAIL: the requeued run's metrics differ from the uninterrupted run's"; fail=1; }
else
  echo "FAIL: the requeued run did not finish"; fail=1
fi
[[ $fail -eq 0 ]] || cat "$work/train.out"

# 4. Preempt sweep.sbatch while the sweep plans (before its first run; hesp sweep died of
# the signal there, 138, and the job failed): it must exit 75, requeue, and the requeued
# job must finish every run. The sweep holds after planning (failpoint sweep.planned)
# until the signal, and the requeued job passes once sweep.release exists.
release="$work/sweep.release"
job=$(HESP_FAILPOINTS="sweep.planned=pause($release)" sbatch --parsable --ntasks=2 \
  --output="$work/presweep.out" "$src/cluster/slurm/sweep.sbatch" "$work/sweep.pbtxt" "$work/ps" 1)
if wait_held "$work/presweep.out" sweep.planned "$job"; then
  scancel --signal=USR1 --batch "$job"
  released=""
  for _ in $(seq 1 1200); do
    state=$(squeue -h -j "$job" -o %T 2> /dev/null)
    [[ -z "$state" ]] && grep -q "restart 1" "$work/presweep.out" && break
    [[ "$state" == FAILED || "$state" == CANCELLED ]] && { echo "job $job ended $state"; break; }
    grep -q "scontrol requeue" "$work/presweep.out" && touch "$release"
    if [[ -z "$released" && "$state" == PENDING ]] && grep -q "scontrol requeue" "$work/presweep.out" &&
       [[ "$(sinfo -h -N -o %t | head -1)" == idle ]]; then
      sleep 3
      scontrol update JobId="$job" StartTime=now > /dev/null 2>&1 && released=1
    fi
    sleep 0.5
  done
  grep -q "step exited with 75" "$work/presweep.out" || { echo "FAIL: the sweep step did not exit 75 when preempted while planning"; fail=1; }
  grep -q "scontrol requeue" "$work/presweep.out" || { echo "FAIL: the sweep job did not requeue itself"; fail=1; }
  n=$(find "$work/ps" -name result.json 2> /dev/null | wc -l)
  echo "sweep.sbatch preempted while planning: $n runs finished after the requeue"
  [[ $n -eq 4 ]] || { echo "FAIL: the requeued sweep finished $n of 4 runs"; fail=1; }
  [[ $fail -eq 0 ]] || cat "$work/presweep.out"
else
  scancel "$job"
fi
exit $fail
