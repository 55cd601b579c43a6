#pragma once
// Shared by the tokenizer tests: one Tokenizer over the shipped vocabulary (loading it takes
// a noticeable fraction of a second, so every test reuses it) and the golden file.
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "clip/tokenizer/tokenizer.h"
#include "util/errors.h"

namespace hesp::clip::testing {

inline std::string shipped_vocab_path() {
  return std::string(HESP_SOURCE_DIR) + "/src/clip/data/bpe_simple_vocab_16e6.txt.gz";
}

inline const Tokenizer& shipped_tokenizer() {
  static const Tokenizer* tokenizer = new Tokenizer(shipped_vocab_path());
  return *tokenizer;
}

inline nlohmann::json load_golden() {
  const std::string path =
      std::string(HESP_SOURCE_DIR) + "/tests/data/fixtures/clip/tokenizer_golden.json";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(in);
}

}  // namespace hesp::clip::testing
