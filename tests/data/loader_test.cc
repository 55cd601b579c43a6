// Dataset + Loader on shards written from the format contract (contract_shard.h): pixels
// against a direct TurboJPEG decode of the stored bytes, determinism across thread counts,
// resume, checksum failures, label mapping and fusion.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>
#include <set>

#include <filesystem>

#include "contract_shard.h"
#include "data/loader/dataset.h"
#include "data/loader/loader.h"
#include "util/errors.h"

namespace hesp::data {
namespace {

namespace stdfs = std::filesystem;
using testing::TestClip;
namespace F = torch::nn::functional;

stdfs::path fresh_dir(const std::string& name) {
  const auto d =
      stdfs::temp_directory_path() / ("hesp_data_test_" + std::to_string(getpid()) + "_" + name);
  stdfs::remove_all(d);
  stdfs::create_directories(d);
  return d;
}

const std::vector<std::string> kClasses{"Angry", "Happy", "Sad"};

// Stored frames of one clip, [T, 3, S, S] uint8, from the test's own decode.
torch::Tensor stored(const TestClip& c, int size, bool jpeg) {
  std::vector<torch::Tensor> frames;
  for (size_t t = 0; t < c.frames.size(); ++t) {
    auto rgb = jpeg ? testing::decode_jpeg(c.jpeg[t], size) : c.frames[t];
    frames.push_back(
        torch::from_blob(rgb.data(), {size, size, 3}, torch::kUInt8).permute({2, 0, 1}).clone());
  }
  return torch::stack(frames);
}

LoaderOptions loader_options(bool training, int frames, int size, int threads, int prefetch,
                             bool as_float) {
  LoaderOptions o;
  o.transform.training = training;
  o.transform.frames = frames;
  o.transform.size = size;
  o.transform.seed = 1234;
  o.threads = threads;
  o.prefetch_batches = prefetch;
  o.float_output = as_float;
  return o;
}

std::vector<Batch> read_epoch(const Dataset& ds, const DistributedSampler& s,
                              const LoaderOptions& o, SamplerPosition from) {
  Loader loader(ds, s, o);
  loader.start(from);
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

SamplerOptions sampler_options(int64_t n, int64_t batch, bool training) {
  SamplerOptions s;
  s.num_clips = n;
  s.batch_size = batch;
  s.training = training;
  s.seed = 99;
  return s;
}

class DataLoaderTest : public ::testing::TestWithParam<bool> {};  // jpeg?

TEST_P(DataLoaderTest, EvaluationRoundTripIsExact) {
  const bool jpeg = GetParam();
  const auto dir = fresh_dir(jpeg ? "rt_jpeg" : "rt_raw");
  auto clips = testing::make_clips(7, 4, 32, 3, {"train", "test"});
  testing::write_dataset(dir, clips, kClasses, 4, 32, jpeg, /*clips_per_shard=*/3);
  DatasetOptions dopt;
  dopt.manifests = {dir};
  Dataset ds(dopt);
  ASSERT_EQ(ds.size(), 7);
  ASSERT_EQ(ds.shards().size(), 3u);
  DistributedSampler s(sampler_options(7, 3, false));
  const auto batches = read_epoch(ds, s, loader_options(false, 4, 32, 2, 2, false), {0, 0});
  ASSERT_EQ(batches.size(), 3u);
  int64_t seen = 0;
  for (const auto& b : batches) {
    EXPECT_EQ(b.frames.scalar_type(), torch::kUInt8);
    for (int64_t i = 0; i < b.frames.size(0); ++i) {
      const int64_t idx = b.clip_indices[i].item<int64_t>();
      EXPECT_EQ(idx, seen++);
      const auto& c = clips[static_cast<size_t>(idx)];
      EXPECT_EQ(b.clip_ids[static_cast<size_t>(i)], c.clip_id);
      EXPECT_EQ(b.labels[i].item<int64_t>(), c.label);
      EXPECT_TRUE(torch::equal(b.frames[i], stored(c, 32, jpeg))) << c.clip_id;
    }
  }
  EXPECT_EQ(seen, 7);
  // Float output is the same pixels / 255.
  const auto f = read_epoch(ds, s, loader_options(false, 4, 32, 1, 1, true), {0, 0});
  EXPECT_TRUE(torch::allclose(f[0].frames, batches[0].frames.to(torch::kFloat32) / 255));
}

TEST_P(DataLoaderTest, EvaluationResizeIsAPlainBilinearResize) {
  const bool jpeg = GetParam();
  const auto dir = fresh_dir(jpeg ? "resize_jpeg" : "resize_raw");
  auto clips = testing::make_clips(2, 16, 40, 3, {"test"});
  testing::write_dataset(dir, clips, kClasses, 16, 40, jpeg);
  Dataset ds(DatasetOptions{{dir}, {}, {}, {}, {}, UnknownClasses::kMinusOne, true});
  DistributedSampler s(sampler_options(2, 2, false));
  const auto b = read_epoch(ds, s, loader_options(false, 8, 24, 2, 1, true), {0, 0});
  ASSERT_EQ(b.size(), 1u);
  for (int i = 0; i < 2; ++i) {
    // Middle frames of 8 segments of 16 stored frames, resized by torch.
    const auto frames = stored(clips[static_cast<size_t>(i)], 40, jpeg)
                            .index_select(0, torch::tensor({1, 3, 5, 7, 9, 11, 13, 15}));
    const auto want =
        F::interpolate(frames.to(torch::kFloat32) / 255, F::InterpolateFuncOptions()
                                                             .size(std::vector<int64_t>{24, 24})
                                                             .mode(torch::kBilinear)
                                                             .align_corners(false));
    EXPECT_LT((b[0].frames[i] - want).abs().max().item<float>(), 1e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(Encodings, DataLoaderTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "jpeg" : "raw"; });

struct TrainFixture {
  stdfs::path dir;
  std::vector<TestClip> clips;
  std::unique_ptr<Dataset> ds;
};

TrainFixture train_set(const std::string& name, int n) {
  TrainFixture f;
  f.dir = fresh_dir(name);
  f.clips = testing::make_clips(n, 8, 32, 3, {"train"});
  testing::write_dataset(f.dir, f.clips, kClasses, 8, 32, true, 5);
  DatasetOptions o;
  o.manifests = {f.dir};
  f.ds = std::make_unique<Dataset>(o);
  return f;
}

bool same_batches(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i].frames, b[i].frames) || !torch::equal(a[i].labels, b[i].labels) ||
        a[i].clip_ids != b[i].clip_ids || !(a[i].position == b[i].position)) {
      return false;
    }
  }
  return true;
}

TEST(DataLoader, TrainingBatchesDoNotDependOnThreadsOrPrefetch) {
  auto f = train_set("threads", 13);
  DistributedSampler s(sampler_options(13, 4, true));
  const auto one = read_epoch(*f.ds, s, loader_options(true, 4, 24, 1, 1, true), {2, 0});
  ASSERT_EQ(one.size(), 3u);
  EXPECT_TRUE(
      same_batches(one, read_epoch(*f.ds, s, loader_options(true, 4, 24, 4, 3, true), {2, 0})));
  EXPECT_TRUE(
      same_batches(one, read_epoch(*f.ds, s, loader_options(true, 4, 24, 2, 1, true), {2, 0})));
  // Another epoch: another order and other views.
  const auto other = read_epoch(*f.ds, s, loader_options(true, 4, 24, 2, 2, true), {3, 0});
  EXPECT_FALSE(same_batches(one, other));
  // The pixels of clip c in epoch e equal load_clip(c, e): they depend on nothing else.
  const int64_t c = one[1].clip_indices[2].item<int64_t>();
  auto alone = torch::empty({4, 3, 24, 24}, torch::kFloat32);
  Loader::load_clip(*f.ds, c, 2, loader_options(true, 4, 24, 1, 1, true).transform, alone);
  EXPECT_TRUE(torch::equal(alone, one[1].frames[2]));
}

TEST(DataLoader, DroppedBatchBuffersAreReusedAndHeldOnesNeverOverwritten) {
  auto f = train_set("reuse", 24);
  DistributedSampler s(sampler_options(24, 2, true));  // 12 steps
  const auto o = loader_options(true, 4, 24, 2, 1, false);
  const auto reference = read_epoch(*f.ds, s, o, {0, 0});  // All held: no reuse possible.
  ASSERT_EQ(reference.size(), 12u);
  std::set<const void*> distinct;
  for (const auto& b : reference) distinct.insert(b.frames.data_ptr());
  EXPECT_EQ(distinct.size(), reference.size()) << "held batches must not share buffers";

  Loader loader(*f.ds, s, o);
  loader.start({0, 0});
  std::optional<Batch> held = loader.next();  // Kept for the whole epoch.
  const auto held_view = held->frames[1];     // A view keeps the buffer too.
  held->frames = torch::Tensor();
  std::set<const void*> seen;
  for (size_t i = 1; i < reference.size(); ++i) {
    auto b = loader.next();
    ASSERT_TRUE(b);
    EXPECT_TRUE(same_batches({*b}, {reference[i]})) << "batch " << i;
    seen.insert(b->frames.data_ptr());
  }  // Each batch is dropped before the next one: its buffer may serve again.
  EXPECT_TRUE(torch::equal(held_view, reference[0].frames[1])) << "a held view was overwritten";
  EXPECT_LT(seen.size(), reference.size() - 1) << "dropped buffers were never reused";
}

TEST(DataLoader, ResumeFromSavedPositionGivesTheSameRemainingBatches) {
  auto f = train_set("resume", 20);
  DistributedSampler s(sampler_options(20, 3, true));  // 6 steps
  const auto o = loader_options(true, 4, 24, 2, 2, false);
  const auto full = read_epoch(*f.ds, s, o, {1, 0});
  ASSERT_EQ(full.size(), 6u);
  Loader loader(*f.ds, s, o);
  loader.start({1, 0});
  loader.next();
  loader.next();
  const SamplerPosition saved = loader.position();
  EXPECT_EQ(saved, (SamplerPosition{1, 2}));
  const auto rest = read_epoch(*f.ds, s, o, saved);
  EXPECT_TRUE(same_batches(rest, std::vector<Batch>(full.begin() + 2, full.end())));
  while (loader.next()) {
  }
  EXPECT_EQ(loader.position(), (SamplerPosition{2, 0}));
}

TEST(DataLoader, CropAndFlipAreTheSameForEveryFrame) {
  const auto dir = fresh_dir("sameframes");
  auto clips = testing::make_clips(6, 8, 32, 3, {"train"});
  for (auto& c : clips) {  // Every stored frame identical: all output frames must be too.
    for (auto& fr : c.frames) fr = c.frames[0];
  }
  testing::write_dataset(dir, clips, kClasses, 8, 32, true);
  Dataset ds(DatasetOptions{{dir}, {}, {}, {}, {}, UnknownClasses::kMinusOne, true});
  DistributedSampler s(sampler_options(6, 2, true));
  int flipped_or_cropped = 0;
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    for (const auto& b : read_epoch(ds, s, loader_options(true, 8, 32, 2, 2, true), {epoch, 0})) {
      for (int64_t i = 0; i < b.frames.size(0); ++i) {
        for (int t = 1; t < 8; ++t) EXPECT_TRUE(torch::equal(b.frames[i][t], b.frames[i][0]));
        const auto& c = clips[static_cast<size_t>(b.clip_indices[i].item<int64_t>())];
        flipped_or_cropped +=
            !torch::equal(b.frames[i][0], stored(c, 32, true)[0].to(torch::kFloat32) / 255);
      }
    }
  }
  EXPECT_GT(flipped_or_cropped, 0);
}

