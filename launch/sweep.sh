#!/usr/bin/env bash
# `hesp sweep` under mpirun, threads and binding as launch/train.sh.
#   launch/sweep.sh [--np N] [--hosts H1,H2] -- --config S --out D [--group-size G]
#   launch/sweep.sh --demo [--np N] [--out D]
# --demo synthesises the demo data (tests/sweep/make_demo_data.sh) into D/data and runs
# configs/sweeps/demo.pbtxt (2 settings x 2 openness x 2 splits) with one rank per run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [[ "${1:-}" == --demo ]]; then
  shift; np=2; out="$root/demo-sweep"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --np) np="$2"; shift 2 ;;
      --out) out="$2"; shift 2 ;;
      *) echo "sweep.sh: unknown option $1" >&2; exit 2 ;;
    esac
  done
  [[ -d "$out/data/afew" ]] || bash "$root/tests/sweep/make_demo_data.sh" \
    "${HESP_PACK_BIN:-$root/build/bin/hesp-pack}" "$out/data"
  export HESP_SWEEP_DATA="$out/data"
  HESP_SUBCOMMAND=sweep exec "$here/train.sh" --np "$np" -- \
    --config "$root/configs/sweeps/demo.pbtxt" --out "$out/results" --group-size 1
fi
HESP_SUBCOMMAND=sweep exec "$here/train.sh" "$@"
