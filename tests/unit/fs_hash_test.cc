// Checksums against published check values, and crash-safe file writes.
#include <gtest/gtest.h>

#include <filesystem>

#include "util/errors.h"
#include "util/fs.h"
#include "util/hash.h"

namespace hesp {
namespace {

TEST(Hash, Crc32cCheckValues) {
  // RFC 3720 (iSCSI) check value and test vectors.
  EXPECT_EQ(hash::crc32c("123456789"), 0xE3069283u);
  std::string zeros(32, '\0');
  EXPECT_EQ(hash::crc32c(zeros), 0x8A9136AAu);
  std::string ones(32, '\xff');
  EXPECT_EQ(hash::crc32c(ones), 0x62A8AB43u);
  std::string inc(32, '\0');
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i);
  EXPECT_EQ(hash::crc32c(inc), 0x46DD794Eu);
  // Incremental equals one-shot.
  const uint32_t part = hash::crc32c(inc.data(), 13);
  EXPECT_EQ(hash::crc32c(inc.data() + 13, 19, part), 0x46DD794Eu);
}

TEST(Hash, Sha256KnownAnswer) {
  EXPECT_EQ(hash::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Fs, AtomicWriteReplacesAndLeavesNoTemporary) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("hesp_fs_" + std::to_string(::getpid()));
  fs::ensure_writable_directory(dir);
  fs::atomic_write_file(dir / "f", "one");
  fs::atomic_write_file(dir / "f", "two");
  EXPECT_EQ(fs::read_file(dir / "f"), "two");
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
  std::filesystem::remove_all(dir);
}

TEST(Fs, UnwritableDirectoryIsAUserError) {
  if (::geteuid() == 0) {
    // root ignores permission bits; a path under a regular file can never be created.
    const auto file =
        std::filesystem::temp_directory_path() / ("hesp_fs_file_" + std::to_string(::getpid()));
    fs::atomic_write_file(file, "x");
    EXPECT_THROW(fs::ensure_writable_directory(file / "sub"), UserError);
    std::filesystem::remove(file);
  } else {
    EXPECT_THROW(fs::ensure_writable_directory("/proc/hesp_cannot_write"), UserError);
  }
}

}  // namespace
}  // namespace hesp
