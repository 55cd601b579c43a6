#pragma once
// What this process has used so far, for the per-epoch record and the benchmarks.

#include <string>

namespace hesp::resources {

// This machine's host name (gethostname: the UTS name, "localhost" if it cannot be read).
// On a cluster it tells the nodes apart in per-rank logs.
std::string host_name();

// Peak resident set size of this process (getrusage ru_maxrss), in MiB.
double peak_rss_mib();

}  // namespace hesp::resources
