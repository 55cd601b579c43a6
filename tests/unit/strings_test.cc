// util/strings: the splitter keeps empty fields so callers can refuse or skip them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "util/strings.h"

namespace hesp::strings {
namespace {

using ::testing::ElementsAre;

TEST(Strings, SplitKeepsEveryFieldIncludingEmptyOnes) {
  EXPECT_THAT(split("Train_AFEW,set_1/train", ','), ElementsAre("Train_AFEW", "set_1/train"));
  EXPECT_THAT(split("a,,b,", ','), ElementsAre("a", "", "b", ""));
  EXPECT_THAT(split("", ','), ElementsAre(""));
  EXPECT_THAT(split("one", ','), ElementsAre("one"));
}

TEST(Strings, TrimRemovesOuterBlanksOnly) {
  EXPECT_EQ(trim(" \thappy sad \t"), "happy sad");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_EQ(trim("x"), "x");
}

}  // namespace
}  // namespace hesp::strings
