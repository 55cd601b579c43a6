// libFuzzer target: the safetensors header parser and tensor extent checks must turn any
// input into either tensors or a hesp::UserError (no crash, no out-of-bounds read).
#include <cstddef>
#include <cstdint>

#include "clip/weights/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hesp::clip::weights;
  try {
    auto file = parse_safetensors(ByteSpan(data, size), "fuzz");
    volatile uint8_t sink = 0;
    for (const auto& t : file.tensors) {
      check_raw_tensor_extent(t, "fuzz");
      // Touch the first and last byte the loader would read.
      if (t.storage.size > 0) sink = sink ^ t.storage.data[0] ^ t.storage.data[t.storage.size - 1];
    }
  } catch (const hesp::UserError&) {
  }
  return 0;
}
