// The tfevents file, read back by a reader written here from the format descriptions
// alone: its own bitwise CRC-32C and its own protobuf wire-format decoder. Nothing of the
// writer's code (hash.h, the generated Event class) is used to check it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "run/tfevents_writer.h"
#include "test_support.h"
#include "util/fs.h"

namespace hesp::train {
namespace {

// CRC-32C, bit by bit, reflected polynomial 0x82F63B78.
uint32_t reference_crc32c(const std::string& data) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

uint32_t reference_masked(const std::string& data) {
  const uint32_t c = reference_crc32c(data);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

uint64_t le(const std::string& s, size_t pos, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(s[pos + i])) << (8 * i);
  return v;
}

// Minimal protobuf wire decoding: field number -> list of raw values.
struct Field {
  int wire = 0;
  uint64_t varint = 0;  // wire 0, and the bits of wire 1 / 5
  std::string bytes;    // wire 2
};

std::multimap<int, Field> decode(const std::string& msg) {
  std::multimap<int, Field> out;
  size_t pos = 0;
  auto varint = [&]() {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      if (pos >= msg.size()) throw std::runtime_error("varint past end");
      const unsigned char b = msg[pos++];
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (pos < msg.size()) {
    const uint64_t key = varint();
    Field f;
    f.wire = static_cast<int>(key & 7);
    if (f.wire == 0) {
      f.varint = varint();
    } else if (f.wire == 1) {
      f.varint = le(msg, pos, 8);
      pos += 8;
    } else if (f.wire == 5) {
      f.varint = le(msg, pos, 4);
      pos += 4;
    } else if (f.wire == 2) {
      const uint64_t n = varint();
      f.bytes = msg.substr(pos, n);
      pos += n;
    } else {
      throw std::runtime_error("unexpected wire type " + std::to_string(f.wire));
    }
    out.emplace(static_cast<int>(key >> 3), f);
  }
  return out;
}

double as_double(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}
float as_float(uint64_t bits) {
  const uint32_t b = static_cast<uint32_t>(bits);
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

struct Scalar {
  int64_t step;
  double wall_time;
  std::string tag;
  float value;
};

// A SessionLog event: its step, status (1 START) and checkpoint_path.
struct Session {
  int64_t step;
  uint64_t status;
  std::string checkpoint;
};

// Reads every record, checking both CRCs of each; returns the file_version, the scalars
// and (when `sessions` is given) the SessionLog events.
void read_events(const std::string& file, std::string* version, std::vector<Scalar>* scalars,
                 std::vector<Session>* sessions = nullptr) {
  size_t pos = 0;
  int records = 0;
  while (pos < file.size()) {
    ASSERT_LE(pos + 12, file.size()) << "truncated record header";
    const std::string len_bytes = file.substr(pos, 8);
    const uint64_t len = le(file, pos, 8);
    ASSERT_EQ(le(file, pos + 8, 4), reference_masked(len_bytes))
        << "length crc, record " << records;
    ASSERT_LE(pos + 12 + len + 4, file.size()) << "truncated record";
    const std::string data = file.substr(pos + 12, len);
    ASSERT_EQ(le(file, pos + 12 + len, 4), reference_masked(data))
        << "data crc, record " << records;
    pos += 12 + len + 4;
    const auto ev = decode(data);
    ASSERT_EQ(ev.count(1), 1u);  // wall_time, double
    EXPECT_EQ(ev.find(1)->second.wire, 1);
    const double wall = as_double(ev.find(1)->second.varint);
    const int64_t step = ev.count(2) ? static_cast<int64_t>(ev.find(2)->second.varint) : 0;
    if (records == 0) {
      ASSERT_EQ(ev.count(3), 1u) << "first record must carry file_version";
      *version = ev.find(3)->second.bytes;
    } else if (sessions != nullptr && ev.count(6) == 1) {
      const auto log = decode(ev.find(6)->second.bytes);
      ASSERT_EQ(log.count(1), 1u) << "a SessionLog without status";
      sessions->push_back({step, log.find(1)->second.varint,
                           log.count(2) ? log.find(2)->second.bytes : std::string()});
    } else {
      ASSERT_EQ(ev.count(5), 1u) << "record " << records << " has no summary";
      for (const auto& [num, value_field] : decode(ev.find(5)->second.bytes)) {
        EXPECT_EQ(num, 1);  // Summary.value
        const auto v = decode(value_field.bytes);
        ASSERT_EQ(v.count(1), 1u);
        ASSERT_EQ(v.count(2), 1u);
        EXPECT_EQ(v.find(2)->second.wire, 5);  // float
        scalars->push_back(
            {step, wall, v.find(1)->second.bytes, as_float(v.find(2)->second.varint)});
      }
    }
    ++records;
  }
}

TEST(TfEvents, IndependentReaderDecodesEveryRecord) {
  testing::TempDir dir;
  std::filesystem::path path;
  {
    run::TfEventsWriter w(dir.path() / "tb");
    path = w.path();
    w.add_scalar("train/loss", 2.5, 1);
    w.add_scalar("train/lr", 0.01, 2);
    w.add_scalars({{"eval/auroc", 0.875}, {"eval/oscr", -1.0e-3}}, 123456789012LL);
  }
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  const std::string name = path.filename().string();
  EXPECT_EQ(name.rfind("events.out.tfevents.", 0), 0u) << name;
  EXPECT_EQ(name.substr(name.size() - std::strlen(host)), host);
  EXPECT_EQ(path.parent_path(), dir.path() / "tb");

  std::string version;
  std::vector<Scalar> s;
  read_events(fs::read_file(path), &version, &s);
  EXPECT_EQ(version, "brain.Event:2");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].tag, "train/loss");
  EXPECT_EQ(s[0].value, 2.5f);
  EXPECT_EQ(s[0].step, 1);
  EXPECT_EQ(s[1].tag, "train/lr");
  EXPECT_EQ(s[1].value, 0.01f);
  EXPECT_EQ(s[2].tag, "eval/auroc");
  EXPECT_EQ(s[2].value, 0.875f);
  EXPECT_EQ(s[2].step, 123456789012LL);
  EXPECT_EQ(s[3].tag, "eval/oscr");
  EXPECT_EQ(s[3].value, -1.0e-3f);
  EXPECT_EQ(s[3].step, 123456789012LL);
  const double now = static_cast<double>(time(nullptr));
  EXPECT_NEAR(s[0].wall_time, now, 120.0);
}

// A restart's mark (tensorflow/tensorboard's purge on SessionLog START): event field 6,
// status 1, at the resumed step, with the checkpoint's path.
TEST(TfEvents, SessionStartMarksARestartAtTheResumedStep) {
  testing::TempDir dir;
  std::filesystem::path path;
  {
    run::TfEventsWriter w(dir.path() / "tb");
    path = w.path();
    w.add_session_start(3, "R/checkpoints/ckpt-000002-0000000000.hespckpt");
    w.add_scalar("train/loss", 1.5, 3);
  }
  std::string version;
  std::vector<Scalar> s;
  std::vector<Session> sessions;
  read_events(fs::read_file(path), &version, &s, &sessions);
  EXPECT_EQ(version, "brain.Event:2");
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].step, 3);
  EXPECT_EQ(sessions[0].status, 1u) << "SessionLog.START";
  EXPECT_EQ(sessions[0].checkpoint, "R/checkpoints/ckpt-000002-0000000000.hespckpt");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].step, 3);
}

TEST(TfEvents, FramingMatchesTheReferenceCrc) {
  // Known CRC-32C test vector: "123456789" -> 0xE3069283.
  EXPECT_EQ(reference_crc32c("123456789"), 0xE3069283u);
  const std::string framed = run::frame_tfrecord("abc");
  ASSERT_EQ(framed.size(), 8u + 4 + 3 + 4);
  EXPECT_EQ(le(framed, 0, 8), 3u);
  EXPECT_EQ(le(framed, 8, 4), reference_masked(framed.substr(0, 8)));
  EXPECT_EQ(framed.substr(12, 3), "abc");
  EXPECT_EQ(le(framed, 15, 4), reference_masked("abc"));
}

}  // namespace
}  // namespace hesp::train
