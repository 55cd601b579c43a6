#pragma once
// Annotation files in the wild are not always UTF-8 (MAFW's caption files are GBK or
// latin-1). Lines are read as raw bytes and split on ASCII whitespace or commas only, so
// any byte sequence is safe; fields we use (ids, labels, numbers) are ASCII.
#include <string>
#include <vector>

namespace hesp::pack {

// Lines of a file without trailing "\r"; throws UserError naming the file when missing.
std::vector<std::string> read_lines(const std::string& path);

// Splits on runs of ASCII spaces/tabs (and commas when `commas`); never fails on bytes.
std::vector<std::string> split_fields(const std::string& line, bool commas = false);

// Bytes >= 0x80 replaced by "\xNN" escapes, so a detail column stays printable.
std::string printable(const std::string& bytes);

bool parse_int(const std::string& s, int* out);

}  // namespace hesp::pack
