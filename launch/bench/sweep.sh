#!/usr/bin/env bash
# Sweep scheduling overhead: the demo sweep (8 runs) under mpirun -np 2 --group-size 1,
# as shipped (1 epoch per run) and with longer runs (8 epochs). Busy time of a group = the
# sum of the wall times of the runs it trained (run_training, from sweep_summary.json);
# overhead = 1 - (busiest group's busy time) / (total wall time): MPI start, planning
# (opening each dataset once), claims, waiting for the other group, exit. Most of it is a
# fixed cost per sweep, so its share shrinks as runs get longer. Target <= 5 %.
# Writes $HESP_BENCH_DIR/sweep.json (default bench-results/).
#   launch/bench/sweep.sh [BUILD_DIR]      (HESP_SWEEP_BENCH_EPOCHS: default "1 8")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build}"
out_dir="${HESP_BENCH_DIR:-$root/bench-results}"
mkdir -p "$out_dir"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
bash "$root/tests/sweep/make_demo_data.sh" "$build/bin/hesp-pack" "$work/data" > /dev/null
export HESP_SWEEP_DATA="$work/data" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
results=()
for epochs in ${HESP_SWEEP_BENCH_EPOCHS:-1 8}; do
  # The demo sweep with absolute paths and this many epochs per run.
  sed -e "s#=\.\./\.\./#=$root/#g" -e "s#\"\.\./#\"$root/configs/#g" \
    -e "s/epochs: 1}/epochs: $epochs}/" "$root/configs/sweeps/demo.pbtxt" > "$work/sweep-$epochs.pbtxt"
  t0=$(date +%s.%N)
  mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 -x HESP_SWEEP_DATA \
    -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS "$build/bin/hesp" sweep \
    --config "$work/sweep-$epochs.pbtxt" --out "$work/out-$epochs" --group-size 1 > "$work/log-$epochs" 2>&1
  t1=$(date +%s.%N)
  results+=("$(jq --argjson total "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
    --argjson epochs "$epochs" '
    [.runs[] | {group, wall_s}] as $r
    | ($r | map(.wall_s) | add) as $sum
    | ([$r | group_by(.group)[] | map(.wall_s) | add] | max) as $busiest
    | {epochs_per_run: $epochs, runs: ($r | length), ranks: 2, group_size: 1,
       total_wall_s: $total, sum_run_s: $sum, busiest_group_s: $busiest,
       ideal_wall_s: ($sum / 2), fixed_overhead_s: ($total - $busiest),
       overhead_vs_busiest: (1 - $busiest / $total),
       overhead_vs_ideal: ($total / ($sum / 2) - 1), target: 0.05}' "$work/out-$epochs/sweep_summary.json")")
done
printf '%s\n' "${results[@]}" | jq -s '{name: "sweep", results: .}' > "$out_dir/sweep.json"
cat "$out_dir/sweep.json"