TEST(DataLoader, OneFlippedByteFailsOpeningAndNamesTheShard) {
  const auto dir = fresh_dir("corrupt");
  auto clips = testing::make_clips(6, 4, 32, 3, {"train"});
  testing::write_dataset(dir, clips, kClasses, 4, 32, true, 2);
  testing::flip_byte(dir / "shard-00001.h5");
  try {
    Dataset ds(DatasetOptions{{dir}, {}, {}, {}, {}, UnknownClasses::kMinusOne, true});
    FAIL() << "a corrupt shard was accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("shard-00001.h5"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("shard-00000.h5"), std::string::npos) << e.what();
  }
}

TEST(DataLoader, CorruptJpegWithValidChecksumIsAUserErrorNamingTheClip) {
  const auto dir = fresh_dir("badjpeg");
  auto clips = testing::make_clips(4, 4, 32, 3, {"train"});
  for (auto& c : clips) {
    for (const auto& fr : c.frames) c.jpeg.push_back(testing::encode_jpeg(fr, 32, 90));
  }
  clips[2].jpeg[1].resize(clips[2].jpeg[1].size() / 2);  // Truncated frame.
  testing::write_dataset(dir, clips, kClasses, 4, 32, true);
  Dataset ds(DatasetOptions{{dir}, {}, {}, {}, {}, UnknownClasses::kMinusOne, true});
  DistributedSampler s(sampler_options(4, 2, false));
  Loader loader(ds, s, loader_options(false, 4, 32, 2, 2, false));
  loader.start({0, 0});
  try {
    while (loader.next()) {
    }
    FAIL() << "a truncated JPEG was decoded";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(clips[2].clip_id), std::string::npos) << e.what();
  }
}

