// Text cleaning against python: every expected string below was computed with python
// 3.11's html.unescape and with CLIP's basic_clean / whitespace_clean / lower (python `regex`
// module for \s), not with this code. Non-ASCII bytes are written as octal escapes.
#include <gtest/gtest.h>

#include "clip/tokenizer/text_cleaning.h"
#include "clip/tokenizer/utf8.h"
#include "util/errors.h"

namespace hesp::clip {
namespace {

struct Case {
  const char* input;
  const char* expected;
};

std::string unescape_utf8(const std::string& text) {
  return u32_to_utf8(html_unescape(utf8_to_u32(text, "test input")));
}

std::string clean_utf8(const std::string& text) {
  return u32_to_utf8(clean_text(utf8_to_u32(text, "test input")));
}

// Named references with and without ';', the longest-prefix rule for legacy names, the
// 32-character name limit, numeric references with the HTML5 replacement table, surrogates,
// out-of-range and invalid code points, and non-references left alone.
TEST(HtmlUnescape, MatchesPythonHtmlUnescape) {
  const Case cases[] = {
      {"&amp;", "&"},
      {"&amp", "&"},
      {"&ampx", "&x"},
      {"&amp;amp;", "&amp;"},
      {"&notit;", "\302\254it;"},
      {"&notin;", "\342\210\211"},
      {"&not", "\302\254"},
      {"&#39;", "'"},
      {"&#x27;", "'"},
      {"&#X27", "'"},
      {"&#0;", "\357\277\275"},
      {"&#128;", "\342\202\254"},
      {"&#x81;", "\302\201"},
      {"&#1;", ""},
      {"&#xD800;", "\357\277\275"},
      {"&#1114112;", "\357\277\275"},
      {"&#99999999999999999999;", "\357\277\275"},
      {"&#xFFFE;", ""},
      {"&#x10FFFF;", ""},
      {"&#;", "&#;"},
      {"&#x;", "&#x;"},
      {"&#xg", "&#xg"},
      {"&bogus;", "&bogus;"},
      {"& amp;", "& amp;"},
      {"&&amp;", "&&"},
      {"&Eacute", "\303\211"},
      {"&eacute;x", "\303\251x"},
      {"&lt;&gt;", "<>"},
      {"&acE;", "\342\210\276\314\263"},
      {"&#13;", "\015"},
      {"&#65", "A"},
      {"&#x41g", "Ag"},
      {"&#12ab", "\014ab"},
      {"&ltx;", "<x;"},
      {"&lt\303\251;", "<\303\251;"},
      {"&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;", "&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;"},
      {"&ampbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "&bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
      {"&\303\251acute;", "&\303\251acute;"},
      {"a&\015b", "a&\015b"},
      {"&#65;&#66;", "AB"},
      {"&Aacute;&aacute", "\303\201\303\241"},
      {"&NotNestedGreaterGreater;", "\342\252\242\314\270"},
      {"&nbsp;&nbsp;x", "\302\240\302\240x"},
      {"&#x1F600;", "\360\237\230\200"},
      {"&#128512", "\360\237\230\200"},
      {"&#xFDD0;", ""},
      {"&#x8D;", "\302\215"},
      {"&#159;", "\305\270"},
      {"&#11;", ""},
      {"&#12;", "\014"},
      {"no entity", "no entity"},
      {"&", "&"},
      {"&;", "&;"},
      {"&#", "&#"},
      {"&eacut", "&eacut"},
      {"&ec", "&ec"},
      {"&gtx", ">x"},
      {"&GT", ">"},
      {"&Gt;", "\342\211\253"},
      {"&gt;;", ">;"},
  };
  for (const Case& c : cases) EXPECT_EQ(unescape_utf8(c.input), c.expected) << c.input;
}

TEST(HtmlUnescape, EveryTableEntryDecodes) {
  // Spot checks of the generated table: a two-code-point value, a legacy name without ';',
  // an astral value.
  EXPECT_EQ(unescape_utf8("&bne;"), "=\u20e5");
  EXPECT_EQ(unescape_utf8("&yuml"), "\u00ff");
  EXPECT_EQ(unescape_utf8("&Afr;"), "\U0001d504");
}

// Unescape twice, strip, collapse Unicode whitespace, lowercase. Shows the two notions of
// whitespace (U+001C..U+001F are stripped at the ends but not collapsed inside) and python's
// full lowercase (dotted capital I, final sigma).
TEST(TextCleaning, MatchesTheReferenceCleaning) {
  const Case cases[] = {
      {"  Hello\343\200\200\343\200\200World \012", "hello world"},
      {"a\034b", "a\034b"},
      {"\034a b\037", "a b"},
      {"a\302\205\302\240\342\200\250b", "a b"},
      {"\342\200\213a\342\200\213", "\342\200\213a\342\200\213"},
      {"\341\240\216 x", "\341\240\216 x"},
      {"&amp;lt;b&amp;gt;", "<b>"},
      {"&amp;amp;amp;", "&amp;"},
      {"&nbsp;x&nbsp;", "x"},
      {"\304\260STANBUL", "i\314\207stanbul"},
      {"\316\237\316\224\316\237\316\243 \316\243\316\237\316\246\316\237\316\243",
       "\316\277\316\264\316\277\317\202 \317\203\316\277\317\206\316\277\317\202"},
      {"\316\243\316\221 \316\243.", "\317\203\316\261 \317\203."},
      {"\341\272\236 \303\237", "\303\237 \303\237"},
      {"\307\205 \307\204", "\307\206 \307\206"},
      {"K \303\205 \316\251", "k \303\245 \317\211"},
      {"\011&#x20;a&#9;b&#10;", "a b"},
      {"A&#x3000;B", "a b"},
      {"a\015b\013c\014d", "a b c d"},
  };
  for (const Case& c : cases) EXPECT_EQ(clean_utf8(c.input), c.expected) << c.input;
}

TEST(TextCleaning, WhitespaceSets) {
  for (char32_t c : {U'\t', U'\n', U'\v', U'\f', U'\r', U' ', U'\u0085', U'\u00a0', U'\u1680',
                     U'\u2000', U'\u200a', U'\u2028', U'\u2029', U'\u202f', U'\u205f', U'\u3000'}) {
    EXPECT_TRUE(is_regex_space(c)) << static_cast<uint32_t>(c);
    EXPECT_TRUE(is_python_space(c)) << static_cast<uint32_t>(c);
  }
  for (char32_t c : {U'\x1c', U'\x1d', U'\x1e', U'\x1f'}) {
    EXPECT_FALSE(is_regex_space(c));
    EXPECT_TRUE(is_python_space(c));
  }
  for (char32_t c : {U'\u200b', U'\u180e', U'\ufeff', U'a', U'_'}) {
    EXPECT_FALSE(is_regex_space(c));
    EXPECT_FALSE(is_python_space(c));
  }
}

TEST(Utf8, RoundTripsAndRejectsMalformedInput) {
  const std::string text = "a\u00e9\u20ac\U0001f602";
  const std::u32string cps = utf8_to_u32(text, "t");
  EXPECT_EQ(cps, (std::u32string{U'a', U'\u00e9', U'\u20ac', U'\U0001f602'}));
  EXPECT_EQ(u32_to_utf8(cps), text);
  for (const char* bad :
       {"\xff", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\x80"}) {
    EXPECT_THROW(utf8_to_u32(bad, "t"), UserError) << bad;
  }
  try {
    utf8_to_u32("ab\xff", "the caption");
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("the caption"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("byte 2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hesp::clip
