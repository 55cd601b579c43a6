// Fitting ids into the model's context: padding, truncation, the too-long error, and that
// the cache and threads do not change results. Expected ids come from the golden file
// (reference tokenizer), e.g. "A PHOTO OF A HAPPY FACE" -> 49406 320 1125 539 320 900 1710 49407.
#include <gtest/gtest.h>

#include <thread>

#include "tokenizer_test_util.h"

namespace hesp::clip {
namespace {

using testing::shipped_tokenizer;

const std::vector<int64_t> kPhotoIds = {49406, 320, 1125, 539, 320, 900, 1710, 49407};
const char* const kPhotoText = "A PHOTO OF A HAPPY FACE";

std::vector<int64_t> row(const torch::Tensor& tokens, int64_t i) {
  const torch::Tensor r = tokens[i].contiguous();
  return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
}

TEST(TokenizerContext, RowsAreZeroPadded) {
  const torch::Tensor tokens = shipped_tokenizer().tokenize({kPhotoText, ""}, 12);
  ASSERT_EQ(tokens.sizes(), (std::vector<int64_t>{2, 12}));
  EXPECT_EQ(row(tokens, 0),
            (std::vector<int64_t>{49406, 320, 1125, 539, 320, 900, 1710, 49407, 0, 0, 0, 0}));
  EXPECT_EQ(row(tokens, 1), (std::vector<int64_t>{49406, 49407, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(shipped_tokenizer().tokenize({}, 77).sizes(), (std::vector<int64_t>{0, 77}));
}

TEST(TokenizerContext, ExactFitIsNotTruncated) {
  EXPECT_EQ(shipped_tokenizer().encode_for_context(kPhotoText, 8, false), kPhotoIds);
  EXPECT_EQ(shipped_tokenizer().encode_for_context(kPhotoText, 8, true), kPhotoIds);
}

TEST(TokenizerContext, TruncationKeepsEndOfText) {
  EXPECT_EQ(shipped_tokenizer().encode_for_context(kPhotoText, 7, true),
            (std::vector<int64_t>{49406, 320, 1125, 539, 320, 900, 49407}));
  EXPECT_EQ(shipped_tokenizer().encode_for_context(kPhotoText, 3, true),
            (std::vector<int64_t>{49406, 320, 49407}));
  const torch::Tensor tokens = shipped_tokenizer().tokenize({kPhotoText}, 4, true);
  EXPECT_EQ(row(tokens, 0), (std::vector<int64_t>{49406, 320, 1125, 49407}));
}

TEST(TokenizerContext, TooLongWithoutTruncateNamesTextAndLength) {
  try {
    shipped_tokenizer().tokenize({"happy", kPhotoText}, 7, false);
    FAIL() << "no error";
  } catch (const UserError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("A PHOTO OF A HAPPY FACE"), std::string::npos) << message;
    EXPECT_NE(message.find("context length 7"), std::string::npos) << message;
    EXPECT_NE(message.find("8 tokens"), std::string::npos) << message;
  }
  // A long text is shortened in the message.
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "happy ";
  try {
    shipped_tokenizer().encode_for_context(long_text, 77, false);
    FAIL() << "no error";
  } catch (const UserError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("\"happy happy"), std::string::npos) << message;
    EXPECT_NE(message.find("...\""), std::string::npos) << message;
    EXPECT_NE(message.find("102 tokens"), std::string::npos) << message;
    EXPECT_LT(message.size(), 200u) << message;
  }
}

TEST(TokenizerContext, NonPositiveContextIsAUserError) {
  EXPECT_THROW(shipped_tokenizer().tokenize({"happy"}, 0), UserError);
  EXPECT_THROW(shipped_tokenizer().encode_for_context("happy", -1, true), UserError);
}

TEST(TokenizerContext, SpecialTokenLiteralsAndInvalidUtf8) {
  EXPECT_EQ(shipped_tokenizer().encode("<|endoftext|>"), (std::vector<int64_t>{49407}));
  EXPECT_EQ(shipped_tokenizer().encode("<|STARTOFTEXT|>"), (std::vector<int64_t>{49406}));
  EXPECT_THROW(shipped_tokenizer().encode("bad \xff byte"), UserError);
}

// The cache is shared by threads: concurrent encodes must agree with the goldens.
TEST(TokenizerContext, ConcurrentEncodesAgree) {
  const auto golden = testing::load_golden();
  std::vector<std::pair<std::string, std::vector<int64_t>>> cases;
  for (const auto& c : golden.at("cases")) {
    auto ids = c.at("ids").get<std::vector<int64_t>>();
    cases.emplace_back(c.at("text").get<std::string>(),
                       std::vector<int64_t>(ids.begin() + 1, ids.end() - 1));
  }
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 3; ++rep) {
        for (size_t i = t; i < cases.size() + t; ++i) {
          const auto& c = cases[i % cases.size()];
          failures[t] += shipped_tokenizer().encode(c.first) != c.second;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace hesp::clip
