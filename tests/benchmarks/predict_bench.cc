// `hesp predict` throughput against the evaluation path, on the demo-sized data (synthetic
// AFEW, 72 px stored, T = 4, 64 px tiny CLIP, one epoch of hesp):
//   evaluation   eval::predict over the test split: the loader's worker threads, boxes
//                from the run's cache (computed once per run, timed apart as cam_boxes)
//   predict      what `hesp predict` does per batch: Loader::load_clip on this thread,
//                Grad-CAM for the boxes on the fly, the same forward
// in test clips per second, beside the machine's sgemm ceiling. Needs hesp and hesp-pack
// beside this binary. Writes bench-results/predict.json.
#include <unistd.h>

#include "bench_util.h"
#include "comm/communicator.h"
#include "comm/communicator_factory.h"
#include "data/loader/loader.h"
#include "eval/cam_boxes.h"
#include "eval/evaluator.h"
#include "eval/predictor.h"
#include "run/run_data.h"
#include "util/threads.h"

namespace stdfs = std::filesystem;
using namespace hesp;

int main() {
  const stdfs::path bin = stdfs::read_symlink("/proc/self/exe").parent_path();
  const stdfs::path work =
      stdfs::temp_directory_path() / ("hesp_predict_bench_" + std::to_string(getpid()));
  stdfs::create_directories(work);
  const std::string w = work.string(), b = bin.string();
  const std::string prep =
      b + "/hesp-pack synth --layout afew --out " + w +
      "/synth --clips-per-class 12 --frames 12 "
      "--size 72 --seed 7 > /dev/null && " +
      b + "/hesp-pack convert --format afew --root " + w + "/synth --output " + w +
      "/packed --frames-per-clip 8 --size 72 --threads 2 > /dev/null 2>&1 && " + b +
      "/hesp clip init --arch tiny --seed 0 --out " + w + "/clip.safetensors > /dev/null && " + b +
      "/hesp train --config " HESP_SOURCE_DIR "/configs/demo/hesp.pbtxt --run-dir " + w +
      "/run --set 'data.manifests=[\"" + w + "/packed\"]' --set model.clip_weights=" + w +
      "/clip.safetensors --set 'schedule={kind: custom epochs: 1}' > " + w + "/train.log 2>&1";
  if (std::system(prep.c_str()) != 0) {
    std::cerr << "preparing the run failed: " << prep << "\n";
    return 1;
  }
  auto world = comm::world();
  const int threads = threads::configure(0, 1);
  eval::PredictorOptions po;
  po.run_dir = work / "run";
  const eval::Predictor predictor(po);
  const auto& exp = predictor.experiment();
  const auto data = run::open_run_data(exp);
  const auto& test = *data.test;
  const int64_t n = test.size();

  model::CamCache cache;
  const double boxes_s = bench::time_median(
      [&] {
        cache = model::CamCache();
        eval::compute_missing_boxes(exp, predictor.model(), {&test}, *world, &cache);
      },
      3, 0);
  const double eval_s =
      bench::time_median([&] { eval::predict(exp, predictor.model(), test, cache, *world); }, 3, 1);
  const int T = exp.data().frames_per_clip(), S = exp.data().image_size();
  const int64_t batch = exp.eval().batch_size();
  const double predict_s = bench::time_median(
      [&] {
        data::TransformOptions t;
        t.frames = T;
        t.size = S;
        t.training = false;
        for (int64_t i = 0; i < n; i += batch) {
          const int64_t m = std::min(batch, n - i);
          auto frames = torch::empty({m, T, 3, S, S});
          for (int64_t j = 0; j < m; ++j) data::Loader::load_clip(test, i + j, 0, t, frames[j]);
          predictor.predict(frames);
        }
      },
      3, 1);
  nlohmann::json j = {{"name", "predict"},
                      {"threads", threads},
                      {"sgemm_ceiling_gflops", bench::sgemm_ceiling(threads)},
                      {"test_clips", n},
                      {"frames_per_clip", T},
                      {"image_size", S},
                      {"batch_size", batch},
                      {"evaluation_clips_per_s", n / eval_s},
                      {"cam_boxes_clips_per_s", n / boxes_s},
                      {"evaluation_with_boxes_clips_per_s", n / (eval_s + boxes_s)},
                      {"predict_clips_per_s", n / predict_s},
                      {"predict_over_evaluation_with_boxes", (eval_s + boxes_s) / predict_s}};
  bench::write_results("predict", j);
  stdfs::remove_all(work);
  return 0;
}
