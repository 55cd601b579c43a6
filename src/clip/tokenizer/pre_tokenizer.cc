#include "clip/tokenizer/pre_tokenizer.h"

#include <unicode/uchar.h>

#include "clip/tokenizer/text_cleaning.h"

namespace hesp::clip {
namespace {

bool is_letter(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_L_MASK) != 0; }

bool is_number(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0; }

// U+0345 COMBINING GREEK YPOGEGRAMMENI is a mark, but its simple case folding is the
// letter U+03B9. Under IGNORECASE `regex` tests a negated class against every case variant,
// so [^\s\p{L}\p{N}] rejects it, while [\p{L}] does not accept it either: python's findall
// drops it like whitespace. (Checked over every code point; it is the only such character.)
constexpr char32_t kYpogegrammeni = 0x0345;

bool is_other(char32_t c) {
  return !is_regex_space(c) && !is_letter(c) && !is_number(c) && c != kYpogegrammeni;
}

// One character of a literal alternative under IGNORECASE (simple case folding). Only the
// ASCII letters of the literals below occur; of these only 's' has a non-ASCII variant,
// U+017F LATIN SMALL LETTER LONG S.
bool matches_ignore_case(char32_t c, char lower_ascii) {
  if (c == static_cast<char32_t>(lower_ascii)) return true;
  if (lower_ascii >= 'a' && lower_ascii <= 'z') {
    if (c == static_cast<char32_t>(lower_ascii - 'a' + 'A')) return true;
    if (lower_ascii == 's' && c == 0x017F) return true;
  }
  return false;
}

// Length of `literal` if text[pos..] starts with it (ignoring case), else 0.
size_t match_literal(const std::u32string& text, size_t pos, const char* literal) {
  size_t k = 0;
  for (; literal[k] != '\0'; ++k) {
    if (pos + k >= text.size() || !matches_ignore_case(text[pos + k], literal[k])) return 0;
  }
  return k;
}

// The literal alternatives, in the reference's order.
constexpr const char* kLiterals[] = {
    "<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};

}  // namespace

std::vector<std::u32string> split_pieces(const std::u32string& text) {
  std::vector<std::u32string> pieces;
  size_t pos = 0;
  const size_t n = text.size();
  while (pos < n) {
    size_t len = 0;
    for (const char* literal : kLiterals) {
      if ((len = match_literal(text, pos, literal)) != 0) break;
    }
    if (len == 0) {
      const char32_t c = text[pos];
      if (is_letter(c)) {
        while (pos + len < n && is_letter(text[pos + len])) ++len;
      } else if (is_number(c)) {
        len = 1;
      } else if (is_other(c)) {
        while (pos + len < n && is_other(text[pos + len])) ++len;
      }
    }
    if (len == 0) {
      ++pos;  // No alternative matches here: findall moves on by one character.
      continue;
    }
    pieces.emplace_back(text, pos, len);
    pos += len;
  }
  return pieces;
}

}  // namespace hesp::clip
