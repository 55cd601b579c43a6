// `hesp clip tokenize` in-process: the command body on string streams and its flags.
#include <gtest/gtest.h>

#include <sstream>

#include "cli/clip_tokenize_command.h"
#include "tokenizer_test_util.h"

namespace hesp::cli {
namespace {

ClipTokenizeOptions options_with_vocab() {
  ClipTokenizeOptions options;
  options.vocab = clip::testing::shipped_vocab_path();
  return options;
}

std::string run(const ClipTokenizeOptions& options, const std::string& input) {
  std::istringstream in(input);
  std::ostringstream out;
  EXPECT_EQ(run_clip_tokenize(options, in, out), 0);
  return out.str();
}

// Ids from the golden file.
TEST(ClipTokenizeCommand, OneJsonArrayPerLine) {
  EXPECT_EQ(run(options_with_vocab(), "happy\nA PHOTO OF A HAPPY FACE\n\n"),
            "[49406,900,49407]\n[49406,320,1125,539,320,900,1710,49407]\n[49406,49407]\n");
  // The last line needs no newline.
  EXPECT_EQ(run(options_with_vocab(), "happy"), "[49406,900,49407]\n");
}

TEST(ClipTokenizeCommand, PadAndTruncate) {
  ClipTokenizeOptions options = options_with_vocab();
  options.context_length = 5;
  options.pad = true;
  EXPECT_EQ(run(options, "happy\n"), "[49406,900,49407,0,0]\n");
  options.truncate = true;
  EXPECT_EQ(run(options, "A PHOTO OF A HAPPY FACE\n"), "[49406,320,1125,539,49407]\n");
}

TEST(ClipTokenizeCommand, TooLongNamesTheLine) {
  ClipTokenizeOptions options = options_with_vocab();
  options.context_length = 5;
  std::istringstream in("happy\nA PHOTO OF A HAPPY FACE\n");
  std::ostringstream out;
  try {
    run_clip_tokenize(options, in, out);
    FAIL() << "no error";
  } catch (const UserError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("stdin line 2"), std::string::npos) << message;
    EXPECT_NE(message.find("--truncate"), std::string::npos) << message;
  }
}

TEST(ClipTokenizeCommand, InputFileAndErrors) {
  ClipTokenizeOptions options = options_with_vocab();
  options.input = "/nonexistent/texts.txt";
  std::istringstream in;
  std::ostringstream out;
  EXPECT_THROW(run_clip_tokenize(options, in, out), UserError);
  options = options_with_vocab();
  options.vocab = "/nonexistent/vocab.gz";
  EXPECT_THROW(run_clip_tokenize(options, in, out), UserError);
}

TEST(ClipTokenizeCommand, RegistersUnderTheClipGroup) {
  CLI::App app;
  CLI::App* clip = app.add_subcommand("clip");
  add_clip_tokenize_command(clip, GlobalOptions{});
  ASSERT_NE(clip->get_subcommand("tokenize"), nullptr);
  // CLI11 takes the argument vector in reverse order.
  EXPECT_NO_THROW(app.parse(
      std::vector<std::string>{"--pad", "--truncate", "10", "--context", "tokenize", "clip"}));
  CLI::App app2;
  add_clip_tokenize_command(app2.add_subcommand("clip"), GlobalOptions{});
  EXPECT_THROW(app2.parse(std::vector<std::string>{"0", "--context", "tokenize", "clip"}),
               CLI::ValidationError);
}

}  // namespace
}  // namespace hesp::cli
