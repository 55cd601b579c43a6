#include "config/validate.h"

#include <sstream>

#include "config/method_traits.h"
#include "util/errors.h"

namespace hesp::config {
namespace {

// Collects "<path> must <rule> (got <value>)" lines.
class Problems {
 public:
  template <typename T>
  void require(bool ok, const std::string& path, const std::string& rule, const T& got) {
    if (ok) return;
    std::ostringstream s;
    s << path << " must " << rule << " (got " << got << ")";
    list_.push_back(s.str());
  }
  void add(const std::string& line) { list_.push_back(line); }
  std::vector<std::string> take() { return std::move(list_); }

 private:
  std::vector<std::string> list_;
};

void check_loss_term(Problems& p, const LossTerm& t, const std::string& name) {
  p.require(t.weight() >= 0, "losses." + name + ".weight", "be >= 0", t.weight());
}

void check_data(Problems& p, const Experiment& e) {
  const DataConfig& d = e.data();
  p.require(d.frames_per_clip() >= 1, "data.frames_per_clip", "be >= 1", d.frames_per_clip());
  p.require(d.image_size() >= 16, "data.image_size", "be >= 16", d.image_size());
  p.require(d.loader_threads() >= 1, "data.loader_threads", "be >= 1", d.loader_threads());
  p.require(d.prefetch_batches() >= 1, "data.prefetch_batches", "be >= 1", d.prefetch_batches());
  p.require(
      d.crop_min_area() > 0 && d.crop_min_area() <= d.crop_max_area() && d.crop_max_area() <= 1,
      "data.crop_min_area/crop_max_area", "satisfy 0 < min <= max <= 1",
      std::to_string(d.crop_min_area()) + "/" + std::to_string(d.crop_max_area()));
  p.require(d.flip_probability() >= 0 && d.flip_probability() <= 1, "data.flip_probability",
            "be in [0, 1]", d.flip_probability());
  p.require(d.validation_fraction() >= 0 && d.validation_fraction() < 1, "data.validation_fraction",
            "be in [0, 1)", d.validation_fraction());
  const OpenSetSplit& s = d.open_set();
  const int ways = (s.known_classes_size() > 0) + (s.num_known() > 0) + s.has_splits_file();
  p.require(ways <= 1, "data.open_set", "use one of known_classes, num_known or splits_file", ways);
  if (s.num_known() > 0 || s.num_unknown() > 0) {
    p.require(s.num_known() >= 2, "data.open_set.num_known", "be >= 2 (K)", s.num_known());
    p.require(s.num_unknown() >= 1, "data.open_set.num_unknown", "be >= 1", s.num_unknown());
  }
  if (s.known_classes_size() > 0) {
    p.require(s.known_classes_size() >= 2, "data.open_set.known_classes",
              "name at least 2 classes (K >= 2)", s.known_classes_size());
  }
  if (s.has_splits_file()) {
    p.require(s.split_index() >= 0, "data.open_set.split_index", "be >= 0 when splits_file is set",
              s.split_index());
  }
  p.require(s.unknown_most_frequent() >= 0, "data.open_set.unknown_most_frequent", "be >= 0",
            s.unknown_most_frequent());
}

void check_prompts(Problems& p, const Experiment& e) {
  const auto& v = e.prompts().visual();
  const int image = e.data().image_size();
  p.require(v.size() >= 1 && v.size() <= image, "prompts.visual.size",
            "be in [1, data.image_size = " + std::to_string(image) + "]", v.size());
  const auto& t = e.prompts().text();
  p.require(t.num_contexts() >= 1 && t.num_contexts() <= 60, "prompts.text.num_contexts",
            "be in [1, 60] (77 tokens hold SOT, contexts, class name, '.', EOT)", t.num_contexts());
  p.require(t.init_std() > 0, "prompts.text.init_std", "be > 0", t.init_std());
  p.require(t.zeroshot_template().find("{}") != std::string::npos, "prompts.text.zeroshot_template",
            "contain {}", t.zeroshot_template());
  const auto& n = e.prompts().negative();
  p.require(n.text_template().find("{}") != std::string::npos, "prompts.negative.text_template",
            "contain {}", n.text_template());
  p.require(n.temperature() > 0, "prompts.negative.temperature", "be > 0", n.temperature());
  p.require(n.image_init_std() > 0, "prompts.negative.image_init_std", "be > 0",
            n.image_init_std());
  // Prompt types of the paper's Fig. 3.
  if (v.box() == VisualPromptConfig::padding) {
    p.require(2 * v.size() < image, "prompts.visual.size",
              "be < data.image_size / 2 with box padding (it is the border width)", v.size());
  }
  const auto& templ = n.text_template();
  const auto at = templ.find("{}");
  p.require(!n.text_learnable() || n.text_enabled(), "prompts.negative.text_learnable",
            "be false when prompts.negative.text_enabled is false", "true");
  p.require(!n.text_class_specific() || n.text_learnable(), "prompts.negative.text_class_specific",
            "be false unless prompts.negative.text_learnable is true (fixed prompts have no "
            "contexts)",
            "true");
  if (n.text_learnable() && at != std::string::npos) {
    p.require(templ.substr(at) == "{}." && at > 0, "prompts.negative.text_template",
              "be words followed by \"{}.\" with text_learnable (the words become the "
              "learnable contexts)",
              templ);
  }
}

void check_losses(Problems& p, const Experiment& e) {
  const LossConfig& l = e.losses();
  check_loss_term(p, l.known_ce(), "known_ce");
  check_loss_term(p, l.supcon(), "supcon");
  check_loss_term(p, l.negative_ce(), "negative_ce");
  check_loss_term(p, l.margin(), "margin");
  check_loss_term(p, l.neg_clip(), "neg_clip");
  check_loss_term(p, l.hybrid(), "hybrid");
  p.require(l.supcon_temperature() > 0, "losses.supcon_temperature", "be > 0",
            l.supcon_temperature());
  p.require(l.margin_weight() >= 0, "losses.margin_weight", "be >= 0", l.margin_weight());
  if (method_traits(e.method()).hesp_prompts && l.hybrid().enabled()) {
    // The combined prediction needs both branches: known logits s and negative logits l.
    const bool have_negative = e.prompts().negative().image_enabled();
    p.require(have_negative, "losses.hybrid",
              "be disabled when prompts.negative.image_enabled is false (combine needs both "
              "branches)",
              "hybrid enabled");
  }
}

void check_optim(Problems& p, const Experiment& e) {
  const OptimConfig& o = e.optim();
  p.require(o.lr() > 0, "optim.lr", "be > 0", o.lr());
  p.require(o.momentum() >= 0 && o.momentum() < 1, "optim.momentum", "be in [0, 1)", o.momentum());
  p.require(o.weight_decay() >= 0, "optim.weight_decay", "be >= 0", o.weight_decay());
  p.require(o.normalized_step_size() > 0, "optim.normalized_step_size", "be > 0",
            o.normalized_step_size());
  const ScheduleConfig& s = e.schedule();
  p.require(s.epochs() >= 0, "schedule.epochs", "be >= 0", s.epochs());
  p.require(s.gamma() > 0 && s.gamma() <= 1, "schedule.gamma", "be in (0, 1]", s.gamma());
  if (s.kind() == ScheduleConfig::custom) {
    p.require(s.epochs() > 0, "schedule.epochs", "be > 0 for kind custom", s.epochs());
  }
  for (int i = 1; i < s.milestones_size(); ++i) {
    p.require(s.milestones(i) > s.milestones(i - 1), "schedule.milestones",
              "be strictly increasing", s.milestones(i));
  }
}

void check_runtime(Problems& p, const Experiment& e) {
  const TrainConfig& t = e.train();
  p.require(t.global_batch_size() >= 1, "train.global_batch_size", "be >= 1",
            t.global_batch_size());
  p.require(t.max_steps_per_epoch() >= 0, "train.max_steps_per_epoch", "be >= 0",
            t.max_steps_per_epoch());
  p.require(!t.bf16_autocast() || t.device() == TrainConfig::cuda, "train.bf16_autocast",
            "only be set with train.device = cuda", "true");
  p.require(t.non_finite().max_consecutive_skips() >= 1, "train.non_finite.max_consecutive_skips",
            "be >= 1", t.non_finite().max_consecutive_skips());
  const EvalConfig& v = e.eval();
  p.require(v.every_epochs() >= 1, "eval.every_epochs", "be >= 1", v.every_epochs());
  p.require(v.threshold_percentile() >= 0 && v.threshold_percentile() <= 100,
            "eval.threshold_percentile", "be in [0, 100]", v.threshold_percentile());
  p.require(v.batch_size() >= 1, "eval.batch_size", "be >= 1", v.batch_size());
  p.require(!v.best_by_validation() || e.data().validation_fraction() > 0,
            "eval.best_by_validation", "come with data.validation_fraction > 0", "true");
  const CheckpointConfig& c = e.checkpoint();
  p.require(c.every_epochs() >= 1, "checkpoint.every_epochs", "be >= 1", c.every_epochs());
  p.require(c.keep_last() >= 1, "checkpoint.keep_last", "be >= 1", c.keep_last());
  const DistributedConfig& d = e.distributed();
  p.require(d.bucket_size_mb() >= 1, "distributed.bucket_size_mb", "be >= 1", d.bucket_size_mb());
  if (d.has_stall_timeout_s()) {
    p.add(
        "distributed.stall_timeout_s was renamed distributed.stall_warning_s (same meaning: "
        "seconds before a stalled collective is reported; 0 = never): rename the field");
  }
  p.require(d.stall_warning_s() >= 0, "distributed.stall_warning_s", "be >= 0 (0 = never)",
            d.stall_warning_s());
  p.require(d.stall_abort_s() >= 0, "distributed.stall_abort_s", "be >= 0 (0 = never)",
            d.stall_abort_s());
  p.require(d.nccl_timeout_s() >= 0, "distributed.nccl_timeout_s", "be >= 0 (0 = never)",
            d.nccl_timeout_s());
  p.require(e.logging().log_every_steps() >= 1, "logging.log_every_steps", "be >= 1",
            e.logging().log_every_steps());
}

}  // namespace

std::vector<std::string> validation_problems(const Experiment& exp) {
  Problems p;
  check_data(p, exp);
  check_prompts(p, exp);
  check_losses(p, exp);
  check_optim(p, exp);
  check_runtime(p, exp);
  return p.take();
}

void validate_or_throw(const Experiment& exp, const std::string& source) {
  const auto problems = validation_problems(exp);
  if (problems.empty()) return;
  std::ostringstream s;
  s << source << ": " << problems.size() << " config problem" << (problems.size() == 1 ? "" : "s")
    << ":";
  for (const auto& line : problems) s << "\n  - " << line;
  throw ConfigError(s.str());
}

}  // namespace hesp::config
