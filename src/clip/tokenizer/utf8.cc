#include "clip/tokenizer/utf8.h"

#include <glog/logging.h>

#include "util/errors.h"

namespace hesp::clip {
namespace {

// Length of the UTF-8 sequence that starts with `lead`, 0 when `lead` cannot start one.
int sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Length of the longest prefix of `text` that is valid UTF-8 and ends on a character boundary.
size_t valid_prefix_bytes(std::string_view text, size_t max_chars) {
  size_t i = 0;
  for (size_t chars = 0; i < text.size() && chars < max_chars; ++chars) {
    const int n = sequence_length(static_cast<unsigned char>(text[i]));
    if (n == 0 || i + n > text.size()) break;
    i += n;
  }
  return i;
}

}  // namespace

std::u32string utf8_to_u32(std::string_view text, std::string_view what) {
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const int n = sequence_length(lead);
    bool ok = n != 0 && i + n <= text.size();
    char32_t cp = 0;
    if (ok) {
      cp = n == 1 ? lead : n == 2 ? (lead & 0x1F) : n == 3 ? (lead & 0x0F) : (lead & 0x07);
      for (int k = 1; k < n && ok; ++k) {
        const auto c = static_cast<unsigned char>(text[i + k]);
        ok = (c & 0xC0) == 0x80;
        cp = (cp << 6) | (c & 0x3F);
      }
      // Reject overlong 3/4-byte forms, surrogates and values past U+10FFFF.
      ok = ok && !(n == 3 && cp < 0x800) && !(n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) &&
           !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (!ok) {
      throw UserError("invalid UTF-8 at byte " + std::to_string(i) + " of " + std::string(what));
    }
    out.push_back(cp);
    i += n;
  }
  return out;
}

void append_utf8(char32_t cp, std::string* out) {
  CHECK(cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) << "not a scalar value: " << cp;
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string u32_to_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) append_utf8(cp, &out);
  return out;
}

std::string shorten_for_message(std::string_view text, size_t max_chars) {
  const size_t keep = valid_prefix_bytes(text, max_chars);
  std::string out = "\"" + std::string(text.substr(0, keep));
  out += keep < text.size() ? "...\"" : "\"";
  return out;
}

}  // namespace hesp::clip
