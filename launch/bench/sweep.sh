#!/usr/bin/env bash
# Sweep scheduling overhead: the demo sweep (8 runs) under mpirun -np 2 --group-size 1, as
# shipped (1 epoch per run) and with longer runs (8 epochs), against the same 8 runs launched
# one by one as single runs (`hesp --threads 1 sweep --run-index I`, what a job array does).
#   ideal       = sum of the single-run wall times / 2 ranks
#   overhead    = sweep wall / ideal - 1                      (target <= 5 %)
# It also splits the sweep's own time: the launch (an mpirun of the same sweep with every
# run already finished: process start, LibTorch load, MPI init, planning, exit), the busiest
# group's time inside its runs (sweep_summary.json), and what is left: the scheduler itself
# (claims, waiting for the other group, the summary).
# Writes $HESP_BENCH_DIR/sweep.json (default bench-results/).
#   launch/bench/sweep.sh [BUILD_DIR]      (HESP_SWEEP_BENCH_EPOCHS: default "1 8")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../mpirun_root.sh
source "$root/launch/mpirun_root.sh"
root_flags=$(hesp_mpirun_root_flags)
build="${1:-$root/build}"
hesp="$build/bin/hesp"
out_dir="${HESP_BENCH_DIR:-$root/bench-results}"
mkdir -p "$out_dir"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
bash "$root/tests/sweep/make_demo_data.sh" "$build/bin/hesp-pack" "$work/data" > /dev/null
export HESP_SWEEP_DATA="$work/data" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { print b - a }'; }
sweep_np2() {  # config out log
  mpirun $root_flags --oversubscribe --bind-to none -np 2 -x HESP_SWEEP_DATA \
    -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS "$hesp" sweep --config "$1" --out "$2" \
    --group-size 1 > "$3" 2>&1
}
results=()
for epochs in ${HESP_SWEEP_BENCH_EPOCHS:-1 8}; do
  # The demo sweep with absolute paths and this many epochs per run.
  cfg="$work/sweep-$epochs.pbtxt"
  sed -e "s#=\.\./\.\./#=$root/#g" -e "s#\"\.\./#\"$root/configs/#g" \
    -e "s/epochs: 1}/epochs: $epochs}/" "$root/configs/sweeps/demo.pbtxt" > "$cfg"
  t0=$(now); sweep_np2 "$cfg" "$work/out-$epochs" "$work/log-$epochs"; total=$(since "$t0")
  t0=$(now); sweep_np2 "$cfg" "$work/out-$epochs" "$work/relog-$epochs"; launch=$(since "$t0")
  singles=()
  while read -r index _; do
    t0=$(now)
    "$hesp" --threads 1 sweep --config "$cfg" --out "$work/single-$epochs" --run-index "$index" \
      > "$work/single-$epochs-$index.log" 2>&1
    singles+=("$(since "$t0")")
  done < <("$hesp" sweep --config "$cfg" --list 2> /dev/null)
  results+=("$(jq --argjson total "$total" --argjson launch "$launch" --argjson epochs "$epochs" \
    --argjson singles "$(printf '%s\n' "${singles[@]}" | jq -s .)" '
    [.runs[] | {group, wall_s}] as $r
    | ([$r | group_by(.group)[] | map(.wall_s) | add] | max) as $busiest
    | ($singles | add) as $sum_single
    | {epochs_per_run: $epochs, runs: ($r | length), ranks: 2, group_size: 1,
       total_wall_s: $total, single_run_wall_s: $singles, sum_single_runs_s: $sum_single,
       ideal_wall_s: ($sum_single / 2), overhead: ($total / ($sum_single / 2) - 1),
       target: 0.05, launch_s: $launch, sum_in_run_s: ($r | map(.wall_s) | add),
       busiest_group_in_run_s: $busiest, scheduler_s: ($total - $launch - $busiest),
       scheduler_fraction: (($total - $launch - $busiest) / $total)}' \
    "$work/out-$epochs/sweep_summary.json")")
done
printf '%s\n' "${results[@]}" | jq -s '{name: "sweep", results: .}' > "$out_dir/sweep.json"
cat "$out_dir/sweep.json"
