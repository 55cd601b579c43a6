#!/usr/bin/env bash
# launch/demo.sh runs and its table has finite metrics for both methods.
set -uo pipefail
src="$1"
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
HESP_DEMO_SKIP_SETUP=1 "$src/launch/demo.sh" --out "$out" > "$out/demo.log" 2>&1; rc=$?
cat "$out/demo.log" | tail -20
[[ $rc -eq 0 ]] || { echo "FAIL: demo exited $rc"; exit 1; }
fail=0
for method in clip_zeroshot hesp; do
  row=$(grep -E "^\| $method " "$out/demo.log") || { echo "FAIL: no table row for $method"; fail=1; continue; }
  # Column 4 is the reported epoch and how it was chosen ("6 (last)"); 5..9 must be
  # numbers in [0, 100].
  echo "$row" | awk -F'|' '{print $4}' | grep -Eq '^ *[0-9]+ \((last|val)\) *$' ||
    { echo "FAIL: $method: no reported epoch in '$row'"; fail=1; }
  for v in $(echo "$row" | awk -F'|' '{print $5, $6, $7, $8, $9}'); do
    awk -v x="$v" 'BEGIN { exit !(x ~ /^[0-9.]+$/ && x >= 0 && x <= 100) }' || { echo "FAIL: $method has a non-finite metric '$v'"; fail=1; }
  done
done
exit $fail
