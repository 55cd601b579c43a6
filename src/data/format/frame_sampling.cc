#include "data/format/frame_sampling.h"

#include <glog/logging.h>

#include <algorithm>

namespace hesp::data {

std::vector<int> segment_middle_indices(int num_source_frames, int T) {
  CHECK_GT(num_source_frames, 0);
  CHECK_GT(T, 0);
  std::vector<int> idx(static_cast<size_t>(T));
  for (int j = 0; j < T; ++j) {
    if (num_source_frames < T) {
      idx[j] = std::min(j, num_source_frames - 1);
    } else {
      // Segment j covers [j*n/T, (j+1)*n/T); its middle is (2j+1)*n/(2T), in integers.
      const long long n = num_source_frames;
      idx[j] = static_cast<int>(((2LL * j + 1) * n) / (2LL * T));
    }
  }
  return idx;
}

}  // namespace hesp::data
