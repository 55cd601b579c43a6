// `hesp predict`: a finished run applied to new clips (docs/predict.md). Inputs are video
// files, frame folders, text files listing either, and packed datasets; every clip gets
// a class or `unknown`, its score, the run's threshold, P_H over the known classes and
// the visual prompt's box. Under mpirun each rank predicts a contiguous share of the
// clips and rank 0 writes them all, in input order.
#include <glog/logging.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/app.h"
#include "cli/predict_media.h"
#include "comm/communicator.h"
#include "comm/communicator_factory.h"
#include "data/loader/dataset.h"
#include "data/loader/loader.h"
#include "eval/predictor.h"
#include "util/errors.h"
#include "util/fs.h"
#include "util/logging.h"
#include "util/strings.h"
#include "util/threads.h"

namespace hesp::cli {
namespace {

namespace stdfs = std::filesystem;

// Length of the valid UTF-8 sequence at s[i] (no overlongs, surrogates or > U+10FFFF), or 0.
size_t utf8_sequence(const std::string& s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  }
  return n;
}

bool is_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// A name as printed and written (docs/predict.md, "Names that are not UTF-8"): valid UTF-8
// unchanged; otherwise each backslash doubled and each byte outside a valid UTF-8 sequence
// written \xNN (two upper-case hex digits), so the bytes can be recovered exactly.
std::string escape_name(const std::string& s) {
  if (is_utf8(s)) return s;
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence(s, i);
    if (n == 0) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02X", static_cast<unsigned char>(s[i]));
      out += buf;
      ++i;
    } else {
      if (s[i] == '\\') out += '\\';
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

// JSON text; bytes that are not UTF-8 (never expected after escape_name) are replaced,
// never thrown on.
std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Without the dataset tools' probe: text is a file without control bytes (bar tab and
// line ends) in its first 4 KiB.
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_manifest(const stdfs::path& p) {
  return p.filename() == "manifest.pbtxt" || stdfs::exists(p / "manifest.pbtxt");
}

// One clip to predict, in output order.
struct Item {
  std::string input;     // The INPUT argument (or list line) it came from, escape_name'd.
  std::string clip_id;   // The path (escape_name'd), or the packed clip's id.
  bool escaped = false;  // The input or id was not UTF-8 and is shown escaped.
  std::string path;      // Video or frame folder (empty for packed clips).
  bool is_video = false;
  const data::Dataset* dataset = nullptr;  // Packed clip: its dataset and index.
  int64_t index = 0;
  std::string error;  // Set when the input cannot even be listed.
};

// --- inputs -> items ---
class InputExpander {
 public:
  InputExpander(const eval::Predictor& predictor, std::string split)
      : predictor_(predictor), split_(std::move(split)) {}

  void add(const std::string& input, const std::string& listed_in = "") {
    const stdfs::path p(input);
    std::error_code ec;
    const std::string where =
        escape_name(listed_in.empty() ? input : input + " (listed in " + listed_in + ")");
    if (!stdfs::exists(p, ec)) return fail(where, "no such file or folder");
    if (is_manifest(p)) return add_packed(input, where);
    if (stdfs::is_directory(p, ec)) return add_file(input, false);
    // Media by content, never by extension: a video FFmpeg recognises, else a text list.
    const MediaProbe media = probe_media(p.string());
    if (media.kind == MediaProbe::kVideo) return add_file(input, true);
    if (!listed_in.empty()) {
      return fail(where, "neither a video, a frame folder nor a manifest (" + media.why + ")");
    }
    if (media.kind != MediaProbe::kText) {
      return fail(where, "not a supported video (" + media.why + "), nor a text list of inputs");
    }
    // A text file listing videos or frame folders (relative to the list's folder).
    std::istringstream lines(fs::read_file(p));
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
      line = strings::trim(line);
      if (line.empty() || line[0] == '#') continue;
      stdfs::path entry(line);
      if (entry.is_relative()) entry = p.parent_path() / entry;
      add(entry.string(), input);
      ++n;
    }
    if (n == 0) fail(where, "lists no video or frame folder");
  }

  std::vector<Item>& items() { return items_; }

 private:
  void fail(const std::string& where, const std::string& why) {
    Item it;
    it.input = where;
    it.clip_id = where;
    it.error = where + ": " + escape_name(why);
    items_.push_back(std::move(it));
  }

  void add_file(const std::string& path, bool video) {
    Item it;
    it.path = path;
    it.input = it.clip_id = escape_name(path);
    it.escaped = it.input != path;
    it.is_video = video;
    items_.push_back(std::move(it));
  }

  void add_packed(const std::string& input, const std::string& where) {
    data::DatasetOptions o;
    o.manifests.emplace_back(input);
    for (const auto& m : predictor_.experiment().data().class_map()) {
      o.class_map.emplace_back(m.from(), m.to());
    }
    if (!split_.empty()) o.splits = strings::split(split_, ',');
    o.known_classes = predictor_.known_classes();
    o.unknown = data::UnknownClasses::kMinusOne;
    try {
      datasets_.push_back(std::make_unique<data::Dataset>(o));
    } catch (const UserError& e) {
      return fail(where, e.what());
    }
    const auto& ds = *datasets_.back();
    if (ds.size() == 0) {
      return fail(where, split_.empty() ? "holds no clip" : "holds no clip of split " + split_);
    }
    for (const auto& c : ds.clips()) {
      Item it;
      it.input = escape_name(input);
      it.clip_id = escape_name(c.clip_id);
      it.escaped = it.input != input || it.clip_id != c.clip_id;
      it.dataset = &ds;
      it.index = c.index;
      items_.push_back(std::move(it));
    }
  }

  const eval::Predictor& predictor_;
  std::string split_;
  std::vector<Item> items_;
  std::vector<std::unique_ptr<data::Dataset>> datasets_;
};

// The evaluation view of one item [T, 3, S, S]; throws UserError naming it.
torch::Tensor load_item(const eval::Predictor& predictor, const Item& it) {
  const auto& exp = predictor.experiment();
  const int T = exp.data().frames_per_clip(), S = exp.data().image_size();
  if (it.dataset) {
    data::TransformOptions t;
    t.frames = T;
    t.size = S;
    t.training = false;
    t.seed = exp.train().seed();
    auto out = torch::empty({T, 3, S, S});
    data::Loader::load_clip(*it.dataset, it.index, 0, t, out);
    return out;
  }
  const RawClip raw = decode_for_predict(it.path, it.is_video, predictor.pack_params());
  return eval::evaluation_view(raw.rgb, raw.frames, raw.size, T, S);
}

nlohmann::json record(const eval::Predictor& predictor, const Item& it,
                      const eval::ClipPrediction& p) {
  const auto& known = predictor.known_classes();
  nlohmann::json probs = nlohmann::json::object();
  for (size_t k = 0; k < known.size(); ++k) probs[known[k]] = p.probabilities[k];
  nlohmann::json j = {{"input", it.input},
                      {"clip_id", it.clip_id},
                      {"prediction", p.unknown ? "unknown" : known[p.class_index]},
                      {"class", known[p.class_index]},
                      {"class_index", p.class_index},
                      {"unknown", p.unknown},
                      {"score", p.score},
                      {"threshold", predictor.threshold()},
                      {"probabilities", probs}};
  j["box"] = nlohmann::json(nullptr);
  if (p.box_size > 0) j["box"] = {{"top", p.box_top}, {"left", p.box_left}, {"size", p.box_size}};
  if (p.padding_width > 0) j["box"] = {{"padding", p.padding_width}};
  if (it.escaped) j["escaped"] = true;
  if (it.dataset) {
    const auto& c = it.dataset->clip(it.index);
    j["label"] = c.label >= 0 ? c.class_name : (c.class_name.empty() ? "" : "unknown");
    j["label_class"] = c.class_name;
  }
  return j;
}

// Predicts items [begin, end) in batches; one JSON line per item ("order" = its index).
std::string predict_share(const eval::Predictor& predictor, const std::vector<Item>& items,
                          int64_t begin, int64_t end, int64_t batch_size) {
  std::string out;
  auto emit = [&out](nlohmann::json j) { out += dump_json(j) + "\n"; };
  for (int64_t i = begin; i < end;) {
    // Load up to batch_size clips; failures are recorded, the others predicted.
    std::vector<torch::Tensor> views;
    std::vector<int64_t> which;
    for (; i < end && static_cast<int64_t>(views.size()) < batch_size; ++i) {
      const auto& it = items[static_cast<size_t>(i)];
      if (!it.error.empty()) {
        emit({{"order", i}, {"error", it.error}});
        continue;
      }
      try {
        views.push_back(load_item(predictor, it));
        which.push_back(i);
      } catch (const UserError& e) {
        emit({{"order", i}, {"error", escape_name(e.what())}});
      }
    }
    if (views.empty()) continue;
    const auto preds = predictor.predict(torch::stack(views));
    for (size_t b = 0; b < preds.size(); ++b) {
      auto j = record(predictor, items[static_cast<size_t>(which[b])], preds[b]);
      j["order"] = which[b];
      emit(std::move(j));
    }
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string to_csv(const std::vector<nlohmann::json>& rows, const std::vector<std::string>& known) {
  std::ostringstream s;
  s.precision(17);
  s << "input,clip_id,prediction,class,score,threshold,box_top,box_left,box_size";
  for (const auto& k : known) s << ",p_" << csv_field(k);
  s << "\n";
  for (const auto& r : rows) {
    s << csv_field(r["input"].get<std::string>()) << ","
      << csv_field(r["clip_id"].get<std::string>()) << ","
      << csv_field(r["prediction"].get<std::string>()) << ","
      << csv_field(r["class"].get<std::string>()) << "," << r["score"].get<double>() << ","
      << r["threshold"].get<double>();
    if (r["box"].is_null() || !r["box"].contains("size")) {
      s << ",,,";
    } else {
      s << "," << r["box"]["top"] << "," << r["box"]["left"] << "," << r["box"]["size"];
    }
    for (const auto& k : known) s << "," << r["probabilities"][k].get<double>();
    s << "\n";
  }
  return s.str();
}

}  // namespace

void add_predict_commands(CLI::App& app, const GlobalOptions& global) {
  auto* predict = app.add_subcommand(
      "predict",
      "apply a finished run to videos, frame folders, lists of them or packed datasets; "
      "exit 1 if any input failed (the others are still predicted)");
  struct Options {
    std::string run_dir, checkpoint, weights, split, output, device;
    std::vector<std::string> inputs;
    int batch_size = 0;
    bool force_weights = false;
  };
  auto o = std::make_shared<Options>();
  predict->add_option("--run", o->run_dir, "run directory of a finished `hesp train`")->required();
  predict->add_option("--checkpoint", o->checkpoint,
                      "checkpoint file to use (default: the run's final one)");
  predict->add_option("--weights", o->weights,
                      "CLIP weights (default: the run's model.clip_weights); must be the bytes "
                      "the run trained with (same sha256), wherever they are now");
  predict->add_flag("--force-weights", o->force_weights,
                    "use --weights even when their sha256 differs from the weights the run "
                    "trained with (logged as a warning)");
  predict->add_option("--split", o->split,
                      "packed inputs: only clips of this split (comma-separated for several)");
  predict->add_option("--output", o->output,
                      "predictions file, .jsonl or .csv (default: JSON lines on stdout)");
  predict->add_option("--batch-size", o->batch_size, "clips per forward (default eval.batch_size)")
      ->check(CLI::PositiveNumber);
  predict->add_option("--device", o->device, "cpu or cuda (default: the run's train.device)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  predict
      ->add_option("inputs", o->inputs,
                   "videos (any container FFmpeg recognises by content), frame folders, text "
                   "files listing either, packed datasets (folder with manifest.pbtxt)")
      ->required();
  set_action(predict, [o, &global] {
    auto world = comm::world();
    logging::configure_for_rank(world->rank(), global.log_all_ranks);
    threads::configure(global.threads, world->local_size());
    const bool csv = ends_with(o->output, ".csv");
    if (!o->output.empty() && !csv && !ends_with(o->output, ".jsonl")) {
      throw ConfigError("--output must end in .jsonl or .csv (got " + o->output + ")");
    }
    // --- the run (every rank; a bad run stops all of them with the same message) ---
    eval::PredictorOptions po;
    po.run_dir = o->run_dir;
    po.checkpoint = o->checkpoint;
    po.weights = o->weights;
    po.force_weights = o->force_weights;
    po.device = o->device;
    po.local_rank = world->local_rank();
    const eval::Predictor predictor(po);
    LOG(INFO) << "run " << o->run_dir << ": " << predictor.known_classes().size()
              << " known classes, threshold " << predictor.threshold()
              << (predictor.checkpoint().empty() ? std::string()
                                                 : ", " + predictor.checkpoint().string());
    // --- inputs -> clips, each rank a contiguous share ---
    InputExpander expander(predictor, o->split);
    for (const auto& in : o->inputs) expander.add(in);
    const auto& items = expander.items();
    const int64_t n = static_cast<int64_t>(items.size());
    const int64_t begin = n * world->rank() / world->size();
    const int64_t end = n * (world->rank() + 1) / world->size();
    const int64_t batch =
        o->batch_size > 0 ? o->batch_size : predictor.experiment().eval().batch_size();
    const std::string mine = predict_share(predictor, items, begin, end, batch);
    // --- gather to rank 0, write in input order ---
    // The JSON lines travel as one int32 per byte (all_gather_v concatenates in rank order).
    auto codes = torch::empty({static_cast<int64_t>(mine.size())}, torch::kInt32);
    int32_t* code = codes.data_ptr<int32_t>();
    for (size_t k = 0; k < mine.size(); ++k) code[k] = static_cast<unsigned char>(mine[k]);
    const auto all = world->all_gather_v(codes).contiguous();
    int failed = 0;
    if (world->is_root()) {
      std::vector<nlohmann::json> rows(static_cast<size_t>(n));
      std::string text_all(static_cast<size_t>(all.numel()), ' ');
      const int32_t* c = all.data_ptr<int32_t>();
      for (size_t k = 0; k < text_all.size(); ++k) text_all[k] = static_cast<char>(c[k]);
      std::istringstream lines(text_all);
      std::string line;
      while (std::getline(lines, line)) {
        auto j = nlohmann::json::parse(line);
        // The index first: json's operator= takes its argument by value, so in
        // `rows[j[...]] = std::move(j)` (right operand first) j would be empty already.
        const auto order = j["order"].get<size_t>();
        rows[order] = std::move(j);
      }
      std::vector<nlohmann::json> ok;
      for (auto& r : rows) {
        if (r.contains("error")) {
          std::cerr << "error: " << r["error"].get<std::string>() << std::endl;
          ++failed;
        } else {
          r.erase("order");
          ok.push_back(std::move(r));
        }
      }
      std::string text;
      if (csv) {
        text = to_csv(ok, predictor.known_classes());
      } else {
        for (const auto& r : ok) text += dump_json(r) + "\n";
      }
      if (o->output.empty()) {
        std::cout << text << std::flush;
      } else {
        fs::atomic_write_file(o->output, text);
      }
      LOG(INFO) << ok.size() << " clip(s) predicted, " << failed << " failed"
                << (o->output.empty() ? std::string() : " -> " + o->output);
    }
    failed = static_cast<int>(world->all_reduce_double(failed, comm::ReduceOp::kMax));
    return failed > 0 ? kExitFailure : kExitOk;
  });
}

}  // namespace hesp::cli
