#!/usr/bin/env bash
# Builds and runs every benchmark; results land in bench-results/*.json (one per bench).
#   launch/bench.sh [name ...]     e.g. launch/bench.sh machine clip
#   launch/bench.sh loader         the loader: clips/s against the JPEG decode ceiling, frames
#                                  per CPU-second from jpeg and raw shards at 224 px, and the
#                                  cores per GPU an H200 needs (docs/performance.md)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
"$here/setup.sh"
export HESP_BENCH_DIR="${HESP_BENCH_DIR:-$root/bench-results}"
mkdir -p "$HESP_BENCH_DIR"
cd "$root"
names=("$@")
if (( ${#names[@]} == 0 )); then
  # Every benchmark binary, then the script-only ones (launch/bench/<name>.sh without a
  # bench_<name> binary: sweep, scaling).
  for b in build/bin/bench_*; do names+=("$(basename "$b" | sed 's/^bench_//')"); done
  for s in "$here"/bench/*.sh; do
    n="$(basename "$s" .sh)"
    [[ -x "build/bin/bench_$n" ]] || names+=("$n")
  done
fi
for n in "${names[@]}"; do
  echo "=== bench $n ==="
  if [[ -x "$here/bench/$n.sh" ]]; then
    "$here/bench/$n.sh"          # benchmarks that need mpirun have a wrapper script
  else
    "build/bin/bench_$n"
  fi
done
echo "results in $HESP_BENCH_DIR"
