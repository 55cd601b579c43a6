#!/usr/bin/env bash
# Preemption is safe in every phase of `hesp sweep` (docs/training.md, "Preemption"). A
# sweep of 2 runs x 2 epochs is held at a phase by a failpoint (HESP_FAILPOINTS,
# util/failpoint.h: the process cannot pass the phase until a stop signal arrives), then
# signalled; it must exit 75, and a rerun must finish the sweep with nothing lost and
# nothing run twice: every run's metrics equal those of an uninterrupted sweep, a run
# finished before the signal is not trained again, a run interrupted after its first
# epoch resumes from the checkpoint of that epoch, and every run's metrics.jsonl has one
# record per epoch. Phases:
#   sweep.planned             the plan made and the datasets opened, no run started
#                             (before: killed by the signal, exit 138)
#   sweep.between_runs        the first run finished, the second not claimed
#   train.evaluating          the first run's epoch-1 evaluation
#   train.checkpoint_writing  the first run's epoch-1 checkpoint being written
# each on 1 rank (hesp alone; SIGUSR1 or SIGTERM) and on 2 ranks (mpirun -np 2, one group
# of 2; SIGUSR1 to mpirun, which forwards it).
#   sweep_preempt_test.sh HESP HESP_PACK MPIRUN SRC
set -uo pipefail
hesp="$1"; pack="$2"; mpirun="${3:-}"; src="$4"
work=$(mktemp -d)
launcher=""
cleanup() {
  [[ -n "$launcher" ]] && kill -9 "$launcher" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT
bash "$src/tests/sweep/make_demo_data.sh" "$pack" "$work/data" || { echo "FAIL: data"; exit 1; }
export HESP_SWEEP_DATA="$work/data" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
unset HESP_FAILPOINTS
# 2 runs (afew 5:2 and 3:4, one split), 2 epochs: evaluated and checkpointed after epoch 1.
cat > "$work/sweep.pbtxt" << CFG
name: "preempt"
base_file: "$src/configs/demo/hesp.pbtxt"
base_set: "model.clip_weights=$src/tests/data/fixtures/clip/tiny_clip_a.safetensors"
base_set: "schedule={kind: custom epochs: 2}"
base_set: "checkpoint={every_epochs: 1 keep_last: 3}"
base_set: "eval={every_epochs: 1 batch_size: 16}"
base_set: "data.frames_per_clip=2"
base_set: "train.global_batch_size=4"
settings {
  name: "afew"
  manifests: "\${HESP_SWEEP_DATA}/afew"
  train_split: "Train_AFEW"
  test_split: "Val_AFEW"
  openness: ["5:2", "3:4"]
}
num_splits: 1
splits { base_seed: 11 }
methods: [hesp]
CFG
have_mpi=1
[[ -n "$mpirun" ]] && command -v "$mpirun" > /dev/null || { echo "note: no mpirun, 1 rank only"; have_mpi=0; }
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# cmdline NP OUT: sets `cmd` to the sweep on NP ranks (one group of NP), run as
# "${cmd[@]}" so that $! of a background run is hesp's (or mpirun's) own pid.
cmdline() {
  local np=$1 out=$2
  if [[ $np -eq 1 ]]; then
    cmd=("$hesp" sweep --config "$work/sweep.pbtxt" --out "$out")
  else
    cmd=("$mpirun" --allow-run-as-root --oversubscribe --bind-to none -np "$np" -x HESP_SWEEP_DATA
         -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS)
    [[ -n "${HESP_FAILPOINTS:-}" ]] && cmd+=(-x HESP_FAILPOINTS)
    cmd+=("$hesp" sweep --config "$work/sweep.pbtxt" --out "$out" --group-size "$np")
  fi
}
results() { (cd "$1" && find . -name result.json | sort); }
# Epoch numbers of a run's per-epoch records in metrics.jsonl, on one line.
epochs_logged() { jq -r 'select(.final != true and has("loss")) | .epoch' "$1" 2> /dev/null | tr '\n' ' '; }

# The uninterrupted sweeps, the reference of every phase.
for np in 1 2; do
  [[ $np -eq 2 && $have_mpi -eq 0 ]] && continue
  cmdline $np "$work/ref$np"
  "${cmd[@]}" > "$work/ref$np.log" 2>&1 ||
    { echo "FAIL: the uninterrupted sweep on $np rank(s)"; tail -30 "$work/ref$np.log"; exit 1; }
  [[ $(results "$work/ref$np" | wc -l) -eq 2 ]] || { echo "FAIL: the reference sweep did not finish 2 runs"; exit 1; }
done

# trial NP PHASE SIGNAL
trial() {
  local np=$1 phase=$2 sig=$3
  local name="$phase on $np rank(s), SIG$sig"
  local out="$work/$np-$phase" log="$work/$np-$phase.log" release="$work/$np-$phase.release"
  # --- held at the phase, then signalled ---
  export HESP_FAILPOINTS="$phase=pause($release)"
  cmdline "$np" "$out"
  "${cmd[@]}" > "$log" 2>&1 &
  launcher=$!
  unset HESP_FAILPOINTS
  # Every rank that holds there has said so (then every rank has its handler installed;
  # train.checkpoint_writing holds rank 0 only, the others wait for it in a collective).
  local want=$np held=0
  [[ $phase == train.checkpoint_writing ]] && want=1
  for _ in $(seq 1 3000); do
    [[ $(grep -c "failpoint $phase: paused" "$log") -ge $want ]] && { held=1; break; }
    kill -0 "$launcher" 2> /dev/null || break
    sleep 0.1
  done
  if [[ $held -eq 0 ]]; then
    bad "$name: the sweep never held at $phase"; tail -30 "$log"
    kill -9 "$launcher" 2> /dev/null; wait "$launcher"; launcher=""; return
  fi
  kill -"$sig" "$launcher"
  wait "$launcher"; local rc=$?
  launcher=""
  local first_results; first_results=$(results "$out" | wc -l)
  echo "$name: exit $rc, $first_results run(s) finished"
  [[ $rc -eq 75 ]] || { bad "$name: exit $rc, 75 expected"; tail -30 "$log"; }
  grep -q "failpoint $phase: released" "$log" || grep -rq "failpoint $phase: released" "$out" ||
    bad "$name: the stop signal did not release the failpoint"
  local newest
  newest=$(find "$out" -name 'ckpt-*.hespckpt' -printf '%f\n' 2> /dev/null | sort | tail -1)
  case "$phase" in
    sweep.planned)
      [[ $first_results -eq 0 && -z "$newest" ]] || bad "$name: a run started after the signal"
      ;;
    sweep.between_runs)
      [[ $first_results -eq 1 ]] || bad "$name: $first_results finished runs, 1 expected"
      find "$out" -name result.json -exec md5sum {} + > "$work/$np-$phase.md5"
      ;;
    train.*)
      # Stopped at the end of epoch 1: its checkpoint, no step of epoch 2.
      [[ $first_results -eq 0 ]] || bad "$name: a run finished after the signal"
      [[ "$newest" == ckpt-000001-0000000000.hespckpt ]] ||
        bad "$name: newest checkpoint '$newest', ckpt-000001-0000000000.hespckpt expected"
      ;;
  esac
  # --- the rerun (a requeued job) ---
  cmdline "$np" "$out"
  "${cmd[@]}" > "$work/$np-$phase.rerun.log" 2>&1; rc=$?
  [[ $rc -eq 0 ]] || { bad "$name: the rerun exited $rc"; tail -30 "$work/$np-$phase.rerun.log"; }
  for f in $(results "$work/ref$np"); do
    if [[ ! -f "$out/$f" ]]; then bad "$name: $f missing after the rerun"; continue; fi
    cmp -s <(jq -S .metrics "$work/ref$np/$f") <(jq -S .metrics "$out/$f") ||
      bad "$name: $f metrics differ from the uninterrupted sweep's"
    local e; e=$(epochs_logged "$(dirname "$out/$f")/metrics.jsonl")
    [[ "$e" == "1 2 " ]] || bad "$name: $(dirname "$f")/metrics.jsonl has epoch records '$e', '1 2 ' expected"
  done
  case "$phase" in
    sweep.between_runs)
      grep -q "1 already finished" "$work/$np-$phase.rerun.log" || bad "$name: the rerun did not skip the finished run"
      md5sum -c --quiet "$work/$np-$phase.md5" > /dev/null 2>&1 || bad "$name: the finished run was trained again"
      ;;
    train.*)
      grep -rq "resumed from .*ckpt-000001-0000000000.hespckpt at epoch 1 step 0" "$out" "$work/$np-$phase.rerun.log" ||
        bad "$name: the rerun did not resume from the epoch-1 checkpoint"
      ;;
  esac
}

trial 1 sweep.planned USR1
trial 1 sweep.between_runs TERM
trial 1 train.evaluating USR1
trial 1 train.checkpoint_writing TERM
if [[ $have_mpi -eq 1 ]]; then
  for phase in sweep.planned sweep.between_runs train.evaluating train.checkpoint_writing; do
    trial 2 "$phase" USR1
  done
fi
[[ $fail -eq 0 ]] && echo "ok: every phase exits 75 and the rerun loses nothing"
exit $fail
