#!/usr/bin/env bash
# Sets up, builds and runs every test (the MPI and SLURM ones included) with ctest.
#   launch/test.sh [ctest arguments, e.g. -R clip -L mpi]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
"$here/setup.sh"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
cd "$root/build"
# Two cores: run tests one at a time, so the MPI tests get their own cores.
ctest --output-on-failure --timeout 1200 "$@"
