#include "data/format/jpeg_codec.h"

#include <turbojpeg.h>

#include <memory>

#include "util/errors.h"

namespace hesp::data::jpeg {
namespace {

struct HandleDeleter {
  void operator()(void* h) const {
    if (h) tjDestroy(h);
  }
};
using TjHandle = std::unique_ptr<void, HandleDeleter>;

// TurboJPEG handles are not thread-safe; one of each kind per thread avoids locking.
tjhandle compressor() {
  thread_local TjHandle h(tjInitCompress());
  return h.get();
}

TjHandle& decompressor_slot() {
  thread_local TjHandle h(tjInitDecompress());
  return h;
}

tjhandle decompressor() { return decompressor_slot().get(); }

// After a failed decode TurboJPEG 2.1 can leave the handle unusable for the next stream
// (later headers fail to parse): start the thread over with a fresh handle.
void reset_decompressor() { decompressor_slot().reset(tjInitDecompress()); }

}  // namespace

bool looks_like_jpeg(const uint8_t* data, size_t size) {
  return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

std::string encode_rgb(const uint8_t* rgb, int width, int height, int quality) {
  tjhandle h = compressor();
  unsigned char* out = nullptr;
  unsigned long out_size = 0;
  if (tjCompress2(h, rgb, width, 0, height, TJPF_RGB, &out, &out_size, TJSAMP_444, quality, 0) !=
      0) {
    const std::string msg = tjGetErrorStr2(h);
    tjFree(out);
    throw UserError("JPEG encode failed: " + msg);
  }
  std::string s(reinterpret_cast<const char*>(out), out_size);
  tjFree(out);
  return s;
}

bool read_header(const uint8_t* data, size_t size, int* width, int* height) {
  if (!looks_like_jpeg(data, size)) return false;
  int subsamp = 0, colorspace = 0;
  return tjDecompressHeader3(decompressor(), data, size, width, height, &subsamp, &colorspace) == 0;
}

Image decode_rgb(const uint8_t* data, size_t size, const std::string& context) {
  Image img;
  if (!read_header(data, size, &img.width, &img.height)) {
    throw UserError(context + ": not a readable JPEG");
  }
  img.rgb.resize(static_cast<size_t>(img.width) * img.height * 3);
  decode_rgb_into(data, size, img.width, img.height, img.rgb.data(), context);
  return img;
}

void decode_rgb_into(const uint8_t* data, size_t size, int width, int height, uint8_t* out,
                     const std::string& context) {
  int w = 0, h = 0;
  if (!read_header(data, size, &w, &h)) throw UserError(context + ": not a readable JPEG");
  if (w != width || h != height) {
    throw UserError(context + ": JPEG is " + std::to_string(w) + "x" + std::to_string(h) +
                    ", expected " + std::to_string(width) + "x" + std::to_string(height));
  }
  tjhandle d = decompressor();
  // Any warning (e.g. premature end of data) is an error: truncated frames must not pass.
  if (tjDecompress2(d, data, size, out, width, 0, height, TJPF_RGB, TJFLAG_STOPONWARNING) != 0) {
    const std::string msg = tjGetErrorStr2(d);
    reset_decompressor();
    throw UserError(context + ": corrupt or truncated JPEG (" + msg + ")");
  }
}

}  // namespace hesp::data::jpeg
