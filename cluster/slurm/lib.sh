# Shared by the sbatch scripts (sourced; sbatch copies a script away from the repo, so they
# find this file through HESP_ROOT, default: the submit folder).
#
# hesp_launch CMD...: runs CMD (the hesp command line) on every task of the allocation
# through $HESP_LAUNCHER (mpirun, default, or srun), forwards SIGUSR1/SIGTERM that SLURM
# sends to the batch shell (--signal=B:USR1@120) to the step so the ranks checkpoint, and
# requeues the job when hesp exits 75 (preempted). Returns hesp's exit code (0 after a
# requeue, so the job is not marked failed).

hesp_launch() {
  local ntasks="${SLURM_NTASKS:-1}"
  local cpt="${SLURM_CPUS_PER_TASK:-1}"
  export OMP_NUM_THREADS="$cpt" OPENBLAS_NUM_THREADS="$cpt"
  local -a step
  if [[ "${HESP_LAUNCHER:-mpirun}" == srun ]]; then
    step=(srun --kill-on-bad-exit=1 --cpus-per-task="$cpt" "$@")
  else
    # HESP_MPIRUN_FLAGS: site flags, e.g. "--allow-run-as-root --oversubscribe" on a
    # one-node test cluster run as root. NCCL_* and the thread counts go to every rank.
    local -a xs=(-x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS)
    local v
    for v in $(compgen -e | grep -E '^(NCCL_|HESP_)' || true); do xs+=(-x "$v"); done
    # shellcheck disable=SC2206
    step=(mpirun -np "$ntasks" --bind-to none ${HESP_MPIRUN_FLAGS:-} "${xs[@]}" "$@")
  fi
  echo "[$(date +%T)] job ${SLURM_JOB_ID:-?} (restart ${SLURM_RESTART_COUNT:-0}): ${step[*]}"
  "${step[@]}" &
  local child=$!
  # The trap runs while `wait` is interrupted; wait again until the step really ended.
  trap 'echo "[$(date +%T)] signal: forwarding USR1 to the step"; kill -USR1 '"$child"' 2> /dev/null' USR1 TERM
  local rc
  while :; do
    wait "$child"; rc=$?
    kill -0 "$child" 2> /dev/null || break
  done
  trap - USR1 TERM
  echo "[$(date +%T)] step exited with $rc"
  if [[ $rc -eq 75 && -n "${SLURM_JOB_ID:-}" ]]; then
    local id="$SLURM_JOB_ID"
    [[ -n "${SLURM_ARRAY_JOB_ID:-}" ]] && id="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
    echo "[$(date +%T)] preempted after a checkpoint: scontrol requeue $id"
    scontrol requeue "$id" && return 0
  fi
  return "$rc"
}
