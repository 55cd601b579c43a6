#!/usr/bin/env bash
# The all-reduce benchmark needs two MPI ranks.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 mpirun --allow-run-as-root --oversubscribe \
  --bind-to none -np 2 "$root/build/bin/bench_comm"
