#include "media/image_decode.h"

// clang-format off
#include <cstdio>  // jpeglib.h needs FILE and size_t first
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <cctype>
#include <csetjmp>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "util/errors.h"

namespace hesp::pack {
namespace {

// ---- JPEG through libjpeg ------------------------------------------------------------------
// libjpeg reports errors by calling error_exit, which must not return: it longjmps back into
// the helper below that set the jump. The helpers hold only plain C data, so no C++
// destructor is skipped by the jump.

enum class JpegFault { kNone, kTruncated, kCorrupt, kUnsupported };

struct JpegErrors {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  JpegFault fault;
  char message[JMSG_LENGTH_MAX];
};

bool benign_warning(int code) {
  switch (code) {
    case JWRN_EXTRANEOUS_DATA:  // Stray bytes before a marker: the image data is whole.
    case JWRN_JFIF_MAJOR:       // Unknown JFIF revision.
    case JWRN_ADOBE_XFORM:      // Unknown Adobe transform code (read as the colour space says).
    case JWRN_BOGUS_ICC:        // A broken ICC profile (we do not use it).
      return true;
    default:
      return false;
  }
}

void on_error_exit(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  const int code = cinfo->err->msg_code;
  e->fault = (code == JERR_CONVERSION_NOTIMPL || code == JERR_NOT_COMPILED ||
              code == JERR_BAD_J_COLORSPACE || code == JERR_NOTIMPL)
                 ? JpegFault::kUnsupported
                 : JpegFault::kCorrupt;
  std::longjmp(e->jump, 1);
}

void on_emit_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // Trace messages.
  const int code = cinfo->err->msg_code;
  if (benign_warning(code)) return;
  auto* e = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  e->fault = code == JWRN_JPEG_EOF ? JpegFault::kTruncated : JpegFault::kCorrupt;
  std::longjmp(e->jump, 1);
}

// Reads the header and starts decompression; false on a fault (set in err).
bool jpeg_start(jpeg_decompress_struct* cinfo, const uint8_t* data, size_t size, bool* cmyk) {
  auto* e = reinterpret_cast<JpegErrors*>(cinfo->err);
  if (setjmp(e->jump)) return false;
  jpeg_mem_src(cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(cinfo, TRUE);
  *cmyk = cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK;
  cinfo->out_color_space = *cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_calc_output_dimensions(cinfo);
  return true;
}

bool jpeg_begin(jpeg_decompress_struct* cinfo) {
  auto* e = reinterpret_cast<JpegErrors*>(cinfo->err);
  if (setjmp(e->jump)) return false;
  jpeg_start_decompress(cinfo);
  return true;
}

// Decodes every scanline into `out` (RGB) using `row` (width*4 bytes) for CMYK.
bool jpeg_rows(jpeg_decompress_struct* cinfo, bool cmyk, bool inverted, uint8_t* out,
               uint8_t* row) {
  auto* e = reinterpret_cast<JpegErrors*>(cinfo->err);
  if (setjmp(e->jump)) return false;
  const JDIMENSION w = cinfo->output_width;
  while (cinfo->output_scanline < cinfo->output_height) {
    uint8_t* dst = out + static_cast<size_t>(cinfo->output_scanline) * w * 3;
    JSAMPROW rows[1] = {cmyk ? row : dst};
    if (jpeg_read_scanlines(cinfo, rows, 1) != 1) {
      e->fault = JpegFault::kTruncated;
      std::snprintf(e->message, sizeof(e->message), "no data for scanline %u",
                    cinfo->output_scanline);
      return false;
    }
    if (cmyk) {
      for (JDIMENSION x = 0; x < w; ++x) {
        const unsigned c = row[4 * x], m = row[4 * x + 1], y = row[4 * x + 2], k = row[4 * x + 3];
        if (inverted) {
          dst[3 * x] = static_cast<uint8_t>((c * k + 127) / 255);
          dst[3 * x + 1] = static_cast<uint8_t>((m * k + 127) / 255);
          dst[3 * x + 2] = static_cast<uint8_t>((y * k + 127) / 255);
        } else {
          dst[3 * x] = static_cast<uint8_t>(((255 - c) * (255 - k) + 127) / 255);
          dst[3 * x + 1] = static_cast<uint8_t>(((255 - m) * (255 - k) + 127) / 255);
          dst[3 * x + 2] = static_cast<uint8_t>(((255 - y) * (255 - k) + 127) / 255);
        }
      }
    }
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

struct DecompressGuard {
  jpeg_decompress_struct* cinfo;
  ~DecompressGuard() { jpeg_destroy_decompress(cinfo); }
};

[[noreturn]] void jpeg_fail(const JpegErrors& e, const std::string& name) {
  const char* kind = e.fault == JpegFault::kTruncated     ? "truncated JPEG"
                     : e.fault == JpegFault::kUnsupported ? "unsupported JPEG"
                                                          : "corrupt JPEG";
  throw UserError(name + ": " + kind + ": " + e.message);
}

DecodedImage decode_jpeg(const std::string& bytes, const std::string& name) {
  jpeg_decompress_struct cinfo;
  JpegErrors err;
  std::memset(&err, 0, sizeof(err));
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error_exit;
  err.pub.emit_message = on_emit_message;
  jpeg_create_decompress(&cinfo);
  DecompressGuard guard{&cinfo};
  bool cmyk = false;
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  if (!jpeg_start(&cinfo, data, bytes.size(), &cmyk)) jpeg_fail(err, name);
  const int64_t pixels = int64_t{cinfo.output_width} * cinfo.output_height;
  if (pixels > kMaxImagePixels) {
    throw UserError(name + ": image too large: " + std::to_string(cinfo.output_width) + "x" +
                    std::to_string(cinfo.output_height));
  }
  DecodedImage img;
  img.width = static_cast<int>(cinfo.output_width);
  img.height = static_cast<int>(cinfo.output_height);
  img.rgb.resize(static_cast<size_t>(pixels) * 3);
  std::vector<uint8_t> row(cmyk ? static_cast<size_t>(img.width) * 4 : 0);
  const bool inverted = cinfo.saw_Adobe_marker;
  if (!jpeg_begin(&cinfo) || !jpeg_rows(&cinfo, cmyk, inverted, img.rgb.data(), row.data())) {
    jpeg_fail(err, name);
  }
  return img;
}

// ---- PNG: chunk walk, then OpenCV ----------------------------------------------------------

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Throws when the chunk sequence runs past the end before IEND (truncated) or is malformed.
void check_png_chunks(const std::string& bytes, const std::string& name) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t at = 8;
  bool seen_idat = false;
  while (true) {
    if (at + 8 > bytes.size()) {
      throw UserError(name + ": truncated PNG: file ends at byte " + std::to_string(bytes.size()) +
                      " before its IEND chunk");
    }
    const uint32_t len = be32(p + at);
    const std::string type(reinterpret_cast<const char*>(p + at + 4), 4);
    for (char c : type) {
      if (!std::isalpha(static_cast<unsigned char>(c))) {
        throw UserError(name + ": corrupt PNG: bad chunk type at byte " + std::to_string(at));
      }
    }
    if (len > 0x7FFFFFFFu || at + 12 + len > bytes.size()) {
      throw UserError(name + ": truncated PNG: chunk " + type + " at byte " + std::to_string(at) +
                      " needs " + std::to_string(len) + " bytes, the file ends at byte " +
                      std::to_string(bytes.size()));
    }
    if (type == "IDAT") seen_idat = true;
    if (type == "IEND") {
      if (!seen_idat) throw UserError(name + ": corrupt PNG: no IDAT chunk before IEND");
      return;  // Bytes after IEND are ignored, as every decoder does.
    }
    at += 12 + len;
  }
}

DecodedImage decode_with_opencv(const std::string& bytes, const std::string& name, bool png) {
  if (png) check_png_chunks(bytes, name);
  cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
  cv::Mat bgr;
  try {
    bgr = cv::imdecode(buf, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    throw UserError(name + (png ? ": corrupt PNG: " : ": unreadable image: ") + e.what());
  }
  if (bgr.empty()) {
    throw UserError(name + (png ? ": corrupt PNG: libpng cannot decode it"
                                : ": unreadable image: no decoder reads it"));
  }
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  DecodedImage img;
  img.width = rgb.cols;
  img.height = rgb.rows;
  img.rgb.assign(rgb.data, rgb.data + rgb.total() * 3);
  return img;
}

}  // namespace

DecodedImage decode_image_bytes(const std::string& bytes, const std::string& name) {
  if (bytes.empty()) throw UserError(name + ": empty image file");
  const auto* d = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() >= 2 && d[0] == 0xFF && d[1] == 0xD8) return decode_jpeg(bytes, name);
  const bool png = bytes.size() >= 8 && std::memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0;
  return decode_with_opencv(bytes, name, png);
}

}  // namespace hesp::pack
