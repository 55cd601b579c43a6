#pragma once
// Decoding of source frames as other decoders read them (docs/datasets.md, "Images"):
//   - JPEG through libjpeg (libjpeg-turbo, the library under TurboJPEG, same DCT and
//     upsampling, so the pixels equal TurboJPEG's/PIL's): baseline, progressive, restart
//     markers, bytes after the end of image, grayscale (-> RGB), CMYK and YCCK (-> RGB,
//     Adobe-marked files read as inverted ink as Photoshop writes them and PIL and OpenCV
//     read them: R = C*K/255; files without the Adobe marker: R = (255-C)(255-K)/255).
//     libjpeg's harmless warnings (extraneous bytes before a marker, unknown JFIF
//     revision, unknown Adobe transform, bad ICC profile) are accepted; a warning that
//     means lost image data rejects the frame as truncated or corrupt.
//   - PNG through OpenCV (libpng) after walking its chunks, so a cut file is named
//     truncated and bytes after IEND are ignored; alpha is dropped, 16-bit keeps the high
//     byte, gray and palette become RGB.
//   - Anything else OpenCV reads (BMP, ...).
// Every failure throws UserError "<name>: <kind>: <why>" where kind is one of
// "truncated JPEG", "corrupt JPEG", "unsupported JPEG", "truncated PNG", "corrupt PNG",
// "unreadable image", "empty image file", "image too large".
#include <cstdint>
#include <string>
#include <vector>

namespace hesp::pack {

struct DecodedImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // height * width * 3, RGB HWC.
};

// Largest accepted image (pixels): a header claiming more is rejected before allocating.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 28;

DecodedImage decode_image_bytes(const std::string& bytes, const std::string& name);

}  // namespace hesp::pack
