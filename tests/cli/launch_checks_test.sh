#!/usr/bin/env bash
# End-to-end checks of the `hesp` binary as users run it:
#  - rank-prefixed logging: rank 0 logs INFO on stderr, other ranks only with --log-all-ranks;
#  - one rank in an srun step of several tasks is refused, one process in an allocation's
#    shell is not;
#  - a typo'd config field fails with file:line:col and exit code 2;
#  - threads per rank = cores / local ranks;
#  - launch/train.sh and launch/sweep.sh start mpirun as the user is: as root they add
#    --allow-run-as-root (which mpirun needs) and say so in one line; otherwise neither.
set -uo pipefail
hesp="$1"
src="$2"
mpirun="${3:-}"
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf 'optim {\n  momentum: 0.9\n  lrr: 0.1\n}\n' > "$tmp/typo.pbtxt"
"$hesp" config check "$tmp/typo.pbtxt" 2> "$tmp/typo.err"; rc=$?
check "typo exits 2 (got $rc)" '[[ $rc -eq 2 ]]'
want="$tmp/typo.pbtxt:3:3: field 'optim.lrr'"
check "typo message has file:line:col and field" 'grep -qF "$want" "$tmp/typo.err"'

# One process in an srun step of 4 tasks (srun without PMI: 4 silent singletons) is refused;
# the same process in the batch shell of `sbatch --ntasks=4` or an `salloc -n 4` shell (the
# allocation's variables, no step) is a plain command and runs (tests/cli/allocation_shell_test.sh).
SLURM_JOB_ID=123 SLURM_NTASKS=4 SLURM_STEP_ID=0 SLURM_STEP_NUM_TASKS=4 SLURM_PROCID=1 \
  "$hesp" comm info > /dev/null 2> "$tmp/slurm.err"; rc=$?
check "one rank in a 4-task srun step is refused (rc $rc)" '[[ $rc -ne 0 ]] && grep -q "SLURM_STEP_NUM_TASKS=4" $tmp/slurm.err'
SLURM_JOB_ID=123 SLURM_NTASKS=4 SLURM_NPROCS=4 "$hesp" comm info > /dev/null 2> "$tmp/alloc.err"; rc=$?
check "one process in a 4-task allocation's shell runs (rc $rc)" '[[ $rc -eq 0 ]]'
SLURM_JOB_ID=123 SLURM_NTASKS=1 SLURM_STEP_ID=0 SLURM_STEP_NUM_TASKS=1 "$hesp" comm info > /dev/null 2>&1; rc=$?
check "a 1-task step is accepted (rc $rc)" '[[ $rc -eq 0 ]]'

if [[ -n "$mpirun" ]] && command -v "$mpirun" > /dev/null; then
  cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc); per_rank=$(( cores / 2 > 0 ? cores / 2 : 1 ))
  run() { "$mpirun" --allow-run-as-root --oversubscribe --bind-to none -np 2 "$hesp" "$@"; }
  run comm info > "$tmp/info.out" 2> "$tmp/info.err"; rc=$?
  check "mpirun comm info succeeds (rc $rc)" '[[ $rc -eq 0 ]]'
  check "two MPI ranks" 'grep -q "backend=mpi rank=1 size=2" $tmp/info.out'
  check "threads = cores / local ranks" "grep -q \"rank=0 size=2 local_rank=0 local_size=2 threads=$per_rank\" $tmp/info.out"
  check "rank 0 INFO on stderr" 'grep -q "^\[rank 0\] I" $tmp/info.err'
  check "rank 1 INFO not on stderr by default" '! grep -q "^\[rank 1\] I" $tmp/info.err'
  run --log-all-ranks comm info > /dev/null 2> "$tmp/all.err"
  check "--log-all-ranks shows rank 1 INFO" 'grep -q "^\[rank 1\] I" $tmp/all.err'

  # --oversubscribe: two ranks also on a one-core machine. HESP_SUBCOMMAND picks the hesp
  # subcommand train.sh runs (sweep.sh sets it to sweep).
  HESP_BIN="$hesp" HESP_SUBCOMMAND=comm HESP_MPIRUN_FLAGS=--oversubscribe \
    bash "$src/launch/train.sh" --np 2 -- info > "$tmp/train.out" 2> "$tmp/train.err"; rc=$?
  check "launch/train.sh starts two ranks (rc $rc)" '[[ $rc -eq 0 ]] && grep -q "backend=mpi rank=1 size=2" $tmp/train.out'
  HESP_BIN="$hesp" HESP_SWEEP_DATA="$tmp/no-data" HESP_MPIRUN_FLAGS=--oversubscribe \
    bash "$src/launch/sweep.sh" --np 2 -- --config "$src/configs/sweeps/demo.pbtxt" --list \
    --skip-data-check > "$tmp/sweep.out" 2> "$tmp/sweep.err"; rc=$?
  check "launch/sweep.sh runs the sweep under mpirun (rc $rc)" '[[ $rc -eq 0 && -s $tmp/sweep.out ]]'
  for s in train sweep; do
    said=$(grep -c "running as root: adding --allow-run-as-root to mpirun" "$tmp/$s.err")
    if [[ "$(id -u)" -eq 0 ]]; then
      check "as root, launch/$s.sh says once that it adds --allow-run-as-root (said $said)" '[[ $said -eq 1 ]]'
    else
      check "not root, launch/$s.sh adds no --allow-run-as-root" '! grep -q -- --allow-run-as-root $tmp/$s.err'
    fi
  done
else
  echo "mpirun not found: MPI checks skipped"
fi
exit $fail
