#include "text_lines.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "util/errors.h"

namespace hesp::pack {
namespace {

void append_utf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// UTF-16 (after its byte-order mark) to UTF-8; an unpaired surrogate is an error.
std::string utf16_to_utf8(const std::string& bytes, size_t start, bool big_endian,
                          const std::string& what) {
  if ((bytes.size() - start) % 2 != 0) {
    throw UserError(what + ": UTF-16 text with an odd number of bytes (truncated file)");
  }
  std::string out;
  out.reserve(bytes.size() / 2);
  auto unit = [&](size_t i) {
    const auto a = static_cast<uint8_t>(bytes[i]), b = static_cast<uint8_t>(bytes[i + 1]);
    return static_cast<uint32_t>(big_endian ? (a << 8) | b : (b << 8) | a);
  };
  for (size_t i = start; i < bytes.size(); i += 2) {
    uint32_t cp = unit(i);
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < bytes.size()) {
      const uint32_t lo = unit(i + 2);
      if (lo >= 0xDC00 && lo <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        i += 2;
      }
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      throw UserError(what + ": UTF-16 text with an unpaired surrogate at byte " +
                      std::to_string(i) + "; save it as UTF-8");
    }
    append_utf8(cp, &out);
  }
  return out;
}

// Decodes the file's bytes to UTF-8 (or leaves them as they are), per the header comment.
std::string decode_text(const std::string& bytes, const std::string& what) {
  auto starts = [&](const char* p, size_t n) { return bytes.compare(0, n, p, n) == 0; };
  if (bytes.size() >= 4 && (starts("\xFF\xFE\x00\x00", 4) || starts("\x00\x00\xFE\xFF", 4))) {
    throw UserError(what + " is UTF-32 text; save it as UTF-8 (or UTF-16)");
  }
  if (bytes.size() >= 2 && starts("\xFF\xFE", 2)) return utf16_to_utf8(bytes, 2, false, what);
  if (bytes.size() >= 2 && starts("\xFE\xFF", 2)) return utf16_to_utf8(bytes, 2, true, what);
  const size_t start = bytes.size() >= 3 && starts("\xEF\xBB\xBF", 3) ? 3 : 0;
  const size_t nul = bytes.find('\0', start);
  if (nul != std::string::npos) {
    // UTF-16 without a byte-order mark: ASCII text with every other byte zero.
    const bool utf16 = bytes.size() >= 4 && (bytes[0] == '\0') != (bytes[1] == '\0');
    throw UserError(
        what +
        (utf16 ? " looks like UTF-16 text without a byte-order mark"
               : " holds NUL bytes at byte " + std::to_string(nul) + " (not a text file)") +
        "; save it as UTF-8");
  }
  return start == 0 ? bytes : bytes.substr(start);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void trim_blanks(std::string* s) {
  size_t b = 0, e = s->size();
  while (b < e && ((*s)[b] == ' ' || (*s)[b] == '\t')) ++b;
  while (e > b && ((*s)[e - 1] == ' ' || (*s)[e - 1] == '\t')) --e;
  *s = s->substr(b, e - b);
}

}  // namespace

std::vector<TextLine> text_lines_from_bytes(const std::string& bytes, const std::string& what) {
  const std::string text = decode_text(bytes, what);
  std::vector<TextLine> lines;
  int number = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = i;
    while (end < text.size() && text[end] != '\n' && text[end] != '\r') ++end;
    ++number;
    std::string line = text.substr(i, end - i);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\f' ||
                             line.back() == '\v')) {
      line.pop_back();
    }
    size_t first = 0;
    while (first < line.size() && (line[first] == ' ' || line[first] == '\t')) ++first;
    if (first < line.size()) lines.push_back({number, line});
    if (end < text.size() && text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') {
      ++end;
    }
    i = end + 1;
  }
  return lines;
}

std::vector<TextLine> read_text_lines(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError("cannot open " + what + " " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  return text_lines_from_bytes(buf.str(), what + " " + path);
}

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == ' ' || c == '\t') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string leading_fields_text(const std::string& line, size_t count) {
  size_t i = 0, seen = 0, begin = std::string::npos, end = 0;
  while (i < line.size() && seen < count) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    if (begin == std::string::npos) begin = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    end = i;
    ++seen;
  }
  return begin == std::string::npos ? "" : line.substr(begin, end - begin);
}

std::vector<std::string> split_csv(const std::string& line) {
  char sep = ',';
  if (line.find(',') == std::string::npos) {
    if (line.find('\t') != std::string::npos) {
      sep = '\t';
    } else if (line.find(';') != std::string::npos) {
      sep = ';';
    }
  }
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"' && (cur.find_first_not_of(" \t") == std::string::npos)) {
      cur.clear();
      quoted = was_quoted = true;
    } else if (c == sep) {
      if (!was_quoted) trim_blanks(&cur);
      out.push_back(cur);
      cur.clear();
      was_quoted = false;
    } else if (!(was_quoted && (c == ' ' || c == '\t'))) {
      cur += c;
    }
  }
  if (!was_quoted) trim_blanks(&cur);
  out.push_back(cur);
  // A trailing separator ("a,b,") leaves an empty last field: drop empty trailing fields.
  while (out.size() > 1 && out.back().empty()) out.pop_back();
  if (out.size() == 1 && out[0].empty()) out.clear();
  return out;
}

bool is_header_row(const std::vector<std::string>& fields) {
  static const std::set<std::string> kNames = {
      "path",  "video_name", "video",  "video_path", "clip",       "clip_id",   "clip_path",
      "id",    "name",       "file",   "filename",   "file_name",  "frame_dir", "folder",
      "dir",   "label",      "labels", "class",      "class_name", "emotion",   "expression",
      "split", "subset",     "frames", "num_frames", "n_frames",   "category"};
  // Only the first two columns: later ones may be free text (MAFW captions).
  for (size_t i = 0; i < fields.size() && i < 2; ++i) {
    if (kNames.count(lower(fields[i]))) return true;
  }
  return false;
}

namespace {

// Length of the valid UTF-8 sequence starting at p[i] (1 for ASCII), 0 when invalid.
size_t utf8_sequence(const unsigned char* p, size_t n, size_t i) {
  const unsigned char c = p[i];
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > n) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((p[i + k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i + k] & 0x3F);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

}  // namespace

bool is_valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    const size_t len = utf8_sequence(p, s.size(), i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string printable(const std::string& bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::string out;
  for (size_t i = 0; i < bytes.size();) {
    const size_t len = utf8_sequence(p, bytes.size(), i);
    if (len == 0 || p[i] < 0x20 || p[i] == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02X", p[i]);
      out += buf;
      ++i;
    } else {
      out.append(bytes, i, len);
      i += len;
    }
  }
  return out;
}

bool parse_int(const std::string& s, int* out) {
  if (s.empty()) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  long long v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
    if (v > 1000000000LL) return false;
  }
  *out = static_cast<int>(s[0] == '-' ? -v : v);
  return true;
}

}  // namespace hesp::pack
