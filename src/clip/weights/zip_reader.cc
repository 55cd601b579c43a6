#include "clip/weights/zip_reader.h"

#include <algorithm>

namespace hesp::clip::weights {
namespace {

constexpr uint32_t kEndOfCentralDir = 0x06054b50;
constexpr uint32_t kZip64EndOfCentralDir = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr size_t kEocdSize = 22;
constexpr size_t kMaxComment = 0xffff;

}  // namespace

ZipArchive::ZipArchive(ByteSpan bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {
  parse();
}

void ZipArchive::parse() {
  const std::string ctx = what_ + " (zip archive)";
  if (bytes_.size < kEocdSize)
    throw UserError(ctx + ": file too short to be a zip archive (truncated or corrupt file)");
  // The end-of-central-directory record sits in the last 22 + comment bytes; search
  // backwards for its signature.
  const size_t lowest =
      bytes_.size > kEocdSize + kMaxComment ? bytes_.size - kEocdSize - kMaxComment : 0;
  size_t eocd = SIZE_MAX;
  for (size_t pos = bytes_.size - kEocdSize + 1; pos-- > lowest;) {
    ByteReader r(bytes_.sub(pos, 4, ctx), ctx);
    if (r.u32() == kEndOfCentralDir) {
      eocd = pos;
      break;
    }
  }
  if (eocd == SIZE_MAX) {
    throw UserError(ctx + ": end of central directory not found (truncated or not a zip file)");
  }
  ByteReader r(bytes_.sub(eocd, kEocdSize, ctx), ctx);
  r.u32();
  r.u16();  // disk number
  r.u16();  // disk with the central directory
  r.u16();  // entries on this disk
  uint64_t count = r.u16();
  uint64_t dir_size = r.u32();
  uint64_t dir_offset = r.u32();
  // Archives above 4 GiB (or 65535 entries) keep the real values in the zip64 record,
  // found through the locator that directly precedes the EOCD.
  if ((count == 0xffff || dir_size == 0xffffffffu || dir_offset == 0xffffffffu) && eocd >= 20) {
    ByteReader loc(bytes_.sub(eocd - 20, 20, ctx), ctx);
    if (loc.u32() == kZip64Locator) {
      loc.u32();
      const uint64_t z64 = loc.u64();
      ByteReader z(bytes_.sub(z64, 56, ctx), ctx);
      if (z.u32() != kZip64EndOfCentralDir) z.fail("bad zip64 end of central directory");
      z.u64();  // record size
      z.u16();
      z.u16();
      z.u32();
      z.u32();
      z.u64();
      count = z.u64();
      dir_size = z.u64();
      dir_offset = z.u64();
    }
  }
  ByteReader dir(bytes_.sub(dir_offset, dir_size, ctx + " central directory"),
                 ctx + " central directory");
  for (uint64_t i = 0; i < count; ++i) {
    if (dir.u32() != kCentralHeader) dir.fail("bad central directory entry signature");
    dir.u16();  // version made by
    dir.u16();  // version needed
    dir.u16();  // flags
    Entry e;
    e.method = dir.u16();
    dir.u16();  // time
    dir.u16();  // date
    dir.u32();  // crc
    e.compressed_size = dir.u32();
    e.uncompressed_size = dir.u32();
    const uint16_t name_len = dir.u16();
    const uint16_t extra_len = dir.u16();
    const uint16_t comment_len = dir.u16();
    dir.u16();  // disk
    dir.u16();  // internal attributes
    dir.u32();  // external attributes
    e.local_header_offset = dir.u32();
    std::string name(dir.bytes(name_len));
    ByteReader extra(ByteSpan(dir.bytes(extra_len)), ctx + " extra field of " + name);
    // Zip64 extended information: present values replace the 0xffffffff placeholders,
    // in this order.
    while (extra.remaining() >= 4) {
      const uint16_t id = extra.u16();
      const uint16_t len = extra.u16();
      ByteReader field(ByteSpan(extra.bytes(len)), ctx + " zip64 field of " + name);
      if (id != 0x0001) continue;
      if (e.uncompressed_size == 0xffffffffu) e.uncompressed_size = field.u64();
      if (e.compressed_size == 0xffffffffu) e.compressed_size = field.u64();
      if (e.local_header_offset == 0xffffffffu) e.local_header_offset = field.u64();
    }
    dir.bytes(comment_len);
    if (entries_.count(name)) throw UserError(ctx + ": duplicate entry '" + name + "'");
    names_.push_back(name);
    entries_.emplace(std::move(name), e);
  }
}

ByteSpan ZipArchive::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw UserError(what_ + ": zip entry '" + name + "' is missing");
  const Entry& e = it->second;
  const std::string ctx = what_ + " zip entry '" + name + "'";
  if (e.method != 0) {
    throw UserError(ctx + " is compressed (method " + std::to_string(e.method) +
                    "); only stored entries are supported, as torch.save writes them");
  }
  if (e.compressed_size != e.uncompressed_size) {
    throw UserError(ctx + ": stored entry with different compressed and uncompressed sizes");
  }
  ByteReader local(bytes_.sub(e.local_header_offset, 30, ctx), ctx);
  if (local.u32() != kLocalHeader) local.fail("bad local header signature");
  local.seek(26);
  const uint64_t name_len = local.u16();
  const uint64_t extra_len = local.u16();
  return bytes_.sub(e.local_header_offset + 30 + name_len + extra_len, e.compressed_size, ctx);
}

}  // namespace hesp::clip::weights
