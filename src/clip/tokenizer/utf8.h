#pragma once
// UTF-8 <-> code points. The tokenizer works on code points because the reference (python)
// counts characters, not bytes: HTML entity names are at most 32 characters, and the
// pre-tokenizer classifies characters.
#include <string>
#include <string_view>

namespace hesp::clip {

// Decodes strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). Throws
// UserError naming `what` (e.g. the text, shortened) on malformed input.
std::u32string utf8_to_u32(std::string_view text, std::string_view what);

// Appends the UTF-8 encoding of one code point (which must be a Unicode scalar value).
void append_utf8(char32_t cp, std::string* out);
std::string u32_to_utf8(std::u32string_view text);

// `text` cut to at most `max_chars` code points with "..." appended when cut, for messages.
std::string shorten_for_message(std::string_view text, size_t max_chars = 60);

}  // namespace hesp::clip
