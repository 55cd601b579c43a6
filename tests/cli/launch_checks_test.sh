#!/usr/bin/env bash
# End-to-end checks of the `hesp` binary as users run it:
#  - rank-prefixed logging: rank 0 logs INFO on stderr, other ranks only with --log-all-ranks;
#  - a SLURM allocation whose SLURM_NTASKS differs from the MPI world is refused;
#  - a typo'd config field fails with file:line:col and exit code 2;
#  - threads per rank = cores / local ranks.
set -uo pipefail
hesp="$1"
mpirun="${2:-}"
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf 'optim {\n  momentum: 0.9\n  lrr: 0.1\n}\n' > "$tmp/typo.pbtxt"
"$hesp" config check "$tmp/typo.pbtxt" 2> "$tmp/typo.err"; rc=$?
check "typo exits 2 (got $rc)" '[[ $rc -eq 2 ]]'
want="$tmp/typo.pbtxt:3:3: field 'optim.lrr'"
check "typo message has file:line:col and field" 'grep -qF "$want" "$tmp/typo.err"'

SLURM_JOB_ID=123 SLURM_NTASKS=4 "$hesp" comm info > /dev/null 2> "$tmp/slurm.err"; rc=$?
check "SLURM_NTASKS mismatch is refused (rc $rc)" '[[ $rc -ne 0 ]] && grep -q "SLURM_NTASKS=4" $tmp/slurm.err'
SLURM_JOB_ID=123 SLURM_NTASKS=1 "$hesp" comm info > /dev/null 2>&1; rc=$?
check "SLURM_NTASKS match is accepted (rc $rc)" '[[ $rc -eq 0 ]]'

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
else
  echo "mpirun not found: MPI checks skipped"
fi
exit $fail
