#!/usr/bin/env bash
# Preconditions in a sweep (issue 13 §1): a setting whose test split has no clip of the
# unknown classes fails its preconditions. --dry-run and --list exit 2 naming the run,
# split and classes; the sweep marks that run failed at once (no checkpoint, its reason in
# the summary), trains the other setting and exits 1.
#   sweep_preconditions_test.sh HESP HESP_PACK SOURCE_DIR
set -uo pipefail
hesp="$1"; pack="$2"; src="$3"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1
"$pack" synth --layout afew --out "$work/src" --clips-per-class 2 --frames 4 --size 64 --seed 5 > /dev/null &&
"$pack" convert --format afew --root "$work/src" --output "$work/good" --frames-per-clip 2 \
  --size 64 --threads 1 > /dev/null 2>&1 &&
rm -rf "$work/src/Val_AFEW/Sad" "$work/src/Val_AFEW/Surprise" &&
"$pack" convert --format afew --root "$work/src" --output "$work/nounk" --frames-per-clip 2 \
  --size 64 --threads 1 > /dev/null 2>&1 || { echo "FAIL: data"; exit 1; }
setting() {
  echo "settings { name: \"afew\" label: \"$1\" manifests: \"$work/$2\" train_split: \"Train_AFEW\"
    test_split: \"Val_AFEW\" openness: \"5:2\"
    known_classes: [\"Angry\", \"Disgust\", \"Fear\", \"Happy\", \"Neutral\"]
    unknown_classes: [\"Sad\", \"Surprise\"] }"
}
cat > "$work/sweep.pbtxt" <<CFG
name: "pre"
base_file: "$src/configs/demo/clip_zeroshot.pbtxt"
base_set: "model.clip_weights=$src/tests/data/fixtures/clip/tiny_clip_a.safetensors"
base_set: "data.frames_per_clip=2"
num_splits: 1
methods: [clip_zeroshot]
$(setting bad nounk)
$(setting fine good)
CFG
fail=0
"$hesp" sweep --config "$work/sweep.pbtxt" --dry-run > "$work/dry.out" 2> "$work/dry.err"; rc=$?
[[ $rc -eq 2 ]] || { echo "FAIL: --dry-run exit $rc, 2 expected"; fail=1; }
grep -q 'bad/clip_zeroshot/5-2/split0.*\[fails preconditions\]' "$work/dry.out" ||
  { echo "FAIL: --dry-run does not mark the run:"; cat "$work/dry.out"; fail=1; }
grep -q 'fine/clip_zeroshot/5-2/split0' "$work/dry.out" && ! grep -q 'fine.*fails' "$work/dry.out" ||
  { echo "FAIL: --dry-run lost or marked the fine run"; fail=1; }
want='run 0 bad/clip_zeroshot/5-2/split0: precondition failed before any training, setting afew: test split "Val_AFEW" has no clip of any unknown class (Sad 0, Surprise 0'
grep -qF "$want" "$work/dry.err" || { echo "FAIL: --dry-run message:"; cat "$work/dry.err"; fail=1; }
grep -q 'fine/' "$work/dry.err" && { echo "FAIL: the fine run is named as failing"; fail=1; }

"$hesp" sweep --config "$work/sweep.pbtxt" --list > "$work/list.out" 2> "$work/list.err"; rc=$?
[[ $rc -eq 2 ]] || { echo "FAIL: --list exit $rc, 2 expected"; fail=1; }
[[ $(wc -l < "$work/list.out") -eq 2 ]] || { echo "FAIL: --list did not list both runs"; fail=1; }
grep -qF "$want" "$work/list.err" || { echo "FAIL: --list message:"; cat "$work/list.err"; fail=1; }
"$hesp" sweep --config "$work/sweep.pbtxt" --list --skip-data-check > /dev/null 2>&1 ||
  { echo "FAIL: --skip-data-check still checked the data"; fail=1; }

"$hesp" sweep --config "$work/sweep.pbtxt" --out "$work/out" > "$work/run.log" 2>&1; rc=$?
[[ $rc -eq 1 ]] || { echo "FAIL: the sweep exited $rc, 1 expected"; tail -5 "$work/run.log"; fail=1; }
summary="$work/out/sweep_summary.json"
[[ "$(jq -r '.counts.failed' "$summary")" == 1 && "$(jq -r '.counts.finished' "$summary")" == 1 ]] ||
  { echo "FAIL: summary counts $(jq -c .counts "$summary" 2>&1)"; fail=1; }
err=$(jq -r '.runs[] | select(.dir == "bad/clip_zeroshot/5-2/split0") | .error' "$summary")
[[ "$err" == *'test split "Val_AFEW" has no clip of any unknown class'* ]] ||
  { echo "FAIL: the failed run's reason: $err"; fail=1; }
bad="$work/out/bad/clip_zeroshot/5-2/split0"
[[ ! -e "$bad/checkpoints" && ! -e "$bad/result.json" && ! -e "$bad/config.pbtxt" ]] ||
  { echo "FAIL: the failing run was started: $(ls "$bad")"; fail=1; }
[[ -f "$work/out/fine/clip_zeroshot/5-2/split0/result.json" ]] || { echo "FAIL: the fine run did not finish"; fail=1; }
# One run at a time (job arrays): the failing one exits 2 and is recorded as failed.
"$hesp" sweep --config "$work/sweep.pbtxt" --out "$work/out1" --run-index 0 > "$work/one.log" 2>&1; rc=$?
[[ $rc -eq 2 ]] || { echo "FAIL: --run-index on the failing run exited $rc, 2 expected"; fail=1; }
[[ "$(jq -r .status "$work/out1/bad/clip_zeroshot/5-2/split0/sweep_status.json")" == failed ]] ||
  { echo "FAIL: --run-index did not record the failure"; fail=1; }
[[ $fail -eq 0 ]] && echo "PASS: sweep preconditions"
exit $fail
