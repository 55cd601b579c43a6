#!/usr/bin/env bash
# The signal and exit-code paths of cluster/slurm/lib.sh (hesp_launch) on a real one-node
# SLURM (cluster/local/start.sh), with a stand-in for hesp that exits 75 the moment
# SIGUSR1 or SIGTERM reaches it (a rank whose checkpoint is already written):
#  - USR1 to the batch shell only (`scancel --signal=USR1 --batch`, what --signal=B:USR1
#    does), forwarded to the step;
#  - USR1 to the batch shell and the step at once (`scancel --signal=USR1 --full`);
#  - the race of case 13, made certain: the batch shell is stopped, the step gets USR1 and
#    exits, then the shell gets USR1 and is continued, so it finds a signal and a finished
#    step at the same time (the old wrapper took bash's 138 for the step's status);
# under mpirun and srun. Every trial must requeue the job (Restarts=1, PENDING) and log the
# step's 75. A step that ends with 0 or 2 must end the job COMPLETED / FAILED 2:0 without
# a requeue. Skips (77) only when the SLURM, munge or MPI binaries are absent.
set -uo pipefail
src="$1"; mpirun="${2:-}"
for b in sbatch squeue scontrol scancel slurmctld slurmd munged; do
  command -v "$b" > /dev/null || { echo "$b not found: skipping"; exit 77; }
done
[[ -n "$mpirun" ]] && command -v "$mpirun" > /dev/null || { echo "mpirun not found: skipping"; exit 77; }
work=$(mktemp -d)
cluster=""
cleanup() {
  [[ -n "$cluster" ]] && bash "$src/cluster/local/stop.sh" "$cluster"
  rm -rf "$work"
}
trap cleanup EXIT
trap "exit 1" INT TERM
cluster=$(bash "$src/cluster/local/start.sh" "$work/slurm" | tail -1) || { echo "FAIL: SLURM did not start"; cat "$work"/slurm/log/*.log; exit 1; }
# shellcheck disable=SC1091
source "$cluster/env.sh"
export SBATCH_TIMELIMIT=5 HESP_ROOT="$src" HESP_BIN="$work/step.sh"
# No HESP_MPIRUN_FLAGS: as root, lib.sh must add --allow-run-as-root itself.
unset HESP_MPIRUN_FLAGS

# The stand-in step (each rank): records mpirun's (or srun's) pid, exits HESP_TRIAL_RC at
# once when set, else 75 as soon as USR1/TERM arrives (`wait` returns at the signal).
cat > "$work/step.sh" <<'STEP'
#!/usr/bin/env bash
[[ -n "${HESP_TRIAL_RC:-}" ]] && exit "$HESP_TRIAL_RC"
trap 'kill "$s" 2> /dev/null; exit 75' USR1 TERM
sleep 300 & s=$!
echo "$PPID" > "$HESP_TRIAL_DIR/launcher.tmp" && mv "$HESP_TRIAL_DIR/launcher.tmp" "$HESP_TRIAL_DIR/launcher"
wait "$s"
STEP
chmod +x "$work/step.sh"

proc_state() { awk '{print $3}' "/proc/$1/stat" 2> /dev/null; }
# job_field JOB FIELD: e.g. JobState, Restarts, ExitCode.
job_field() { scontrol show job "$1" 2> /dev/null | grep -o "\b$2=[^ ]*" | head -1 | cut -d= -f2; }

fail=0
n=0
# trial MODE LAUNCHER [RC]: MODE batch | full | race | exit (the step exits RC by itself).
trial() {
  local mode="$1" launcher="$2" want_rc="${3:-}"
  n=$((n + 1))
  local d="$work/t$n" job
  mkdir -p "$d"
  job=$(HESP_TRIAL_DIR="$d" HESP_TRIAL_RC="$want_rc" HESP_LAUNCHER="$launcher" sbatch --parsable \
    --ntasks=1 --output="$d/out" "$src/cluster/slurm/train.sbatch" cfg.pbtxt run) ||
    { echo "FAIL: sbatch"; fail=1; return; }
  local what="trial $n ($mode, $launcher, job $job)"
  if [[ "$mode" == exit ]]; then
    for _ in $(seq 600); do [[ -z "$(squeue -h -j "$job" 2> /dev/null)" ]] && break; sleep 0.1; done
    local state rc
    state=$(job_field "$job" JobState); rc=$(job_field "$job" ExitCode)
    local want_state=COMPLETED; [[ "$want_rc" -ne 0 ]] && want_state=FAILED
    if [[ "$state" == "$want_state" && "$rc" == "$want_rc:0" ]] && ! grep -q "scontrol requeue" "$d/out"; then
      echo "ok: $what: step exit $want_rc -> $state $rc"
    else
      echo "FAIL: $what: step exit $want_rc -> $state $rc (want $want_state $want_rc:0, no requeue)"
      cat "$d/out"; fail=1
    fi
    return
  fi
  for _ in $(seq 600); do [[ -s "$d/launcher" ]] && break; sleep 0.05; done
  local launcher_pid; launcher_pid=$(cat "$d/launcher" 2> /dev/null)
  [[ -n "$launcher_pid" ]] || { echo "FAIL: $what: the step never started"; cat "$d/out"; fail=1; scancel "$job"; return; }
  case "$mode" in
    batch) scancel --signal=USR1 --batch "$job" ;;
    full) scancel --signal=USR1 --full "$job" ;;
    race)
      local shell_pid
      shell_pid=$(scontrol listpids "$job" 2> /dev/null | awk '$3 == "batch" && $4 == 0 {print $1}')
      scancel --signal=STOP --batch "$job"
      for _ in $(seq 100); do [[ "$(proc_state "$shell_pid")" == T ]] && break; sleep 0.02; done
      [[ "$(proc_state "$shell_pid")" == T ]] || { echo "FAIL: $what: the batch shell ($shell_pid) was not stopped"; fail=1; }
      # USR1 to every process of the job: the step exits 75; the stopped shell keeps it.
      scancel --signal=USR1 --full "$job"
      for _ in $(seq 200); do
        local s; s=$(proc_state "$launcher_pid")
        [[ -z "$s" || "$s" == Z ]] && break
        sleep 0.02
      done
      sleep 0.3  # whatever waits for the launcher has seen it end
      scancel --signal=CONT --batch "$job"
      ;;
  esac
  local restarts="" state=""
  for _ in $(seq 300); do
    restarts=$(job_field "$job" Restarts); state=$(job_field "$job" JobState)
    [[ "$restarts" == 1 && "$state" == PENDING ]] && break
    [[ "$state" == FAILED || "$state" == COMPLETED || "$state" == CANCELLED ]] && break
    sleep 0.1
  done
  if [[ "$restarts" == 1 && "$state" == PENDING ]] && grep -q "step exited with 75" "$d/out" &&
    grep -q "scontrol requeue $job" "$d/out"; then
    echo "ok: $what: requeued"
  else
    echo "FAIL: $what: not requeued (state $state, restarts $restarts)"; cat "$d/out"; fail=1
  fi
  scancel "$job" 2> /dev/null
}

for i in 1 2 3; do
  trial race mpirun
  trial full mpirun
  trial batch mpirun
done
trial race srun
trial full srun
trial batch srun
trial exit mpirun 0
trial exit mpirun 2
grep -q "running as root: adding --allow-run-as-root" "$work/t1/out" ||
  { [[ "$(id -u)" -ne 0 ]] || { echo "FAIL: as root, no --allow-run-as-root line"; fail=1; }; }
exit $fail
