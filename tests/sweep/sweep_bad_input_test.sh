#!/usr/bin/env bash
# Bad sweep input fails before any run starts, with a message naming the fault:
# an unknown setting, an openness the classes cannot give, a splits file naming a class
# that is not in the data, an output folder held by a live sweep. A stale lock (dead pid)
# is taken over.
set -uo pipefail
hesp="$1"; pack="$2"; src="$3"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
bash "$src/tests/sweep/make_demo_data.sh" "$pack" "$work/data" || { echo "FAIL: data"; exit 1; }
export HESP_SWEEP_DATA="$work/data" OMP_NUM_THREADS=1
fail=0
# write_config NAME SETTING_BLOCK [EXTRA]
write_config() {
  cat > "$work/$1.pbtxt" <<CFG
name: "$1"
base_file: "$src/configs/demo/clip_zeroshot.pbtxt"
base_set: "model.clip_weights=$src/tests/data/fixtures/clip/tiny_clip_a.safetensors"
base_set: "data.frames_per_clip=2"
num_splits: 1
methods: [clip_zeroshot]
$2
${3:-}
CFG
}
afew() { echo "settings { name: \"$1\" manifests: \"\${HESP_SWEEP_DATA}/afew\" train_split: \"Train_AFEW\" test_split: \"Val_AFEW\" openness: \"$2\" }"; }
# expect_failure NAME PATTERN: the sweep exits non-zero, says PATTERN, and made no run folder.
expect_failure() {
  local out="$work/out-$1"
  "$hesp" sweep --config "$work/$1.pbtxt" --out "$out" > "$work/$1.log" 2>&1; local rc=$?
  if [[ $rc -eq 0 ]]; then echo "FAIL: $1: exit 0"; fail=1; return; fi
  if ! grep -qi -- "$2" "$work/$1.log"; then
    echo "FAIL: $1: message lacks '$2':"; cat "$work/$1.log"; fail=1; return
  fi
  if [[ -d "$out/afew" ]]; then echo "FAIL: $1: a run folder was made"; fail=1; fi
  echo "ok: $1 (exit $rc): $(grep -i -m1 -- "$2" "$work/$1.log")"
}

write_config unknown_setting "$(afew afew_typo 5:2)"
sed -i 's/name: "afew_typo"/name: "afw"/' "$work/unknown_setting.pbtxt"
expect_failure unknown_setting 'unknown setting "afw"'

write_config bad_openness "$(afew afew 6:2)"
expect_failure bad_openness "openness 6:2"

write_config bad_format "$(afew afew 5-2)"
expect_failure bad_format "not of the form K:U"

# A splits file whose AFEW label order names a class the data does not have.
jq '.label_order.AFEW[0] = "Bored"' "$src/configs/splits/hesp_reference_splits.json" > "$work/splits.json"
write_config bad_splits_file "$(afew afew 5:2)" "splits { splits_file: \"$work/splits.json\" }"
expect_failure bad_splits_file "Bored"

# A live process holds the output folder (flock and record, as util/dir_lock.h writes
# them), then a dead one (its record stays, its flock went with it: stale).
write_config good "$(afew afew 5:2)"
mkdir -p "$work/out-locked"
lockf="$work/out-locked/sweep.lock"
( exec 8<> "$lockf"; flock -x 8
  echo "pid=$BASHPID host=$(hostname) start=2026-01-01T00:00:00Z renewed=$(date +%s)" >&8
  exec sleep 300 ) &
holder=$!
for _ in $(seq 1 100); do grep -q "pid=$holder " "$lockf" 2> /dev/null && break; sleep 0.05; done
"$hesp" sweep --config "$work/good.pbtxt" --out "$work/out-locked" > "$work/locked.log" 2>&1; rc=$?
if [[ $rc -ne 73 ]] || ! grep -q "in use by pid $holder on host $(hostname) since" "$work/locked.log"; then
  echo "FAIL: a live lock was not refused with exit 73 naming its holder (exit $rc)"; cat "$work/locked.log"; fail=1
fi
[[ -d "$work/out-locked/afew" ]] && { echo "FAIL: a run started despite the live lock"; fail=1; }
kill -9 $holder; wait $holder 2> /dev/null
grep -q "pid=$holder " "$lockf" || { echo "FAIL: the dead holder's record is gone"; fail=1; }
"$hesp" sweep --config "$work/good.pbtxt" --out "$work/out-locked" > "$work/stale.log" 2>&1; rc=$?
[[ $rc -eq 0 ]] || { echo "FAIL: a stale lock was not taken over (exit $rc)"; tail -20 "$work/stale.log"; fail=1; }
[[ -f "$work/out-locked/afew/clip_zeroshot/5-2/split0/result.json" ]] || { echo "FAIL: no result after the takeover"; fail=1; }
[[ ! -e "$work/out-locked/sweep.lock" ]] || { echo "FAIL: the lock stayed after the sweep"; fail=1; }

# A run that fails while training (weights that are not a CLIP) is recorded with its error
# in the summary; the sweep goes on with the next run and exits 1.
echo "not weights" > "$work/bad_weights.bin"
write_config one_fails "$(afew afew 5:2)" "variants { name: \"broken\" set: \"model.clip_weights=$work/bad_weights.bin\" }
variants { name: \"fine\" }"
"$hesp" sweep --config "$work/one_fails.pbtxt" --out "$work/out-fails" > "$work/fails.log" 2>&1; rc=$?
[[ $rc -eq 1 ]] || { echo "FAIL: a sweep with a failed run exited $rc, 1 expected"; fail=1; }
summary="$work/out-fails/sweep_summary.json"
[[ "$(jq -r '.counts.failed' "$summary")" == 1 && "$(jq -r '.counts.finished' "$summary")" == 1 ]] ||
  { echo "FAIL: summary counts $(jq -c .counts "$summary")"; fail=1; }
err=$(jq -r '.runs[] | select(.status == "failed") | .error' "$summary")
[[ "$err" == *bad_weights.bin* ]] || { echo "FAIL: the failed run's error does not name the file: $err"; fail=1; }
echo "ok: failed run recorded: $err"
exit $fail
