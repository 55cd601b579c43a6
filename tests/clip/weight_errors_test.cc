// Corrupt, truncated and mismatched weight files each give a UserError whose message says
// what is wrong (never a crash, never a silent skip).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "clip/model/clip_model.h"
#include "clip/weights/safetensors.h"
#include "clip/weights/torch_pickle.h"
#include "clip/weights/weight_io.h"
#include "clip/weights/zip_reader.h"
#include "clip_test_util.h"
#include "util/errors.h"

namespace hesp::clip {
namespace {

using testing::fixture;
using ::testing::HasSubstr;
using testing::read_bytes;
using testing::scratch_dir;
using testing::write_bytes;

// The message of the UserError that loading `bytes` (as a file) throws; fails the test
// when nothing is thrown.
std::string load_error(const std::string& bytes, const std::string& name) {
  const std::string path = (scratch_dir() / name).string();
  write_bytes(path, bytes);
  try {
    ClipModel::load(path);
  } catch (const UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "loading " << name << " did not throw";
  return "";
}

std::vector<std::pair<std::string, torch::Tensor>> fixture_tensors() {
  auto w = weights::load_weights(fixture("tiny_clip_a.safetensors"));
  return {w.tensors.begin(), w.tensors.end()};
}

class TruncationTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TruncationTest, EveryCutPointGivesAnError) {
  const std::string bytes = read_bytes(fixture(GetParam()));
  ASSERT_GT(bytes.size(), 100000u);
  for (size_t cut : {size_t{1}, size_t{7}, size_t{8}, size_t{100}, size_t{4096}, bytes.size() / 2,
                     bytes.size() - 4096, bytes.size() - 23, bytes.size() - 1}) {
    const std::string msg =
        load_error(bytes.substr(0, cut), "truncated_" + std::to_string(cut) + "_" + GetParam());
    EXPECT_THAT(msg,
                ::testing::AnyOf(HasSubstr("truncated"), HasSubstr("unrecognised weight file")))
        << "cut at " << cut << ": " << msg;
  }
}

INSTANTIATE_TEST_SUITE_P(AllFormats, TruncationTest,
                         ::testing::Values("tiny_clip_a.jit.pt", "tiny_clip_a.safetensors",
                                           "tiny_clip_a.state_dict.pt"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(WeightErrors, EmptyAndUnknownFiles) {
  const std::string path = (scratch_dir() / "empty.bin").string();
  write_bytes(path, "");
  try {
    ClipModel::load(path);
    ADD_FAILURE() << "empty file loaded";
  } catch (const UserError& e) {
    EXPECT_THAT(e.what(), HasSubstr("is empty"));
  }
  EXPECT_THAT(load_error(std::string(1000, 'x'), "garbage.bin"),
              HasSubstr("unrecognised weight file format"));
  EXPECT_THAT(load_error("PK\x03\x04" + std::string(200, 'z'), "fake.zip"),
              HasSubstr("end of central directory not found"));
}

TEST(WeightErrors, CorruptSafetensorsHeader) {
  const std::string bytes = read_bytes(fixture("tiny_clip_a.safetensors"));
  std::string bad_json = bytes;
  bad_json[8 + 40] = '\x01';  // inside the JSON header
  EXPECT_THAT(load_error(bad_json, "bad_json.safetensors"), HasSubstr("not valid JSON"));

  std::string bad_dtype = bytes;
  bad_dtype.replace(bad_dtype.find("\"F16\""), 5, "\"Q16\"");
  EXPECT_THAT(load_error(bad_dtype, "bad_dtype.safetensors"),
              HasSubstr("unsupported dtype \"Q16\""));

  std::string bad_len = bytes;
  bad_len[7] = '\x7f';  // header length now huge
  EXPECT_THAT(load_error(bad_len, "bad_len.safetensors"), HasSubstr("truncated or corrupt"));

  // Offsets that disagree with the shape.
  std::string bad_offsets = bytes;
  const size_t at = bad_offsets.find("\"data_offsets\":[0,");
  ASSERT_NE(at, std::string::npos);
  bad_offsets.replace(at, 18, "\"data_offsets\":[2,");
  EXPECT_THAT(load_error(bad_offsets, "bad_offsets.safetensors"),
              HasSubstr("bytes but its dtype and shape need"));
}

TEST(WeightErrors, CorruptZipAndPickle) {
  const std::string bytes = read_bytes(fixture("tiny_clip_a.state_dict.pt"));
  std::string bad_callable = bytes;
  const size_t at = bad_callable.find("_rebuild_tensor_v2");
  ASSERT_NE(at, std::string::npos);
  bad_callable[at + 17] = '9';
  EXPECT_THAT(load_error(bad_callable, "bad_callable.pt"),
              HasSubstr("unsupported callable torch._utils._rebuild_tensor_v9"));

  std::string bad_storage = bytes;
  const size_t st = bad_storage.find("HalfStorage");
  bad_storage.replace(st, 11, "QuadStorage");
  EXPECT_THAT(load_error(bad_storage, "bad_storage.pt"),
              HasSubstr("unsupported storage type torch.QuadStorage"));

  std::string bad_opcode = bytes;
  const size_t pkl = bad_opcode.find(std::string("\x80\x02", 2) + "ccollections");
  ASSERT_NE(pkl, std::string::npos);
  bad_opcode[pkl + 2] = '\xff';
  EXPECT_THAT(load_error(bad_opcode, "bad_opcode.pt"), HasSubstr("unsupported pickle opcode 0xff"));

  std::string bad_central = bytes;
  const size_t cd = bad_central.rfind(std::string("PK\x01\x02", 4));
  bad_central[cd + 2] = '\x07';
  EXPECT_THAT(load_error(bad_central, "bad_central.pt"),
              HasSubstr("central directory entry signature"));

  // A storage entry renamed away: the pickle refers to a missing zip entry.
  std::string missing_storage = bytes;
  const size_t entry = missing_storage.rfind("tiny_clip_a.state_dict/data/0");
  missing_storage[entry + 28] = 'Z';
  EXPECT_THAT(load_error(missing_storage, "missing_storage.pt"), HasSubstr("is missing"));
}

TEST(WeightErrors, JitArchiveWithCorruptContent) {
  std::string bytes = read_bytes(fixture("tiny_clip_a.jit.pt"));
  // Damage the serialized code: torch::jit::load fails and the failure becomes a UserError.
  const size_t at = bytes.find("data.pkl");
  ASSERT_NE(at, std::string::npos);
  std::string bad = bytes;
  const size_t local = bad.find(std::string("\x80\x02", 2), at);
  ASSERT_NE(local, std::string::npos);
  bad[local + 2] = '\xff';
  const std::string msg = load_error(bad, "bad.jit.pt");
  EXPECT_THAT(msg, HasSubstr("bad.jit.pt"));
}

TEST(WeightErrors, WrongShapeNamesTensorAndBothShapes) {
  auto tensors = fixture_tensors();
  for (auto& [name, t] : tensors) {
    if (name == "visual.ln_post.weight") t = torch::ones({127});
  }
  const std::string msg =
      load_error(weights::safetensors_bytes(tensors, {}), "wrong_shape.safetensors");
  EXPECT_THAT(
      msg, HasSubstr("tensor 'visual.ln_post.weight' has shape [127] but the model expects [128]"));
}

TEST(WeightErrors, MissingAndExtraTensorsAreListed) {
  auto tensors = fixture_tensors();
  std::vector<std::pair<std::string, torch::Tensor>> edited;
  for (auto& kv : tensors) {
    if (kv.first != "transformer.resblocks.1.mlp.c_fc.bias" && kv.first != "visual.ln_pre.bias") {
      edited.push_back(kv);
    }
  }
  edited.emplace_back("visual.extra_head.weight", torch::ones({3}));
  const std::string msg =
      load_error(weights::safetensors_bytes(edited, {}), "missing_extra.safetensors");
  EXPECT_THAT(msg, HasSubstr("missing tensors (2)"));
  EXPECT_THAT(msg, HasSubstr("transformer.resblocks.1.mlp.c_fc.bias"));
  EXPECT_THAT(msg, HasSubstr("visual.ln_pre.bias"));
  EXPECT_THAT(msg, HasSubstr("unexpected tensors (1)"));
  EXPECT_THAT(msg, HasSubstr("visual.extra_head.weight"));
}

TEST(WeightErrors, ReleasedNonWeightEntriesAreIgnored) {
  auto tensors = fixture_tensors();
  tensors.emplace_back("input_resolution", torch::full({}, 64, torch::kLong));
  tensors.emplace_back("context_length", torch::full({}, 77, torch::kLong));
  tensors.emplace_back("vocab_size", torch::full({}, 49408, torch::kLong));
  const std::string path = (scratch_dir() / "with_extras.safetensors").string();
  write_bytes(path, weights::safetensors_bytes(tensors, {}));
  EXPECT_NO_THROW(ClipModel::load(path));
}

// A checkpoint saved from DataParallel/DDP: every name under "module." (here twice, a
// wrapped wrapper) loads as the plain model, with the same values.
TEST(WeightErrors, ModulePrefixFromDataParallelIsStripped) {
  const auto tensors = fixture_tensors();
  std::vector<std::pair<std::string, torch::Tensor>> wrapped;
  for (const auto& [name, t] : tensors) wrapped.emplace_back("module.module." + name, t);
  const std::string path = (scratch_dir() / "ddp.safetensors").string();
  write_bytes(path, weights::safetensors_bytes(wrapped, {}));
  const auto w = weights::load_weights(path);
  EXPECT_EQ(w.stripped_prefix, "module.module.");
  ASSERT_EQ(w.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    ASSERT_TRUE(w.tensors.count(name)) << name;
    EXPECT_TRUE(torch::equal(w.tensors.at(name), t)) << name;
  }
  EXPECT_NO_THROW(ClipModel::load(path));
}

TEST(WeightErrors, OtherWrapperPrefixIsNamed) {
  std::vector<std::pair<std::string, torch::Tensor>> wrapped;
  for (const auto& [name, t] : fixture_tensors()) wrapped.emplace_back("clip_model." + name, t);
  const std::string msg =
      load_error(weights::safetensors_bytes(wrapped, {}), "wrapped.safetensors");
  EXPECT_THAT(msg, HasSubstr("every tensor name starts with 'clip_model.'"));
  EXPECT_THAT(msg, HasSubstr("wrapped.safetensors"));
}

TEST(TorchPickle, ReadsOffsetsStridesAndMemo) {
  // A hand-written protocol-2 pickle: {'a': rebuild(storage '0' float x12, offset 1,
  // size (2, 3), stride (1, 2)), 'b': same storage via the memo, offset 0, size (4,)}.
  std::string p;
  auto b = [&](std::initializer_list<int> v) {
    for (int c : v) p.push_back(static_cast<char>(c));
  };
  auto str = [&](const std::string& s) {  // BINUNICODE
    b({'X', static_cast<int>(s.size()), 0, 0, 0});
    p += s;
  };
  auto global = [&](const std::string& m, const std::string& n) { p += "c" + m + "\n" + n + "\n"; };
  b({0x80, 2, '}', 'q', 0, '('});
  str("a");
  global("torch._utils", "_rebuild_tensor_v2");
  b({'q', 1, '(', '('});
  str("storage");
  global("torch", "FloatStorage");
  str("0");
  str("cpu");
  b({'K', 12, 't', 'q', 2, 'Q'});
  b({'K', 1, 'K', 2, 'K', 3, 0x86, 'K', 1, 'K', 2, 0x86, 0x89, 'N', 't', 'R'});
  str("b");
  b({'h', 1, '(', 'h', 2, 'Q', 'K', 0, 'K', 4, 0x85, 'K', 1, 0x85, 0x89, 'N', 't', 'R'});
  b({'u', '.'});
  auto tensors = weights::parse_torch_pickle(weights::ByteSpan(p), "handmade");
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(tensors[0].name, "a");
  EXPECT_EQ(tensors[0].storage_key, "0");
  EXPECT_EQ(tensors[0].storage_numel, 12);
  EXPECT_EQ(tensors[0].storage_offset, 1);
  EXPECT_EQ(tensors[0].sizes, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(tensors[0].strides, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(tensors[1].name, "b");
  EXPECT_EQ(tensors[1].storage_key, "0");
  EXPECT_EQ(tensors[1].sizes, (std::vector<int64_t>{4}));

  // The strided view reaches element 1 + (2-1)*1 + (3-1)*2 = 6: a storage of 7 elements
  // holds it, one of 6 does not.
  std::vector<float> storage(12);
  weights::RawTensor raw;
  raw.name = "a";
  raw.shape = tensors[0].sizes;
  raw.strides = tensors[0].strides;
  raw.storage_offset = 1;
  raw.storage = weights::ByteSpan(reinterpret_cast<const uint8_t*>(storage.data()), 7 * 4);
  EXPECT_NO_THROW(weights::check_raw_tensor_extent(raw, "handmade"));
  raw.storage.size = 6 * 4;
  EXPECT_THROW(weights::check_raw_tensor_extent(raw, "handmade"), UserError);

  // Truncated anywhere: an error, never a crash.
  for (size_t cut = 0; cut < p.size(); ++cut) {
    EXPECT_THROW(weights::parse_torch_pickle(weights::ByteSpan(p.substr(0, cut)), "cut"),
                 UserError);
  }
}

}  // namespace
}  // namespace hesp::clip
