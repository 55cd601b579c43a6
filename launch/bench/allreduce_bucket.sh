#!/usr/bin/env bash
# Bucketed gradient averaging and its overlap with backward need two MPI ranks.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 mpirun --allow-run-as-root --oversubscribe \
  --bind-to none -np 2 "$root/build/bin/bench_allreduce_bucket"
