#pragma once
// The one reader of every text input of hesp-pack (reference lists, CSVs, MAFW label and
// split files, --class-map files): copies made by spreadsheet programs and other operating
// systems must read the same as clean ones (docs/datasets.md, "Text inputs").
//
// Accepted: UTF-8 with or without a byte-order mark, UTF-16 LE/BE with a byte-order mark
// (converted to UTF-8), line ends \n, \r\n or \r, trailing spaces/tabs, blank lines.
// Refused with a UserError naming the file and the encoding: UTF-32, UTF-16 without a
// byte-order mark, NUL bytes. Bytes that are not UTF-8 (MAFW's GBK/latin-1 captions) are
// kept as they are: lines are split on ASCII separators only, so any byte sequence is safe.
#include <set>
#include <string>
#include <vector>

namespace hesp::pack {

struct TextLine {
  int number = 0;    // 1-based line number in the file (blank lines count).
  std::string text;  // Without line end and trailing blanks; never empty.
};

// Non-blank lines of a text input; `what` names it in errors ("MAFW split file").
std::vector<TextLine> read_text_lines(const std::string& path, const std::string& what);

// Same, on bytes already in memory (tests, stdin-like inputs).
std::vector<TextLine> text_lines_from_bytes(const std::string& bytes, const std::string& what);

// Splits on runs of ASCII spaces/tabs; never fails on bytes.
std::vector<std::string> split_fields(const std::string& line);

// A CSV row: fields separated by ',' (or, in a line without ',', by tab or ';'), each
// trimmed of blanks; "double-quoted" fields may hold separators and "" for a quote.
std::vector<std::string> split_csv(const std::string& line);

// The text of the whitespace-separated fields [0, count) of `line` with their original
// spacing (a path with spaces that split_fields cut into several fields).
std::string leading_fields_text(const std::string& line, size_t count);

// True when the first row of a table is a header: its first or second field is a column name
// (path, video_name, label, class, split, ... compared case-insensitively).
bool is_header_row(const std::vector<std::string>& fields);

// True when `s` is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(const std::string& s);

// Control bytes and bytes that are not part of valid UTF-8 replaced by "\xNN" escapes, so
// a report column stays printable and valid UTF-8 (valid non-ASCII letters are kept).
std::string printable(const std::string& bytes);

bool parse_int(const std::string& s, int* out);

}  // namespace hesp::pack