TEST(DataLoader, ReadsAfterForkReopenTheShards) {
  auto f = train_set("fork", 5);
  const auto before = f.ds->read(3);  // Opens a handle in this process.
  const pid_t pid = fork();
  if (pid == 0) {
    int code = 0;
    try {
      const auto after = f.ds->read(3);
      code = after.bytes == before.bytes && after.frame_offsets == before.frame_offsets ? 0 : 1;
    } catch (...) {
      code = 2;
    }
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(f.ds->read(3).bytes, before.bytes);  // The parent's handle still works.
}

// Open-set mapping and fusion of two datasets with different class spellings.
class DataSelection : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = fresh_dir("fuse_a");
    b_ = fresh_dir("fuse_b");
    auto ca = testing::make_clips(9, 2, 16, 3, {"train", "test", "test"}, "afew");
    testing::write_dataset(a_, ca, {"Angry", "Happy", "Sad"}, 2, 16, true);
    auto cb = testing::make_clips(8, 2, 16, 4, {"set_1/train", "set_1/test"}, "mafw");
    cb[7].label = -1;  // An unlabelled clip.
    testing::write_dataset(b_, cb, {"anger", "happiness", "neutral", "sadness"}, 2, 16, false);
  }
  stdfs::path a_, b_;
};

TEST_F(DataSelection, KnownClassesMapToTheirIndexAndUnknownToMinusOne) {
  DatasetOptions o;
  o.manifests = {a_};
  o.known_classes = {"Sad", "Angry"};
  Dataset ds(o);
  ASSERT_EQ(ds.size(), 9);
  for (const auto& c : ds.clips()) {
    const int want = c.class_name == "Sad" ? 0 : c.class_name == "Angry" ? 1 : -1;
    EXPECT_EQ(c.label, want) << c.clip_id;
    EXPECT_EQ(c.class_name, kClasses[static_cast<size_t>(c.dataset_label)]);
  }
  o.unknown = UnknownClasses::kExclude;
  o.splits = {"test"};
  Dataset known(o);
  // Clips i with i % 3 in {0 (Angry), 2 (Sad)} and split test (i % 3 != 0): i = 2, 5, 8.
  ASSERT_EQ(known.size(), 3);
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(known.clip(i).index, i);
    EXPECT_EQ(known.clip(i).label, 0);
    EXPECT_EQ(known.clip(i).split, "test");
  }
  EXPECT_EQ(known.clip(0).clip_id, "afew/2");
  EXPECT_EQ(known.find("afew/8"), 2);
  EXPECT_EQ(known.find("afew/1"), -1);
}

