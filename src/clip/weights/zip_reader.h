#pragma once
// Reader for the uncompressed ("stored") zip archives that torch.save and TorchScript
// write. Only the central directory is trusted for sizes; every offset is bounds-checked.
// Torch-free so that the fuzz targets can compile it alone.
#include <map>
#include <string>
#include <vector>

#include "clip/weights/byte_reader.h"

namespace hesp::clip::weights {

class ZipArchive {
 public:
  // Parses the central directory of `bytes` (which must outlive this object). `what`
  // (usually the file path) prefixes every error message.
  ZipArchive(ByteSpan bytes, std::string what);

  // Entry names in central-directory order.
  const std::vector<std::string>& names() const { return names_; }
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  // The stored bytes of one entry; throws UserError when absent or compressed.
  ByteSpan entry(const std::string& name) const;

 private:
  struct Entry {
    uint16_t method = 0;
    uint64_t compressed_size = 0;
    uint64_t uncompressed_size = 0;
    uint64_t local_header_offset = 0;
  };
  void parse();

  ByteSpan bytes_;
  std::string what_;
  std::vector<std::string> names_;
  std::map<std::string, Entry> entries_;
};

}  // namespace hesp::clip::weights
