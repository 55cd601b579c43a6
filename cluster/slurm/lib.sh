# Shared by the sbatch scripts (sourced; sbatch copies a script away from the repo, so they
# find this file through HESP_ROOT, default: the submit folder).
#
# hesp_launch CMD...: runs CMD (the hesp command line) on every task of the allocation
# through $HESP_LAUNCHER (mpirun, default, or srun) as one job step, and returns the exit
# code the job should end with. Signals and exit codes (tests/sweep/slurm_requeue_test.sh):
#  - SIGUSR1 or SIGTERM to the batch shell (--signal=B:USR1@120, `scancel --signal=USR1
#    --batch`, the time limit) is forwarded to the step as SIGUSR1: the ranks checkpoint
#    and exit 75. The shell itself never dies of these signals (traps are set on sourcing).
#  - The step's OWN exit status is acted on, never the 128 + signal (138 for USR1) that a
#    trapped signal makes bash's `wait` return; the step's status is kept by a recorder
#    process that no signal interrupts (see below), also when the step exits at the very
#    moment the signal arrives.
#  - 75 under SLURM: `scontrol requeue` of this job (or array task), then 0, so the job is
#    not marked failed; when the requeue itself fails, 75 (the job fails, the log says why).
#  - A signal that arrives before the step has started: the step is not started, and the
#    job requeues as after a 75 (the run resumes from its last checkpoint).
#  - Anything else: the step's status (0 finished, 1 runtime error, 2 config error, 128 + n
#    when the launcher died of signal n).
# As root, mpirun gets --allow-run-as-root (launch/mpirun_root.sh; one log line).

# shellcheck source=../../launch/mpirun_root.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../launch/mpirun_root.sh"

_hesp_step_pid=""  # pid of the running step ("" when none runs)
_hesp_signals=0    # how many USR1/TERM the batch shell has received
_hesp_on_signal() {
  _hesp_signals=$((_hesp_signals + 1))
  if [[ -n "$_hesp_step_pid" ]]; then
    echo "[$(date +%T)] signal $1: forwarding USR1 to the step"
    kill -USR1 "$_hesp_step_pid" 2> /dev/null
  else
    echo "[$(date +%T)] signal $1: no step running"
  fi
}
trap '_hesp_on_signal USR1' USR1
trap '_hesp_on_signal TERM' TERM

# The job (array task) id that `scontrol requeue` takes.
_hesp_job_id() {
  if [[ -n "${SLURM_ARRAY_JOB_ID:-}" ]]; then
    echo "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
  else
    echo "$SLURM_JOB_ID"
  fi
}

hesp_launch() {
  local ntasks="${SLURM_NTASKS:-1}"
  local cpt="${SLURM_CPUS_PER_TASK:-1}"
  export OMP_NUM_THREADS="$cpt" OPENBLAS_NUM_THREADS="$cpt"
  local -a step
  if [[ "${HESP_LAUNCHER:-mpirun}" == srun ]]; then
    step=(srun --kill-on-bad-exit=1 --cpus-per-task="$cpt" "$@")
  else
    # HESP_MPIRUN_FLAGS: site flags, e.g. "--oversubscribe" on a one-node test cluster.
    # NCCL_* and the thread counts go to every rank.
    local -a xs=(-x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS)
    local v
    for v in $(compgen -e | grep -E '^(NCCL_|HESP_)' || true); do xs+=(-x "$v"); done
    local root_flag
    root_flag="$(hesp_mpirun_root_flags)"  # as root: --allow-run-as-root, and a line on stderr
    # shellcheck disable=SC2206
    step=(mpirun -np "$ntasks" --bind-to none $root_flag ${HESP_MPIRUN_FLAGS:-} "${xs[@]}" "$@")
  fi
  echo "[$(date +%T)] job ${SLURM_JOB_ID:-?} (restart ${SLURM_RESTART_COUNT:-0}): ${step[*]}"
  local rc
  if ((_hesp_signals > 0)); then
    echo "[$(date +%T)] preempted before the step started: not starting it"
    rc=75
  else
    # --- run the step; a recorder process keeps its exit status ---
    # bash's `wait`, cut short by a trapped signal at the moment the step exits, can lose
    # the step's status (bash 5.2 then returns -1 for it). So the step is the child of a
    # recorder subshell that ignores USR1/TERM (its `wait` is never cut short) and writes
    # the status to a file; the step itself gets the default dispositions back.
    local tmp
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/hesp-step.XXXXXX")"
    (
      trap '' USR1 TERM
      (
        trap - USR1 TERM
        exec "${step[@]}"
      ) &
      echo $! > "$tmp/pid"
      wait $!
      echo $? > "$tmp/status"
    ) &
    local recorder=$!
    while [[ ! -s "$tmp/pid" ]] && kill -0 "$recorder" 2> /dev/null; do sleep 0.05; done
    _hesp_step_pid="$(cat "$tmp/pid" 2> /dev/null)"
    # A signal before the step's pid was known found no step to forward to.
    if ((_hesp_signals > 0)) && [[ -n "$_hesp_step_pid" ]]; then
      kill -USR1 "$_hesp_step_pid" 2> /dev/null
    fi
    # --- wait for the recorder; a trapped signal ends `wait` early, so wait again ---
    # (after a `wait` cut short, or one that lost track of the recorder, pause briefly
    # rather than spin)
    while [[ ! -s "$tmp/status" ]] && kill -0 "$recorder" 2> /dev/null; do
      wait "$recorder" || sleep 0.1
    done
    _hesp_step_pid=""
    if [[ -s "$tmp/status" ]]; then
      rc="$(cat "$tmp/status")"
    else
      echo "[$(date +%T)] the step's exit status was not recorded (its recorder was killed)"
      rc=1
    fi
    rm -rf "$tmp"
    echo "[$(date +%T)] step exited with $rc"
  fi
  # --- act on it ---
  if [[ $rc -eq 75 && -n "${SLURM_JOB_ID:-}" ]]; then
    local id
    id="$(_hesp_job_id)"
    echo "[$(date +%T)] preempted after a checkpoint: scontrol requeue $id"
    if scontrol requeue "$id"; then
      return 0
    fi
    echo "[$(date +%T)] scontrol requeue $id failed: the job ends with 75 (rerun it to resume)"
  fi
  return "$rc"
}
