#!/usr/bin/env bash
# Bucketed gradient averaging and its overlap with backward need two MPI ranks.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../mpirun_root.sh
source "$root/launch/mpirun_root.sh"
root_flags=$(hesp_mpirun_root_flags)
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 mpirun $root_flags --oversubscribe \
  --bind-to none -np 2 "$root/build/bin/bench_allreduce_bucket"
