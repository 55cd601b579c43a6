# Sourced by the scripts that start mpirun (launch/*.sh, launch/bench/*.sh,
# cluster/slurm/lib.sh).
#
# hesp_mpirun_root_flags: prints the mpirun flags that running as root needs, and nothing
# for other users. Open MPI's mpirun refuses to start as root ("mpirun has detected an
# attempt to run as root") unless given --allow-run-as-root; as root this prints that flag
# and says so on stderr in one line, unless HESP_MPIRUN_FLAGS or the Open MPI variables
# (OMPI_ALLOW_RUN_AS_ROOT=1 with OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1) already allow it.
# Use: cmd+=($(hesp_mpirun_root_flags))
hesp_mpirun_root_flags() {
  [[ "$(id -u)" -eq 0 ]] || return 0
  [[ " ${HESP_MPIRUN_FLAGS:-} " == *" --allow-run-as-root "* ]] && return 0
  [[ "${OMPI_ALLOW_RUN_AS_ROOT:-}" == 1 && "${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-}" == 1 ]] && return 0
  echo "$(basename "$0"): running as root: adding --allow-run-as-root to mpirun" >&2
  echo --allow-run-as-root
}
