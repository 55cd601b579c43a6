#pragma once
// Bounds-checked little-endian reading over a byte range we do not own (a mapped weight
// file, a fuzzer input). Every read that would leave the range throws UserError naming
// `what`, so a truncated or corrupt file becomes a message, never an out-of-bounds read.
// Torch-free on purpose: the fuzz targets compile this without LibTorch.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "util/errors.h"

namespace hesp::clip::weights {

// A non-owning view of bytes.
struct ByteSpan {
  const uint8_t* data = nullptr;
  size_t size = 0;

  ByteSpan() = default;
  ByteSpan(const uint8_t* d, size_t n) : data(d), size(n) {}
  explicit ByteSpan(std::string_view s)
      : data(reinterpret_cast<const uint8_t*>(s.data())), size(s.size()) {}

  std::string_view view() const { return {reinterpret_cast<const char*>(data), size}; }
  // The sub-range [offset, offset + length); throws when it does not fit.
  ByteSpan sub(uint64_t offset, uint64_t length, const std::string& what) const {
    if (offset > size || length > size - offset) {
      throw UserError(what + ": range [" + std::to_string(offset) + ", +" + std::to_string(length) +
                      ") lies outside the " + std::to_string(size) +
                      " available bytes (truncated or corrupt file)");
    }
    return {data + offset, static_cast<size_t>(length)};
  }
};

class ByteReader {
 public:
  ByteReader(ByteSpan span, std::string what) : span_(span), what_(std::move(what)) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return span_.size - pos_; }
  bool at_end() const { return pos_ >= span_.size; }
  void seek(size_t pos) {
    if (pos > span_.size) fail("seek past the end");
    pos_ = pos;
  }

  template <typename T>
  T read_le() {
    static_assert(std::is_integral_v<T> || std::is_floating_point_v<T>);
    need(sizeof(T));
    // The file format is little-endian and so is every host we build for; memcpy keeps
    // unaligned reads defined.
    T v;
    std::memcpy(&v, span_.data + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  uint8_t u8() { return read_le<uint8_t>(); }
  uint16_t u16() { return read_le<uint16_t>(); }
  uint32_t u32() { return read_le<uint32_t>(); }
  uint64_t u64() { return read_le<uint64_t>(); }

  std::string_view bytes(uint64_t n) {
    need(n);
    std::string_view v(reinterpret_cast<const char*>(span_.data + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return v;
  }
  // Bytes up to (not including) `delim`, consuming the delimiter.
  std::string_view until(char delim) {
    const void* hit = std::memchr(span_.data + pos_, delim, remaining());
    if (hit == nullptr) fail(std::string("missing terminator byte ") + std::to_string(delim));
    const size_t n = static_cast<const uint8_t*>(hit) - (span_.data + pos_);
    auto v = bytes(n);
    ++pos_;
    return v;
  }

  [[noreturn]] void fail(const std::string& message) const {
    throw UserError(what_ + ": " + message + " at byte " + std::to_string(pos_) +
                    " (truncated or corrupt file)");
  }

 private:
  void need(uint64_t n) const {
    if (n > remaining()) {
      fail("needs " + std::to_string(n) + " bytes but only " + std::to_string(remaining()) +
           " remain");
    }
  }

  ByteSpan span_;
  std::string what_;
  size_t pos_ = 0;
};

}  // namespace hesp::clip::weights
