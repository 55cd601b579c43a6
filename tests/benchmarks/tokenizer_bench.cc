// CLIP BPE tokenizer throughput: vocabulary load time, then texts/s and ids/s on the 263
// golden strings plus 2,000 generated captions, with a cold BPE cache (first pass over a
// fresh tokenizer) and a warm one. Single-threaded string work: the sgemm ceiling is
// printed only as the machine's reference figure, it does not bound this benchmark.
#include <torch/torch.h>

#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>

#include "bench_util.h"
#include "clip/tokenizer/tokenizer.h"

namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> texts;
  std::ifstream in(HESP_SOURCE_DIR "/tests/data/fixtures/clip/tokenizer_golden.json");
  const nlohmann::json golden = nlohmann::json::parse(in);  // Named: a temporary would dangle.
  for (const auto& c : golden.at("cases")) texts.push_back(c.at("text").get<std::string>());
  const char* subjects[] = {"a man", "a woman", "the child", "an old person", "a teenager"};
  const char* feelings[] = {"happiness", "sadness",  "anger",   "fear",         "surprise",
                            "disgust",   "contempt", "anxiety", "helplessness", "disappointment"};
  const char* scenes[] = {"at a wedding", "in a hospital corridor", "on a crowded bus",
                          "during a thunderstorm", "after the final whistle"};
  for (int i = 0; i < 2000; ++i) {
    texts.push_back(std::string("a video frame of ") + subjects[i % 5] + " showing " +
                    feelings[(i / 5) % 10] + " " + scenes[(i / 50) % 5] + ", take " +
                    std::to_string(i) + ".");
  }
  return texts;
}

}  // namespace

int main() {
  const std::string vocab = HESP_SOURCE_DIR "/src/clip/data/bpe_simple_vocab_16e6.txt.gz";
  const double ceiling = hesp::bench::sgemm_ceiling(1);
  const std::vector<std::string> texts = corpus();
  int64_t total_ids = 0;

  const double load_s =
      hesp::bench::time_median([&] { hesp::clip::Tokenizer tokenizer(vocab); }, 3, 0);
  // Cold: the first pass of a fresh tokenizer (its construction is timed separately above).
  std::vector<double> cold;
  for (int rep = 0; rep < 3; ++rep) {
    hesp::clip::Tokenizer tokenizer(vocab);
    const auto start = std::chrono::steady_clock::now();
    total_ids = 0;
    for (const auto& t : texts) total_ids += static_cast<int64_t>(tokenizer.encode(t).size());
    cold.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(cold.begin(), cold.end());
  const double cold_s = cold[1];
  hesp::clip::Tokenizer tokenizer(vocab);
  const double warm_s = hesp::bench::time_median(
      [&] {
        for (const auto& t : texts) tokenizer.encode(t);
      },
      5, 1);
  const double tensor_s =
      hesp::bench::time_median([&] { tokenizer.tokenize(texts, 77, /*truncate=*/true); }, 5, 1);

  const double n = static_cast<double>(texts.size());
  std::cout << std::fixed << std::setprecision(1) << "sgemm ceiling (1 thread) " << ceiling
            << " GFLOP/s (reference only)\n"
            << "vocabulary load " << load_s * 1e3 << " ms\n"
            << texts.size() << " texts, " << total_ids << " ids\n"
            << "cold cache: " << n / cold_s << " texts/s, " << total_ids / cold_s / 1e6
            << " M ids/s\n"
            << "warm cache: " << n / warm_s << " texts/s, " << total_ids / warm_s / 1e6
            << " M ids/s\n"
            << "tokenize() to [n,77] tensor, warm: " << n / tensor_s << " texts/s" << std::endl;
  hesp::bench::write_results("tokenizer", {{"sgemm_ceiling_gflops_1thread", ceiling},
                                           {"vocab_load_ms", load_s * 1e3},
                                           {"num_texts", texts.size()},
                                           {"num_ids", total_ids},
                                           {"cold_texts_per_s", n / cold_s},
                                           {"cold_ids_per_s", total_ids / cold_s},
                                           {"warm_texts_per_s", n / warm_s},
                                           {"warm_ids_per_s", total_ids / warm_s},
                                           {"tokenize_tensor_texts_per_s", n / tensor_s},
                                           {"peak_rss_mib", hesp::bench::peak_rss_mib()}});
  return 0;
}
