#pragma once
// Which source frames a packed clip stores: the middle frame of each of T equal
// segments; a clip shorter than T repeats its last frame (spec/hesp-method.md, section 1).
#include <vector>

namespace hesp::data {

// Indices into [0, num_source_frames) for T stored frames. num_source_frames must be > 0.
std::vector<int> segment_middle_indices(int num_source_frames, int T);

}  // namespace hesp::data
