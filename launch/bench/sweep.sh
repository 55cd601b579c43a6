#!/usr/bin/env bash
# Sweep scheduling overhead: the demo sweep (8 runs) under mpirun -np 2 --group-size 1.
# Busy time of a group = the sum of the wall times of the runs it trained (run_training,
# from sweep_summary.json); overhead = 1 - (busiest group's busy time) / (total wall time):
# planning, MPI start, claims, waiting for the other group. Target <= 5 %.
# Writes $HESP_BENCH_DIR/sweep.json (default bench-results/).
#   launch/bench/sweep.sh [BUILD_DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build}"
out_dir="${HESP_BENCH_DIR:-$root/bench-results}"
mkdir -p "$out_dir"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
bash "$root/tests/sweep/make_demo_data.sh" "$build/bin/hesp-pack" "$work/data"
export HESP_SWEEP_DATA="$work/data" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
t0=$(date +%s.%N)
mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 -x HESP_SWEEP_DATA \
  -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS "$build/bin/hesp" sweep \
  --config "$root/configs/sweeps/demo.pbtxt" --out "$work/out" --group-size 1 > "$work/log" 2>&1
t1=$(date +%s.%N)
summary="$work/out/sweep_summary.json"
jq --argjson total "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" '
  [.runs[] | {group, wall_s}] as $r
  | ($r | map(.wall_s) | add) as $sum
  | ([$r | group_by(.group)[] | map(.wall_s) | add] | max) as $busiest
  | {name: "sweep", runs: ($r | length), ranks: 2, group_size: 1, total_wall_s: $total,
     sum_run_s: $sum, busiest_group_s: $busiest,
     ideal_wall_s: ($sum / 2), overhead_vs_busiest: (1 - $busiest / $total),
     overhead_vs_ideal: ($total / ($sum / 2) - 1)}' "$summary" > "$out_dir/sweep.json"
cat "$out_dir/sweep.json"
