#!/usr/bin/env bash
# hesp-pack convert under a stop signal (a SLURM job's end): SIGUSR1/SIGTERM stop the
# packing after the clip in hand, keep the complete shards, write no manifest and exit 75
# (before: killed by the signal, 138); the same command again reuses the kept shards and
# packs exactly the dataset of an uninterrupted conversion. The conversion is held after
# its first shard by a failpoint (HESP_FAILPOINTS=pack.shard_written=pause(...)) until the
# signal, so no clock decides. On 1 process (SIGTERM) and under mpirun -np 2 (SIGUSR1 to
# mpirun, which forwards it).
#   convert_stop_test.sh HESP_PACK MPIRUN
set -uo pipefail
pack="$1"; mpirun="${2:-}"
work=$(mktemp -d)
launcher=""
cleanup() {
  [[ -n "$launcher" ]] && kill -9 "$launcher" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT
unset HESP_FAILPOINTS
"$pack" synth --layout reference-list --out "$work/src" --clips-per-class 3 --frames 10 --size 64 > /dev/null ||
  { echo "FAIL: synth"; exit 1; }
# 96*96*3*8 bytes per clip: 4 clips per 1 MiB shard, several shards per rank.
args=(convert --format reference-list --root "$work/src" --list "train=$work/src/train.txt"
      --list "val=$work/src/val.txt" --size 96 --frames-per-clip 8 --encoding raw --shard-size-mb 1
      --threads 1)
"$pack" "${args[@]}" --output "$work/clean" > "$work/clean.log" 2>&1 ||
  { echo "FAIL: the uninterrupted conversion"; cat "$work/clean.log"; exit 1; }
# The dataset's totals (the shard layout of a resumed conversion may differ).
clips() { grep -E '^num_(clips|input_clips|rejected):' "$1/manifest.pbtxt" 2> /dev/null | tr '\n' ' '; }
fail=0

# trial NP SIGNAL
trial() {
  local np=$1 sig=$2 out="$work/np$1" log="$work/np$1.log"
  local -a cmd=("$pack")
  if [[ $np -gt 1 ]]; then
    cmd=("$mpirun" --allow-run-as-root --oversubscribe --bind-to none -np "$np" -x HESP_FAILPOINTS "$pack")
  fi
  HESP_FAILPOINTS="pack.shard_written=pause($work/never)" "${cmd[@]}" "${args[@]}" --output "$out" > "$log" 2>&1 &
  launcher=$!
  # Every rank holds after its first shard (so every rank has its handler installed).
  for _ in $(seq 1 3000); do
    [[ $(grep -c "failpoint pack.shard_written: paused" "$log") -ge $np ]] && break
    kill -0 "$launcher" 2> /dev/null || break
    sleep 0.1
  done
  if [[ $(grep -c "failpoint pack.shard_written: paused" "$log") -lt $np ]]; then
    echo "FAIL: $np rank(s): the conversion never held after a shard"; cat "$log"; fail=1
    kill -9 "$launcher" 2> /dev/null; wait "$launcher"; launcher=""; return
  fi
  kill -"$sig" "$launcher"
  wait "$launcher"; local rc=$?
  launcher=""
  echo "$np rank(s), SIG$sig while packing: exit $rc"
  [[ $rc -eq 75 ]] || { echo "FAIL: $np rank(s): exit $rc, 75 expected"; cat "$log"; fail=1; }
  [[ ! -e "$out/manifest.pbtxt" ]] || { echo "FAIL: $np rank(s): a manifest for a half-packed dataset"; fail=1; }
  grep -q "rerun the same command to continue" "$log" || { echo "FAIL: $np rank(s): no word on how to continue"; fail=1; }
  local kept; kept=$(find "$out" -name '*.clips.json' | wc -l)
  [[ $kept -ge 1 ]] || { echo "FAIL: $np rank(s): no complete shard kept"; fail=1; }
  "${cmd[@]}" "${args[@]}" --output "$out" > "$work/np$np.rerun.log" 2>&1; rc=$?
  [[ $rc -eq 0 ]] || { echo "FAIL: $np rank(s): the rerun exited $rc"; cat "$work/np$np.rerun.log"; fail=1; }
  grep -Eq "\(([1-9][0-9]*) reused\)" "$work/np$np.rerun.log" ||
    { echo "FAIL: $np rank(s): the rerun reused no shard"; cat "$work/np$np.rerun.log"; fail=1; }
  [[ "$(clips "$out")" == "$(clips "$work/clean")" ]] ||
    { echo "FAIL: $np rank(s): '$(clips "$out")' after the rerun, '$(clips "$work/clean")' expected"; fail=1; }
  "$pack" verify "$out" > /dev/null 2>&1 || { echo "FAIL: $np rank(s): verify of the resumed dataset"; fail=1; }
}

trial 1 TERM
if [[ -n "$mpirun" ]] && command -v "$mpirun" > /dev/null; then
  trial 2 USR1
else
  echo "note: no mpirun, 1 process only"
fi
exit $fail
