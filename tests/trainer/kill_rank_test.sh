#!/usr/bin/env bash
# kill -9 of one rank mid-run ends mpirun non-zero within 60 s; the last checkpoint loads,
# and a resume finishes the run. No clock decides when the rank dies: a failpoint holds
# the run after its first checkpoint.
set -uo pipefail
hesp="$1"; pack="$2"; mpirun="${3:-}"; src="$4"
if [[ -z "$mpirun" ]] || ! command -v "$mpirun" > /dev/null; then
  echo "mpirun not found: skipping"; exit 77
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$pack" synth --layout afew --out "$work/synth" --clips-per-class 6 --frames 6 --size 64 --seed 5 > /dev/null || exit 1
"$pack" convert --format afew --root "$work/synth" --output "$work/packed" --frames-per-clip 4 --size 64 --threads 1 > /dev/null || exit 1
sets=(--set "data.manifests=[\"$work/packed\"]"
      --set "model.clip_weights=$src/tests/data/fixtures/clip/tiny_clip_a.safetensors"
      --set "schedule={kind: custom epochs: 30}" --set "checkpoint={every_epochs: 1 keep_last: 2}"
      --set "data.frames_per_clip=2" --set "eval.every_epochs=100")
run=(env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$mpirun" --allow-run-as-root --oversubscribe --bind-to none -np 2
     "$hesp" train --config "$src/configs/demo/hesp.pbtxt" --run-dir "$work/run" "${sets[@]}")
# Both ranks hold after the first checkpoint (failpoint train.checkpoint_saved) until
# $release exists: rank 1 is killed while the run is certainly alive, however fast the
# machine; then rank 0 is released into the next epoch, where it meets the dead rank.
release="$work/release"
HESP_FAILPOINTS="train.checkpoint_saved=pause($release)" "${run[@]:0:4}" -x HESP_FAILPOINTS \
  "${run[@]:4}" > "$work/first.log" 2>&1 &
launcher=$!
for _ in $(seq 1 3000); do
  [[ $(grep -c "failpoint train.checkpoint_saved: paused" "$work/first.log") -ge 2 ]] && break
  kill -0 $launcher 2> /dev/null || break
  sleep 0.1
done
if [[ $(grep -c "failpoint train.checkpoint_saved: paused" "$work/first.log") -lt 2 ]]; then
  echo "FAIL: the ranks did not hold after the first checkpoint"; cat "$work/first.log"; kill -9 $launcher; exit 1
fi
victim=""
for pid in $(pgrep -f "hesp train --config.*--run-dir $work/run"); do
  if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then victim=$pid; fi
done
[[ -n "$victim" ]] || { echo "FAIL: rank 1 not found"; kill -9 $launcher; exit 1; }
t0=$(date +%s)
kill -9 "$victim"
touch "$release"
wait $launcher; rc=$?
elapsed=$(( $(date +%s) - t0 ))
echo "mpirun exited with $rc after ${elapsed}s"
fail=0
[[ $rc -ne 0 ]] || { echo "FAIL: mpirun exited 0 after a rank was killed"; fail=1; }
[[ $elapsed -le 60 ]] || { echo "FAIL: took ${elapsed}s (> 60 s)"; fail=1; }
"${run[@]}" > "$work/resume.log" 2>&1; rc=$?
[[ $rc -eq 0 ]] || { echo "FAIL: resume exited $rc"; tail -30 "$work/resume.log"; fail=1; }
grep -q "resumed from" "$work/resume.log" "$work/run/logs/rank0.log" || { echo "FAIL: the resume did not load a checkpoint"; fail=1; }
[[ -f "$work/run/result.json" ]] || { echo "FAIL: no result.json after the resume"; fail=1; }
exit $fail
