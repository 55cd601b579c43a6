// Every golden string of the reference tokenizer (OpenAI CLIP, PyTorch reference run) must
// give exactly its ids.
#include <gtest/gtest.h>

#include "tokenizer_test_util.h"

namespace hesp::clip {
namespace {

using testing::load_golden;
using testing::shipped_tokenizer;

TEST(TokenizerGolden, FileHasTheExpectedShape) {
  const auto golden = load_golden();
  EXPECT_EQ(golden.at("sot_token").get<int64_t>(), Tokenizer::kSotToken);
  EXPECT_EQ(golden.at("eot_token").get<int64_t>(), Tokenizer::kEotToken);
  EXPECT_EQ(golden.at("cases").size(), 263u);
  EXPECT_EQ(golden.at("num_cases").get<size_t>(), golden.at("cases").size());
}

TEST(TokenizerGolden, EveryCaseMatchesExactly) {
  const auto golden = load_golden();
  const Tokenizer& tokenizer = shipped_tokenizer();
  int mismatches = 0;
  for (const auto& c : golden.at("cases")) {
    const std::string text = c.at("text").get<std::string>();
    std::vector<int64_t> ids = tokenizer.encode(text);
    ids.insert(ids.begin(), Tokenizer::kSotToken);
    ids.push_back(Tokenizer::kEotToken);
    const auto expected = c.at("ids").get<std::vector<int64_t>>();
    EXPECT_EQ(ids, expected) << "category " << c.at("category") << ", text " << c.at("text");
    mismatches += ids != expected;
    EXPECT_EQ(static_cast<int64_t>(expected.size()), c.at("num_ids").get<int64_t>());
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(TokenizerGolden, LongCasesTruncateLikeTheReference) {
  const auto golden = load_golden();
  const Tokenizer& tokenizer = shipped_tokenizer();
  int long_cases = 0;
  for (const auto& c : golden.at("cases")) {
    if (!c.contains("ids_truncated_77")) continue;
    ++long_cases;
    const std::string text = c.at("text").get<std::string>();
    const auto expected = c.at("ids_truncated_77").get<std::vector<int64_t>>();
    EXPECT_EQ(tokenizer.encode_for_context(text, 77, /*truncate=*/true), expected) << text;
    EXPECT_THROW(tokenizer.encode_for_context(text, 77, /*truncate=*/false), UserError);
  }
  EXPECT_EQ(long_cases, 3);
}

// The batched tensor form: every golden in one call, rows zero padded.
TEST(TokenizerGolden, TensorRowsArePaddedGoldens) {
  const auto golden = load_golden();
  std::vector<std::string> texts;
  std::vector<std::vector<int64_t>> expected;
  for (const auto& c : golden.at("cases")) {
    texts.push_back(c.at("text").get<std::string>());
    expected.push_back(c.at(c.contains("ids_truncated_77") ? "ids_truncated_77" : "ids")
                           .get<std::vector<int64_t>>());
  }
  const torch::Tensor tokens = shipped_tokenizer().tokenize(texts, 77, /*truncate=*/true);
  ASSERT_EQ(tokens.scalar_type(), torch::kInt64);
  ASSERT_EQ(tokens.sizes(), (std::vector<int64_t>{static_cast<int64_t>(texts.size()), 77}));
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<int64_t> row(tokens[static_cast<int64_t>(i)].data_ptr<int64_t>(),
                             tokens[static_cast<int64_t>(i)].data_ptr<int64_t>() + 77);
    std::vector<int64_t> want = expected[i];
    want.resize(77, 0);
    EXPECT_EQ(row, want) << texts[i];
  }
}

}  // namespace
}  // namespace hesp::clip
