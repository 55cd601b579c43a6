#!/usr/bin/env bash
# One run directory, one writer (util/dir_lock.h), with real processes:
#  1. a `hesp train` holds its run directory (held after its first checkpoint by the
#     failpoint train.checkpoint_saved, so no race with the clock); a second `hesp train`
#     on the same directory, as one process and under mpirun -np 2, refuses at once with
#     exit 73, naming the holder's pid, host and start time, printed once;
#  2. the holder is killed with SIGKILL (its record stays): a new `hesp train` takes the
#     lock over, resumes from the checkpoint and finishes; the lock file is gone after it.
set -uo pipefail
hesp="$1"; pack="$2"; mpirun="${3:-}"; src="$4"
work=$(mktemp -d); trap 'kill -9 ${first:-} 2> /dev/null; rm -rf "$work"' EXIT
"$pack" synth --layout afew --out "$work/synth" --clips-per-class 4 --frames 6 --size 64 --seed 5 > /dev/null || exit 1
"$pack" convert --format afew --root "$work/synth" --output "$work/packed" --frames-per-clip 2 --size 64 --threads 1 > /dev/null || exit 1
sets=(--set "data.manifests=[\"$work/packed\"]"
      --set "model.clip_weights=$src/tests/data/fixtures/clip/tiny_clip_a.safetensors"
      --set "schedule={kind: custom epochs: 2}" --set "checkpoint={every_epochs: 1 keep_last: 2}"
      --set "data.frames_per_clip=2" --set "eval.every_epochs=100")
train=("$hesp" train --config "$src/configs/demo/hesp.pbtxt" --run-dir "$work/run" "${sets[@]}")
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
fail=0
HESP_FAILPOINTS="train.checkpoint_saved=pause($work/never)" "${train[@]}" > "$work/first.log" 2>&1 &
first=$!
for _ in $(seq 1 1200); do
  ls "$work/run/checkpoints/"ckpt-*.hespckpt > /dev/null 2>&1 && break
  kill -0 $first 2> /dev/null || break
  sleep 0.25
done
if ! ls "$work/run/checkpoints/"ckpt-*.hespckpt > /dev/null 2>&1; then
  echo "FAIL: the first run wrote no checkpoint"; tail -20 "$work/first.log"; exit 1
fi
grep -q "pid=$first host=$(hostname) start=" "$work/run/run.lock" ||
  { echo "FAIL: run.lock does not name the holder: $(cat "$work/run/run.lock")"; fail=1; }
holder="in use by pid $first on host $(hostname) since "
"${train[@]}" > "$work/second.log" 2>&1; rc=$?
echo "second hesp train: exit $rc"
[[ $rc -eq 73 ]] || { echo "FAIL: the second hesp train exited $rc, not 73"; tail -5 "$work/second.log"; fail=1; }
n=$(grep -c "$holder" "$work/second.log")
[[ $n -eq 1 ]] || { echo "FAIL: the refusal naming the holder was printed $n times"; cat "$work/second.log"; fail=1; }
if [[ -n "$mpirun" ]] && command -v "$mpirun" > /dev/null; then
  "$mpirun" --allow-run-as-root --oversubscribe --bind-to none -np 2 "${train[@]}" > "$work/second2.log" 2>&1; rc=$?
  echo "second hesp train under mpirun -np 2: exit $rc"
  [[ $rc -eq 73 ]] || { echo "FAIL: mpirun -np 2 hesp train exited $rc, not 73"; tail -5 "$work/second2.log"; fail=1; }
  n=$(grep -c "$holder" "$work/second2.log")
  [[ $n -eq 1 ]] || { echo "FAIL: under mpirun the refusal was printed $n times"; cat "$work/second2.log"; fail=1; }
fi
kill -0 $first 2> /dev/null || { echo "FAIL: the holder ended while it was paused"; fail=1; }
kill -9 $first; wait $first 2> /dev/null
[[ -f "$work/run/run.lock" ]] || { echo "FAIL: the killed holder's record is gone"; fail=1; }
"${train[@]}" > "$work/third.log" 2>&1; rc=$?
[[ $rc -eq 0 ]] || { echo "FAIL: the run after the holder died exited $rc"; tail -20 "$work/third.log"; fail=1; }
grep -q "taking over the lock .*run.lock .* left by pid $first" "$work/third.log" "$work/run/logs/rank0.log" ||
  { echo "FAIL: the takeover of the dead holder's lock was not reported"; fail=1; }
grep -q "resumed from" "$work/third.log" "$work/run/logs/rank0.log" || { echo "FAIL: no resume"; fail=1; }
[[ -f "$work/run/result.json" ]] || { echo "FAIL: no result.json"; fail=1; }
[[ ! -e "$work/run/run.lock" ]] || { echo "FAIL: run.lock stayed after the run"; fail=1; }
exit $fail
