#pragma once
// What this process has used so far, for the per-epoch record and the benchmarks.

namespace hesp::resources {

// Peak resident set size of this process (getrusage ru_maxrss), in MiB.
double peak_rss_mib();

}  // namespace hesp::resources
