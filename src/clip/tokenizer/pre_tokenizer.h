#pragma once
// CLIP's pre-tokenizer: the pieces that python's `regex` module finds with
//   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// compiled with IGNORECASE, scanned by hand. At each position the first alternative that
// matches wins (not the longest); characters no alternative matches (whitespace, and U+0345,
// see pre_tokenizer.cc) are skipped.
#include <string>
#include <vector>

namespace hesp::clip {

// Splits already-cleaned text (see text_cleaning.h) into pieces, in order.
std::vector<std::u32string> split_pieces(const std::u32string& cleaned);

}  // namespace hesp::clip
