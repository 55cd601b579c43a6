#!/usr/bin/env bash
# The stall inspector ends a stalled job instead of letting it hang (see
# stall_abort_check.cc): a rank that never arrives, and two ranks in different
# collectives. Each job must end non-zero well within 30 s, with rank 0 naming the cause.
set -uo pipefail
check="$1"; mpirun="${2:-}"
if [[ -z "$mpirun" ]] || ! command -v "$mpirun" > /dev/null; then
  echo "mpirun not found: skipping"; exit 77
fi
fail=0
run() {  # mode, then the lines (extended regexps) rank 0 must have logged
  local mode=$1 log start rc took pattern
  shift
  log=$(mktemp)
  start=$(date +%s)
  timeout 60 "$mpirun" --allow-run-as-root --oversubscribe --bind-to none -np 2 \
    "$check" "$mode" > "$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  echo "$mode: exit $rc after $took s"
  if [[ $rc -eq 0 ]] || grep -q "not aborted" "$log"; then
    echo "FAIL: $mode: the stalled job was not aborted"; fail=1
  fi
  if [[ $rc -eq 124 || $took -ge 30 ]]; then echo "FAIL: $mode: took $took s"; fail=1; fi
  for pattern in "$@"; do
    if ! grep -Eq "$pattern" "$log"; then
      echo "FAIL: $mode: no line matching '$pattern' in the output:"; tail -20 "$log"; fail=1
    fi
  done
  rm -f "$log"
}
run late "ranks that have not reached it: 1" \
  "aborting the job: collective #[0-9]+ \(all_reduce\) stalled for more than 2 s"
run mismatch "collective mismatch: rank 0 is in #([0-9]+) barrier but rank 1 is in #\1 broadcast"
exit $fail
