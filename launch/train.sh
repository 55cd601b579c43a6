#!/usr/bin/env bash
# `hesp train` under mpirun with sensible threading and binding.
#   launch/train.sh [--np N] [--hosts H1,H2] -- --config C --run-dir D [--set k=v ...]
# Threads: OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = cores / ranks on this node (at least
# 1), so ranks do not oversubscribe the cores. Binding: with at least 2 cores per rank,
# each rank is bound to its cores (--map-by socket:PE=N); otherwise --bind-to none (a
# bound rank on a 2-core machine would share its one core with its loader threads).
# NCCL_* and HESP_* variables of the caller are passed to every rank (-x).
# Run as root, mpirun gets --allow-run-as-root (one line says so); HESP_MPIRUN_FLAGS adds
# flags (e.g. "--oversubscribe" for more ranks than cores).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
np=2; hosts=""; sub="${HESP_SUBCOMMAND:-train}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --np) np="$2"; shift 2 ;;
    --hosts) hosts="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
per_node=$np
if [[ -n "$hosts" ]]; then
  nhosts=$(tr ',' '\n' <<< "$hosts" | wc -l)
  per_node=$(( (np + nhosts - 1) / nhosts ))
fi
threads=$(( cores / per_node )); (( threads >= 1 )) || threads=1
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
# shellcheck source=mpirun_root.sh
source "$root/launch/mpirun_root.sh"
# shellcheck disable=SC2207
cmd=(mpirun -np "$np" $(hesp_mpirun_root_flags))
[[ -n "$hosts" ]] && cmd+=(--host "$hosts")
if (( threads >= 2 )); then
  cmd+=(--map-by "socket:PE=$threads" --bind-to core)
else
  cmd+=(--bind-to none)
fi
cmd+=(-x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS)
for v in $(compgen -e | grep -E '^(NCCL_|HESP_)' || true); do cmd+=(-x "$v"); done
# shellcheck disable=SC2206
cmd+=(${HESP_MPIRUN_FLAGS:-})
hesp="${HESP_BIN:-$root/build/bin/hesp}"
echo "launch: ${cmd[*]} $hesp $sub $* (threads per rank: $threads)" >&2
exec "${cmd[@]}" "$hesp" "$sub" "$@"
