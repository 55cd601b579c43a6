// libFuzzer target: torch.save's zip container and data.pkl pickle. Inputs starting with
// "PK" go through the zip reader (and the pickle inside), anything else is a pickle.
#include <cstddef>
#include <cstdint>

#include "clip/weights/torch_pickle.h"
#include "clip/weights/zip_reader.h"

namespace {

void check_pickle(hesp::clip::weights::ByteSpan bytes) {
  using namespace hesp::clip::weights;
  for (const auto& p : parse_torch_pickle(bytes, "fuzz")) {
    // The extent check the loader performs, against a storage of the declared size.
    RawTensor t;
    t.name = p.name;
    t.dtype = p.dtype;
    t.shape = p.sizes;
    t.strides = p.strides;
    t.storage_offset = p.storage_offset;
    t.storage = ByteSpan(nullptr, static_cast<size_t>(p.storage_numel > (int64_t{1} << 40)
                                                          ? 0
                                                          : p.storage_numel * dtype_size(p.dtype)));
    check_raw_tensor_extent(t, "fuzz");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hesp::clip::weights;
  try {
    ByteSpan bytes(data, size);
    if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
      ZipArchive zip(bytes, "fuzz");
      for (const auto& name : zip.names()) {
        ByteSpan entry = zip.entry(name);
        if (name.size() >= 8 && name.compare(name.size() - 8, 8, "data.pkl") == 0) {
          check_pickle(entry);
        }
      }
    } else {
      check_pickle(bytes);
    }
  } catch (const hesp::UserError&) {
  }
  return 0;
}