TEST_F(DataSelection, FusionMapsClassNamesAcrossDatasets) {
  DatasetOptions o;
  o.manifests = {a_, b_};
  o.class_map = {{"anger", "Angry"}, {"happiness", "Happy"}, {"sadness", "Sad"}};
  Dataset all(o);
  EXPECT_EQ(all.size(), 17);
  EXPECT_EQ(all.known_classes(), (std::vector<std::string>{"Angry", "Happy", "Sad", "neutral"}));
  o.known_classes = {"Angry", "Happy", "Sad"};
  o.classes = {"Angry", "Happy", "Sad", "neutral"};  // Drops the unlabelled clip.
  Dataset ds(o);
  ASSERT_EQ(ds.size(), 16);
  const std::vector<std::string> mafw{"Angry", "Happy", "neutral", "Sad"};
  for (const auto& c : ds.clips()) {
    const bool from_b = c.source == 1;
    const int i = std::stoi(c.clip_id.substr(c.clip_id.find('/') + 1));
    const std::string name =
        from_b ? mafw[static_cast<size_t>(i % 4)] : kClasses[static_cast<size_t>(i % 3)];
    EXPECT_EQ(c.class_name, name) << c.clip_id;
    EXPECT_EQ(c.label, name == "Angry" ? 0 : name == "Happy" ? 1 : name == "Sad" ? 2 : -1);
  }
  // The raw (b) and jpeg (a) datasets load side by side.
  DistributedSampler s(sampler_options(16, 16, false));
  const auto b = read_epoch(ds, s, loader_options(false, 2, 16, 2, 1, false), {0, 0});
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].frames.sizes(), (std::vector<int64_t>{16, 2, 3, 16, 16}));
}

TEST_F(DataSelection, BadClassNamesAndDuplicateIdsAreUserErrors) {
  DatasetOptions o;
  o.manifests = {a_};
  o.known_classes = {"Angry", "Contempt"};
  EXPECT_THROW(Dataset{o}, ConfigError);
  o.known_classes = {};
  o.manifests = {a_, a_};
  EXPECT_THROW(Dataset{o}, UserError);
  o.manifests = {a_ / "nothing-here"};
  EXPECT_THROW(Dataset{o}, UserError);
}

}  // namespace
}  // namespace hesp::data
