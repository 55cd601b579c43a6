#!/usr/bin/env bash
# An error of one rank ends the whole job promptly (comm/job_end.h), instead of the other
# ranks waiting in their next collective until distributed.stall_abort_s (30 min):
#  - 1 rank: `hesp train` with weights that do not exist exits 1 with one "error: ..." line;
#  - 2 ranks (MPMD: rank 1 alone gets a missing CLIP weights file, then a missing dataset):
#    mpirun exits non-zero well before the stall limit; rank 1's message (rank, host, the
#    file) is printed once; rank 0 says which rank ended the job. The same for
#    `hesp-pack convert` under mpirun when rank 1's source tree is missing.
set -uo pipefail
hesp="$1"; pack="$2"; mpirun="${3:-}"; src="$4"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$pack" synth --layout afew --out "$work/synth" --clips-per-class 4 --frames 6 --size 64 --seed 5 > /dev/null || exit 1
"$pack" convert --format afew --root "$work/synth" --output "$work/packed" --frames-per-clip 2 --size 64 --threads 1 > /dev/null || exit 1
weights="$src/tests/data/fixtures/clip/tiny_clip_a.safetensors"
base=(--config "$src/configs/demo/hesp.pbtxt" --set "schedule={kind: custom epochs: 1}"
      --set "data.frames_per_clip=2" --set "distributed.stall_warning_s=5")
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
fail=0
"$hesp" train "${base[@]}" --run-dir "$work/one" --set "data.manifests=[\"$work/packed\"]" \
  --set "model.clip_weights=/nonexistent/w.safetensors" > "$work/one.log" 2>&1; rc=$?
echo "1 rank: exit $rc"
[[ $rc -eq 1 || $rc -eq 2 ]] || { echo "FAIL: 1 rank exited $rc"; cat "$work/one.log"; fail=1; }
n=$(grep -c "^error: .*nonexistent/w.safetensors" "$work/one.log")
[[ $n -eq 1 ]] || { echo "FAIL: 1 rank: the error was printed $n times"; cat "$work/one.log"; fail=1; }
if [[ -z "$mpirun" ]] || ! command -v "$mpirun" > /dev/null; then
  echo "mpirun not found: the 2-rank checks are skipped"; exit $fail
fi
mpi=(timeout 300 "$mpirun" --allow-run-as-root --oversubscribe --bind-to none)
variant() {  # name, then rank 1's --set (rank 0 has good weights and data)
  local name=$1 bad=$2 start rc took
  start=$(date +%s)
  "${mpi[@]}" -np 1 "$hesp" train "${base[@]}" --run-dir "$work/$name" \
      --set "data.manifests=[\"$work/packed\"]" --set "model.clip_weights=$weights" \
    : -np 1 "$hesp" train "${base[@]}" --run-dir "$work/$name" \
      --set "data.manifests=[\"$work/packed\"]" --set "model.clip_weights=$weights" --set "$bad" \
    > "$work/$name.log" 2>&1
  rc=$?; took=$(( $(date +%s) - start ))
  echo "2 ranks, $name: exit $rc after ${took}s"
  [[ $rc -ne 0 && $rc -ne 124 ]] || { echo "FAIL: $name: exit $rc"; tail -20 "$work/$name.log"; fail=1; }
  # Far below the stall limit (1800 s) and the 300 s timeout, with room for a loaded machine.
  [[ $took -lt 120 ]] || { echo "FAIL: $name: took ${took}s"; fail=1; }
  n=$(grep -c "^error (rank 1 of 2, host $(hostname)): .*nonexistent" "$work/$name.log")
  [[ $n -eq 1 ]] || { echo "FAIL: $name: rank 1's error was printed $n times"; cat "$work/$name.log"; fail=1; }
  grep -q "the job is ending: rank 1 of 2, host $(hostname) failed" "$work/$name.log" ||
    { echo "FAIL: $name: rank 0 did not say which rank ended the job"; cat "$work/$name.log"; fail=1; }
}
variant weights "model.clip_weights=/nonexistent/node-local/w.safetensors"
variant data "data.manifests=[\"/nonexistent/node-local/packed\"]"
# hesp-pack convert under mpirun: rank 1's source tree is missing while rank 0 packs.
start=$(date +%s)
convert=(convert --format afew --output "$work/packed2" --frames-per-clip 2 --size 64 --threads 1)
"${mpi[@]}" -np 1 "$pack" "${convert[@]}" --root "$work/synth" \
  : -np 1 "$pack" "${convert[@]}" --root /nonexistent/node-local/synth > "$work/pack.log" 2>&1
rc=$?; took=$(( $(date +%s) - start ))
echo "2 ranks, hesp-pack convert: exit $rc after ${took}s"
[[ $rc -ne 0 && $rc -ne 124 && $took -lt 120 ]] || { echo "FAIL: convert: exit $rc after ${took}s"; fail=1; }
n=$(grep -c "^hesp-pack (rank 1 of 2, host $(hostname)): .*nonexistent" "$work/pack.log")
[[ $n -eq 1 ]] || { echo "FAIL: convert: rank 1's error was printed $n times"; cat "$work/pack.log"; fail=1; }
exit $fail
