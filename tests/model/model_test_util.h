#pragma once
// Shared set-up for the method tests: the tiny fixture CLIP, the tokenizer and a small
// experiment config whose sizes fit it (64 px images, 2 frames).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "clip/model/clip_model.h"
#include "clip/tokenizer/tokenizer.h"
#include "config/experiment.pb.h"
#include "config/method_traits.h"
#include "model/hesp_model.h"

namespace hesp::model::testing {

inline std::string fixture(const std::string& name) {
  return std::string(HESP_SOURCE_DIR) + "/tests/data/fixtures/clip/" + name;
}

inline std::shared_ptr<clip::ClipModel> tiny_clip() {
  static auto clip = clip::ClipModel::load(fixture("tiny_clip_a.safetensors"));
  return clip;
}

inline const clip::Tokenizer& tokenizer() {
  static clip::Tokenizer tok(std::string(HESP_SOURCE_DIR) +
                             "/src/clip/data/bpe_simple_vocab_16e6.txt.gz");
  return tok;
}

inline config::Experiment tiny_experiment(config::Method method = config::hesp) {
  config::Experiment e;
  e.set_method(method);
  e.mutable_data()->set_image_size(64);
  e.mutable_data()->set_frames_per_clip(2);
  e.mutable_prompts()->mutable_visual()->set_size(16);
  e.mutable_prompts()->mutable_text()->set_num_contexts(4);
  return e;
}

// The model of `exp`, as the trainer builds it: the method's traits and the sections the
// model reads.
inline HespModel make_model(const config::Experiment& exp, std::shared_ptr<clip::ClipModel> clip,
                            const clip::Tokenizer& tok, const std::vector<std::string>& classes) {
  return HespModel(config::method_traits(exp.method()), exp.model(), exp.prompts(), exp.data(),
                   exp.losses(), std::move(clip), tok, classes);
}

}  // namespace hesp::model::testing
