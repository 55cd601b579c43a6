#pragma once
// JPEG encode/decode through TurboJPEG. One TurboJPEG handle per thread (thread_local),
// so any number of threads may call these concurrently. Images are RGB, HWC, uint8.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hesp::data::jpeg {

struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // height * width * 3
};

// Encodes an RGB image with full-resolution chroma (4:4:4): small face crops lose visibly
// to 4:2:0 at colour edges, and the packer promises frames within codec error.
std::string encode_rgb(const uint8_t* rgb, int width, int height, int quality);

// Reads the header only. Returns false when the bytes are not a readable JPEG header.
bool read_header(const uint8_t* data, size_t size, int* width, int* height);

// Decodes to RGB. Throws UserError("<context>: ...") on a corrupt or truncated stream
// (TurboJPEG warnings about premature end of data count as errors: a truncated file
// must never pass as an image).
Image decode_rgb(const uint8_t* data, size_t size, const std::string& context);

// Decodes into caller memory of exactly width*height*3 bytes; throws UserError when the
// stream's size differs from the expected one.
void decode_rgb_into(const uint8_t* data, size_t size, int width, int height, uint8_t* out,
                     const std::string& context);

// True when `data` starts with the JPEG SOI marker.
bool looks_like_jpeg(const uint8_t* data, size_t size);

}  // namespace hesp::data::jpeg
