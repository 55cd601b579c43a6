#pragma once
// Per-rank thread budget: two ranks that each use every core halve the speed, so each
// rank gets cores / local_ranks threads for OpenMP, OpenBLAS and torch's intra-op pool.

namespace hesp::threads {

// Cores this process may run on (affinity mask, not the machine total).
int available_cores();

// Decides the per-rank thread count: `requested` if > 0; else, inside a SLURM job step
// that has SLURM_CPUS_PER_TASK (sbatch/srun --cpus-per-task), that many (at most the
// available cores): SLURM gave each task those CPUs, and without a task plugin binding them
// the affinity mask shows the whole node; else cores / local_size (>= 1). A malformed
// SLURM_CPUS_PER_TASK is ignored.
int threads_per_rank(int requested, int local_size);

// Applies n to OMP_NUM_THREADS / OPENBLAS_NUM_THREADS (for children), OpenBLAS (already
// loaded, through its runtime setter) and torch. Warns when local_size * n exceeds the
// cores. Returns n.
int configure(int requested, int local_size);

}  // namespace hesp::threads
