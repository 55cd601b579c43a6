// DevicePrefetcher (data/loader/device_prefetch.h): the batches it hands out are the
// loader's, in order; batch n+1 is staged (taken from the loader and its copy started)
// while batch n is still in use, without ever blocking on the loader; a new epoch drops a
// staged batch. On the CPU the copy is the identity, so the staging logic is what runs; with
// a CUDA LibTorch and device the same test checks pinned buffers and device tensors.
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "contract_shard.h"
#include "data/loader/dataset.h"
#include "data/loader/device_prefetch.h"
#include "data/loader/loader.h"
#include "util/torch_compat.h"

namespace hesp::data {
namespace {

namespace stdfs = std::filesystem;

struct Data {
  stdfs::path dir;
  std::unique_ptr<Dataset> ds;
};

Data train_set(const std::string& name, int n) {
  Data d;
  d.dir = stdfs::temp_directory_path() /
          ("hesp_prefetch_test_" + std::to_string(getpid()) + "_" + name);
  stdfs::remove_all(d.dir);
  stdfs::create_directories(d.dir);
  auto clips = testing::make_clips(n, 4, 32, 3, {"train"});
  testing::write_dataset(d.dir, clips, {"Angry", "Happy", "Sad"}, 4, 32, /*jpeg=*/true, 5);
  DatasetOptions o;
  o.manifests = {d.dir};
  d.ds = std::make_unique<Dataset>(o);
  return d;
}

DistributedSampler sampler(int64_t n, int64_t batch) {
  SamplerOptions s;
  s.num_clips = n;
  s.batch_size = batch;
  s.training = true;
  s.seed = 7;
  return DistributedSampler(s);
}

LoaderOptions options(bool pin) {
  LoaderOptions o;
  o.transform.training = true;
  o.transform.frames = 4;
  o.transform.size = 24;
  o.transform.seed = 11;
  o.threads = 2;
  o.prefetch_batches = 2;
  o.pin_memory = pin;
  return o;
}

std::vector<Batch> loader_epoch(const Dataset& ds, const DistributedSampler& s, int64_t epoch) {
  Loader loader(ds, s, options(false));
  loader.start({epoch, 0});
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

// Waits (up to 60 s) until the loader has finished its next batch.
bool wait_ready(const Loader& loader) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!loader.next_ready()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Runs one epoch through the prefetcher on `device`, staging batch n+1 while batch n is
// held (on every other step only: the unstaged steps take the blocking path), and checks
// each batch against the loader's own.
void check_epoch(torch::Device device, bool pin) {
  auto d = train_set(device.is_cuda() ? "cuda" : "cpu", 17);
  const auto s = sampler(17, 3);  // 5 steps
  const auto reference = loader_epoch(*d.ds, s, 1);
  ASSERT_EQ(reference.size(), 5u);

  Loader loader(*d.ds, s, options(pin));
  DevicePrefetcher prefetcher(loader, device);
  loader.start({1, 0});
  prefetcher.reset();
  for (size_t n = 0; n < reference.size(); ++n) {
    const bool was_staged = prefetcher.staged();
    EXPECT_EQ(was_staged, n > 0 && n % 2 == 0) << "step " << n;
    auto b = prefetcher.next();
    ASSERT_TRUE(b) << "step " << n;
    EXPECT_FALSE(prefetcher.staged());
    EXPECT_EQ(b->host.position, (SamplerPosition{1, static_cast<int64_t>(n)}));
    EXPECT_EQ(b->frames.device(), device);
    EXPECT_EQ(b->labels.device(), device);
    if (pin) {
      EXPECT_TRUE(b->host.frames.is_pinned());
      EXPECT_TRUE(b->host.labels.is_pinned());
    }
    if (!device.is_cuda()) {
      // The CPU "copy" is the loader's tensor itself.
      EXPECT_EQ(b->frames.data_ptr(), b->host.frames.data_ptr());
    }
    EXPECT_TRUE(torch::equal(b->frames.cpu(), reference[n].frames)) << "step " << n;
    EXPECT_TRUE(torch::equal(b->labels.cpu(), reference[n].labels)) << "step " << n;
    EXPECT_TRUE(torch::equal(b->host.clip_indices, reference[n].clip_indices));
    if (n % 2 == 1) {
      // Batch n is still held: the loader finishes n+1 meanwhile, and stage() takes it.
      ASSERT_TRUE(wait_ready(loader)) << "the loader never finished batch " << n + 1;
      const bool last = n + 1 == reference.size();
      EXPECT_EQ(prefetcher.stage(), !last) << "step " << n;
      EXPECT_EQ(prefetcher.staged(), !last);
      if (!last) {
        // At most one staged batch: a second stage() takes nothing more from the loader.
        const auto at = loader.position();
        EXPECT_TRUE(prefetcher.stage());
        EXPECT_EQ(loader.position(), at);
      }
      // The held batch is intact after n+1 was rendered and staged.
      EXPECT_TRUE(torch::equal(b->frames.cpu(), reference[n].frames)) << "step " << n;
    }
  }
  EXPECT_FALSE(prefetcher.next()) << "a batch after the epoch's last";
  EXPECT_FALSE(prefetcher.stage());
  stdfs::remove_all(d.dir);
}

TEST(DevicePrefetch, CpuBatchesAreTheLoadersAndTheNextIsStagedWhileOneIsHeld) {
  check_epoch(torch::kCPU, /*pin=*/false);
}

TEST(DevicePrefetch, CudaCopiesFromPinnedMemoryGiveTheLoadersBatches) {
  if (!compat::torch_has_cuda()) GTEST_SKIP() << "no CUDA LibTorch or device";
  check_epoch(torch::Device(torch::kCUDA, 0), /*pin=*/true);
}

TEST(DevicePrefetch, StartingAnEpochAgainDropsTheStagedBatch) {
  auto d = train_set("reset", 12);
  const auto s = sampler(12, 3);  // 4 steps
  const auto reference = loader_epoch(*d.ds, s, 0);
  Loader loader(*d.ds, s, options(false));
  DevicePrefetcher prefetcher(loader, torch::kCPU);
  loader.start({0, 0});
  prefetcher.reset();
  ASSERT_TRUE(prefetcher.next());
  ASSERT_TRUE(wait_ready(loader));
  ASSERT_TRUE(prefetcher.stage());  // Batch 1 staged...
  loader.start({0, 0});             // ...and the epoch restarts (a resume).
  prefetcher.reset();
  EXPECT_FALSE(prefetcher.staged());
  auto b = prefetcher.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host.position, (SamplerPosition{0, 0}));
  EXPECT_TRUE(torch::equal(b->frames, reference[0].frames));
  stdfs::remove_all(d.dir);
}

}  // namespace
}  // namespace hesp::data
