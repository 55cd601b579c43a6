#pragma once
// CLIP's text normalisation before BPE, reproduced from the reference tokenizer:
//   text = whitespace_clean(basic_clean(text)).lower()
//   basic_clean(t)      = html.unescape(html.unescape(t)).strip()
//   whitespace_clean(t) = regex.sub(r'\s+', ' ', t).strip()
// (ftfy.fix_text is not reproduced; the goldens clean identically with and without it.)
//
// Two notions of whitespace meet here, exactly as in the reference: str.strip() uses python's
// str.isspace() (which also counts U+001C..U+001F), while `\s` of the `regex` module is the
// Unicode White_Space property (which does not). So "a\x1cb" keeps its U+001C.
#include <string>

namespace hesp::clip {

// python's str.isspace() for one character.
bool is_python_space(char32_t c);
// The `regex` module's \s: Unicode White_Space.
bool is_regex_space(char32_t c);

// python's html.unescape (HTML5 rules): named references from the HTML5 table (longest
// prefix without ';' for legacy names), decimal/hex references with the HTML5 replacement
// table, U+FFFD for surrogates and values past U+10FFFF, nothing for invalid code points.
std::u32string html_unescape(const std::u32string& text);

// str.strip() with python's whitespace.
std::u32string python_strip(const std::u32string& text);

// regex.sub(r'\s+', ' ', text).strip()
std::u32string whitespace_clean(const std::u32string& text);

// python's str.lower(): full Unicode lowercase (İ -> i + U+0307, final sigma), via ICU.
std::u32string python_lower(const std::u32string& text);

// The whole pipeline above on code points.
std::u32string clean_text(const std::u32string& text);

}  // namespace hesp::clip
