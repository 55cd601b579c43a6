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
  # Columns 4..8 must be numbers in [0, 100].
  for v in $(echo "$row" | awk -F'|' '{print $4, $5, $6, $7, $8}'); do
    awk -v x="$v" 'BEGIN { exit !(x ~ /^[0-9.]+$/ && x >= 0 && x <= 100) }' || { echo "FAIL: $method has a non-finite metric '$v'"; fail=1; }
  done
done
exit $fail
