#pragma once
// Read-only memory map of a whole file (RAII). Weight files reach ~900 MB (ViT-L/14);
// mapping avoids a second copy before the float32 upcast.
#include <string>

#include "clip/weights/byte_reader.h"

namespace hesp::clip::weights {

class MappedFile {
 public:
  // Throws UserError naming the path when it cannot be opened, is empty or cannot be mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  ByteSpan bytes() const { return {static_cast<const uint8_t*>(addr_), size_}; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  void* addr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace hesp::clip::weights
