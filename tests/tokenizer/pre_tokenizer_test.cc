// The hand-written pre-tokenizer against python's `regex` module: every expected list below
// is regex.findall of CLIP's pattern (IGNORECASE) on the input, computed in python.
#include <gtest/gtest.h>

#include <vector>

#include "clip/tokenizer/pre_tokenizer.h"
#include "clip/tokenizer/utf8.h"

namespace hesp::clip {
namespace {

struct Case {
  const char* input;
  std::vector<std::string> expected;
};

std::vector<std::string> split_utf8(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& piece : split_pieces(utf8_to_u32(text, "test input"))) {
    out.push_back(u32_to_utf8(piece));
  }
  return out;
}

// First alternative wins (so "!<|endoftext|>" is not a special token), contractions only
// from the list, one piece per digit, U+0345 dropped, long s matching 's' under IGNORECASE,
// combining marks as punctuation.
TEST(PreTokenizer, MatchesRegexFindall) {
  const Case cases[] = {
      {"hello world", {"hello", "world"}},
      {"don't", {"don", "'t"}},
      {"'s's", {"'s", "'s"}},
      {"''s", {"''", "s"}},
      {"!!'s", {"!!'", "s"}},
      {"I'd've", {"I", "'d", "'ve"}},
      {"'x", {"'", "x"}},
      {"x'", {"x", "'"}},
      {"rock'n'roll", {"rock", "'", "n", "'", "roll"}},
      {"2024", {"2", "0", "2", "4"}},
      {"\331\243\331\244\331\245 \342\205\253 \302\275\302\262",
       {"\331\243", "\331\244", "\331\245", "\342\205\253", "\302\275", "\302\262"}},
      {"<|startoftext|>a<|endoftext|>", {"<|startoftext|>", "a", "<|endoftext|>"}},
      {"!<|endoftext|>", {"!<|", "endoftext", "|>"}},
      {"<|\305\277tartoftext|>", {"<|\305\277tartoftext|>"}},
      {"'\305\277", {"'\305\277"}},
      {"a\315\205b", {"a", "b"}},
      {"!\315\205?", {"!", "?"}},
      {"i\314\207stanbul", {"i", "\314\207", "stanbul"}},
      {"a_b-c", {"a", "_", "b", "-", "c"}},
      {"\360\237\230\202\360\237\230\202 lol", {"\360\237\230\202\360\237\230\202", "lol"}},
      {"a\034b", {"a", "\034", "b"}},
      {"x<|endof", {"x", "<|", "endof"}},
      {"can't", {"can", "'t"}},
      {"'ll", {"'ll"}},
      {"'lL", {"'lL"}},
      {"'re'", {"'re", "'"}},
      {"3.14", {"3", ".", "1", "4"}},
      {"a1b2", {"a", "1", "b", "2"}},
      {"\314\200a", {"\314\200", "a"}},
      {"ab\314\200c", {"ab", "\314\200", "c"}},
  };
  for (const Case& c : cases) EXPECT_EQ(split_utf8(c.input), c.expected) << c.input;
}

TEST(PreTokenizer, WhitespaceOnlyGivesNoPieces) {
  EXPECT_TRUE(split_utf8("").empty());
  EXPECT_TRUE(split_utf8(" \u3000 ").empty());
}

}  // namespace
}  // namespace hesp::clip
