#include "util/resources.h"

#include <sys/resource.h>

namespace hesp::resources {

double peak_rss_mib() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux reports KiB.
}

}  // namespace hesp::resources
