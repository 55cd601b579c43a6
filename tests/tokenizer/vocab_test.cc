// Loading the vocabulary: its layout (checked against the merges file and the reference's
// bytes_to_unicode), errors for missing / non-gzip / corrupt / short files, and where the
// default file is found.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "clip/tokenizer/vocab_path.h"
#include "tokenizer_test_util.h"

namespace hesp::clip {
namespace {

namespace fs = std::filesystem;
using testing::shipped_tokenizer;
using testing::shipped_vocab_path;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("hesp_tokenizer_test_" + std::to_string(getpid()));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::string load_error(const std::string& path) {
  try {
    Tokenizer tokenizer(path);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

void write_gzip(const std::string& path, const std::string& content) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, content.data(), static_cast<unsigned>(content.size())),
            static_cast<int>(content.size()));
  gzclose(f);
}

TEST(TokenizerVocab, LayoutFollowsTheReference) {
  const Tokenizer& t = shipped_tokenizer();
  // Printable bytes first ('!' is byte 0x21), then the others mapped to U+0100...
  EXPECT_EQ(t.token_string(0), "!");
  EXPECT_EQ(t.token_string(187), "\u00ff");
  EXPECT_EQ(t.token_string(188), "\u0100");  // byte 0x00
  EXPECT_EQ(t.token_string(220), "\u0120");  // byte 0x20, the space
  EXPECT_EQ(t.token_string(256), "!</w>");
  // ... then one entry per merge line (line 1 is "i n", line 48894 "jeky ll</w>") ...
  EXPECT_EQ(t.token_string(512), "in");
  EXPECT_EQ(t.token_string(49405), "jekyll</w>");
  // ... then the specials.
  EXPECT_EQ(t.token_string(Tokenizer::kSotToken), "<|startoftext|>");
  EXPECT_EQ(t.token_string(Tokenizer::kEotToken), "<|endoftext|>");
}

TEST(TokenizerVocab, MissingFileNamesThePath) {
  const std::string message = load_error("/nonexistent/dir/bpe_vocab.txt.gz");
  EXPECT_NE(message.find("not found"), std::string::npos) << message;
  EXPECT_NE(message.find("/nonexistent/dir/bpe_vocab.txt.gz"), std::string::npos) << message;
}

TEST(TokenizerVocab, PlainTextIsRejected) {
  TempDir dir;
  const std::string path = dir.file("plain.txt.gz");
  std::ofstream(path) << "#version: 0.2\ni n\n";
  const std::string message = load_error(path);
  EXPECT_NE(message.find("not gzip"), std::string::npos) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
}

TEST(TokenizerVocab, TruncatedGzipIsCorrupt) {
  TempDir dir;
  const std::string path = dir.file("truncated.txt.gz");
  std::ifstream in(shipped_vocab_path(), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000u);
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  const std::string message = load_error(path);
  EXPECT_NE(message.find("corrupt"), std::string::npos) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
}

TEST(TokenizerVocab, FlippedByteIsCorrupt) {
  TempDir dir;
  const std::string path = dir.file("flipped.txt.gz");
  std::ifstream in(shipped_vocab_path(), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5A);
  std::ofstream(path, std::ios::binary) << bytes;
  const std::string message = load_error(path);
  EXPECT_NE(message.find("corrupt"), std::string::npos) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
}

TEST(TokenizerVocab, TooFewMergesIsCorrupt) {
  TempDir dir;
  const std::string path = dir.file("short.txt.gz");
  write_gzip(path, "#version: 0.2\ni n\nt h\n");
  const std::string message = load_error(path);
  EXPECT_NE(message.find("2 merges"), std::string::npos) << message;
  EXPECT_NE(message.find("48894"), std::string::npos) << message;
  const std::string bad_line = dir.file("bad_line.txt.gz");
  write_gzip(bad_line, "#version: 0.2\ni n\nthree parts here\n");
  EXPECT_NE(load_error(bad_line).find("line 3"), std::string::npos) << load_error(bad_line);
}

TEST(TokenizerVocab, DefaultPathResolution) {
  EXPECT_EQ(resolve_vocab_path("/some/explicit.gz"), "/some/explicit.gz");
  setenv("HESP_VOCAB", "/from/env.gz", 1);
  EXPECT_EQ(resolve_vocab_path(), "/from/env.gz");
  unsetenv("HESP_VOCAB");
  // The test binary lives in <build>/bin, like `hesp`: the shipped file is found from there
  // when the build folder sits in the source tree (the documented layout).
  const fs::path exe = fs::read_symlink("/proc/self/exe");
  const fs::path in_tree = exe.parent_path() / ".." / ".." / "src" / "clip" / "data";
  if (!fs::exists(in_tree / kVocabFileName)) GTEST_SKIP() << "build folder outside the tree";
  EXPECT_TRUE(fs::equivalent(resolve_vocab_path(), shipped_vocab_path()));
}

}  // namespace
}  // namespace hesp::clip
