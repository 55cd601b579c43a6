#include "importers.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "text_lines.h"
#include "util/errors.h"

namespace hesp::pack {
namespace {

namespace stdfs = std::filesystem;

bool is_video_file(const stdfs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), ::tolower);
  return e == ".avi" || e == ".mp4" || e == ".mkv" || e == ".mov" || e == ".webm";
}

std::vector<stdfs::path> sorted_entries(const stdfs::path& dir) {
  std::vector<stdfs::path> v;
  for (const auto& e : stdfs::directory_iterator(dir)) v.push_back(e.path());
  std::sort(v.begin(), v.end());
  return v;
}

void require_dir(const stdfs::path& p, const std::string& what) {
  if (!stdfs::is_directory(p)) throw UserError(what + " not found: " + p.string());
}

void require_file(const stdfs::path& p, const std::string& what) {
  if (!stdfs::is_regular_file(p)) throw UserError(what + " not found: " + p.string());
}

// Output class list and source-name lookup: --class-names fixes the output order;
// otherwise the dataset's defaults renamed through --map / --class-map.
class ClassResolver {
 public:
  ClassResolver(const std::vector<std::string>& defaults, const ImportOptions& opts)
      : defaults_(defaults), map_(opts.class_map) {
    if (!opts.class_names.empty()) {
      names_ = opts.class_names;
    } else {
      for (const auto& d : defaults) {
        const std::string n = mapped(d);
        if (std::find(names_.begin(), names_.end(), n) == names_.end()) names_.push_back(n);
      }
    }
  }
  std::string mapped(const std::string& source) const {
    auto it = map_.find(source);
    return it == map_.end() ? source : it->second;
  }
  int lookup(const std::string& source_name) const {
    const std::string n = mapped(source_name);
    auto it = std::find(names_.begin(), names_.end(), n);
    return it == names_.end() ? -1 : static_cast<int>(it - names_.begin());
  }
  int from_default_index(int i) const {
    if (i < 0 || i >= static_cast<int>(defaults_.size())) return -1;
    return lookup(defaults_[i]);
  }
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> defaults_;
  std::map<std::string, std::string> map_;
  std::vector<std::string> names_;
};

void set_label(ClipSource& c, int label, const std::string& source_name) {
  c.label = label;
  if (label < 0 && c.reject_reason.empty()) {
    c.reject_reason = reason::kUnknownLabel;
    c.reject_detail = "class '" + printable(source_name) + "' is not in the output class list";
  }
}

// Chooses the frame folder or the video for a clip (option --source).
void set_path(ClipSource& c, const stdfs::path& frames_dir, const stdfs::path& video,
              const std::string& source) {
  const bool have_frames = !frames_dir.empty() && stdfs::is_directory(frames_dir);
  const bool have_video = !video.empty() && stdfs::exists(video);
  const bool want_video =
      source == "video" || (source == "auto" && !have_frames && have_video) || frames_dir.empty();
  if (want_video) {
    c.is_video = true;
    c.path = video.string();
    if (!have_video && c.reject_reason.empty()) {
      c.reject_reason = reason::kMissingVideo;
      c.reject_detail = "no file " + video.string();
    }
  } else {
    c.path = frames_dir.string();
    if (!have_frames && c.reject_reason.empty()) {
      c.reject_reason = reason::kMissingFolder;
      c.reject_detail = "no folder " + frames_dir.string();
    }
  }
}

ImportResult import_afew(const ImportOptions& opts) {
  const stdfs::path root(opts.root);
  require_dir(root, "AFEW root");
  ClassResolver classes(afew_classes(), opts);
  auto has_class_dirs = [&](const stdfs::path& d) {
    for (const auto& c : afew_classes()) {
      if (stdfs::is_directory(d / c)) return true;
    }
    return false;
  };
  std::vector<stdfs::path> split_dirs;
  if (has_class_dirs(root)) {
    split_dirs.push_back(root);  // The root is itself a split folder (e.g. Train_AFEW).
  } else {
    for (const auto& d : sorted_entries(root)) {
      if (stdfs::is_directory(d) && has_class_dirs(d)) split_dirs.push_back(d);
    }
  }
  if (split_dirs.empty()) {
    throw UserError("AFEW root " + root.string() +
                    " has no split folder with class folders (Train_AFEW/Angry/...)");
  }
  ImportResult r;
  r.class_names = classes.names();
  for (const auto& split_dir : split_dirs) {
    const std::string split = split_dir.filename().string();
    for (const auto& class_dir : sorted_entries(split_dir)) {
      if (!stdfs::is_directory(class_dir)) continue;
      const std::string cls = class_dir.filename().string();
      std::set<std::string> stems;
      for (const auto& e : sorted_entries(class_dir)) {
        if (stdfs::is_directory(e) || is_video_file(e)) stems.insert(e.stem().string());
      }
      for (const auto& stem : stems) {
        ClipSource c;
        c.clip_id = split + "/" + cls + "/" + stem;
        c.split = split;
        stdfs::path video;
        for (const char* ext : {".avi", ".mp4", ".mkv", ".mov", ".webm"}) {
          if (stdfs::exists(class_dir / (stem + ext))) {
            video = class_dir / (stem + ext);
            break;
          }
        }
        const stdfs::path frames =
            stdfs::is_directory(class_dir / stem) ? class_dir / stem : stdfs::path();
        set_label(c, classes.lookup(cls), cls);
        if (frames.empty()) {
          set_path(c, {}, video, "video");
        } else {
          set_path(c, frames, video.empty() ? stdfs::path() : video,
                   video.empty() ? "frames" : opts.source);
        }
        r.clips.push_back(std::move(c));
      }
    }
  }
  return r;
}

std::string strip_ext(const std::string& name) {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

ImportResult import_mafw(const ImportOptions& opts) {
  const stdfs::path root(opts.root);
  require_dir(root, "MAFW root");
  if (opts.mafw_labels != "single" && opts.mafw_labels != "compound") {
    throw ConfigError("--mafw-labels must be single or compound, not " + opts.mafw_labels);
  }
  const bool compound = opts.mafw_labels == "compound";
  // Per clip: the single label and the compound name, from the two label files.
  std::map<std::string, std::string> single, multi;
  std::vector<std::string> order;  // Clip order of the label file in use.
  auto read_label_file = [&](const stdfs::path& p, std::map<std::string, std::string>& out,
                             bool record_order) {
    for (const auto& line : read_lines(p.string())) {
      const auto f = split_fields(line);
      if (f.size() < 2) continue;
      const std::string id = strip_ext(f[0]);
      if (record_order) order.push_back(id);  // Repeats are kept: they are duplicates.
      out.emplace(id, f[1]);
    }
  };
  const stdfs::path single_file = root / "single_label.txt", multi_file = root / "multi_label.txt";
  if (!compound) {
    require_file(single_file, "MAFW single_label.txt");
    read_label_file(single_file, single, true);
  }
  if (compound) require_file(multi_file, "MAFW multi_label.txt");
  if (stdfs::exists(multi_file)) read_label_file(multi_file, multi, compound);

  std::vector<std::string> defaults = mafw_classes();
  if (compound) {
    std::set<std::string> names;
    for (const auto& [id, name] : multi) names.insert(name);
    defaults.assign(names.begin(), names.end());
  }
  ClassResolver classes(defaults, opts);
  // Membership and split: the official fold files, or every labelled clip as "all".
  std::vector<std::pair<std::string, std::string>> members;  // (split, "id label?")
  std::map<std::string, std::string> split_label;            // id -> label in fold file
  if (opts.dataset_set > 0) {
    const std::string set = "set_" + std::to_string(opts.dataset_set);
    const stdfs::path dir = root / "Train & Test Set" / opts.mafw_labels / opts.mafw_caption / set;
    require_dir(dir, "MAFW split folder");
    for (const char* part : {"train", "test"}) {
      const stdfs::path f = dir / (std::string(part) + ".txt");
      require_file(f, "MAFW split file");
      for (const auto& line : read_lines(f.string())) {
        const auto fields = split_fields(line);
        if (fields.empty()) continue;
        const std::string id = strip_ext(fields[0]);
        members.emplace_back(set + "/" + part, id);
        if (fields.size() >= 2) split_label.emplace(id, fields[1]);
      }
    }
  } else {
    for (const auto& id : order) members.emplace_back("all", id);
  }
  ImportResult r;
  r.class_names = classes.names();
  const auto& labels = compound ? multi : single;
  for (const auto& [split, id] : members) {
    ClipSource c;
    c.clip_id = id;
    c.split = split;
    std::string name;
    if (auto it = labels.find(id); it != labels.end()) {
      name = it->second;
    } else if (auto jt = split_label.find(id); jt != split_label.end()) {
      name = jt->second;
    }
    int label = classes.lookup(name);
    int numeric = -1;
    if (label < 0 && parse_int(name, &numeric)) label = classes.from_default_index(numeric);
    set_label(c, label, name.empty() ? "<no label for clip " + id + ">" : name);
    if (auto it = multi.find(id); it != multi.end()) c.compound_label = it->second;
    set_path(c, root / "data" / "frames" / id, root / "data" / "clips" / (id + ".mp4"),
             opts.source);
    r.clips.push_back(std::move(c));
  }
  return r;
}

ImportResult import_reference_list(const ImportOptions& opts) {
  if (opts.lists.empty()) throw ConfigError("--format reference-list needs --list split=FILE");
  const stdfs::path root(opts.root);
  require_dir(root, "dataset root");
  struct Line {
    std::string split, file, text;
    int line_no;
  };
  std::vector<Line> lines;
  std::map<int, std::string> names_by_label;
  for (const auto& [split, file] : opts.lists) {
    int no = 0;
    for (const auto& text : read_lines(file)) {
      ++no;
      const auto f = split_fields(text);
      if (f.empty()) continue;
      lines.push_back({split, file, text, no});
      int label = 0;
      if (f.size() >= 4 && parse_int(f[2], &label)) {
        auto [it, inserted] = names_by_label.emplace(label, f[3]);
        if (!inserted && it->second != f[3] && opts.class_names.empty()) {
          throw UserError(file + ":" + std::to_string(no) + ": label " + f[2] + " named '" + f[3] +
                          "' but earlier '" + it->second + "'; pass --class-names");
        }
      }
    }
  }
  std::vector<std::string> defaults;
  if (opts.class_names.empty()) {
    if (names_by_label.empty()) {
      throw ConfigError("reference lists without class names (4th column): pass --class-names");
    }
    // Labels 0..K-1 named without a hole make the class list; a label past a hole (a
    // typo such as 42) is not a class: its clips are rejected as unknown_label.
    for (int i = 0; names_by_label.count(i); ++i) defaults.push_back(names_by_label[i]);
    if (defaults.empty()) {
      throw ConfigError("reference lists name no class for label 0: pass --class-names");
    }
  } else {
    defaults = opts.class_names;
  }
  ClassResolver classes(defaults, opts);
  ImportResult r;
  r.class_names = classes.names();
  for (const auto& l : lines) {
    const auto f = split_fields(l.text);
    ClipSource c;
    c.clip_id = f[0];
    c.split = l.split;
    int nframes = 0, label = 0;
    if (f.size() < 3 || !parse_int(f[1], &nframes) || !parse_int(f[2], &label)) {
      c.reject_reason = reason::kBadAnnotation;
      c.reject_detail = l.file + ":" + std::to_string(l.line_no) +
                        ": expected '<frame dir> <frames> <label> [<class>]'";
      c.path = (root / f[0]).string();
      r.clips.push_back(std::move(c));
      continue;
    }
    c.expected_frames = nframes;
    set_label(c, classes.from_default_index(label), "label " + f[2]);
    const stdfs::path dir = stdfs::path(f[0]).is_absolute() ? stdfs::path(f[0]) : root / f[0];
    set_path(c, dir, {}, "frames");
    r.clips.push_back(std::move(c));
  }
  return r;
}

ImportResult import_dfew(const ImportOptions& opts) {
  const stdfs::path root(opts.root);
  require_dir(root, "DFEW root");
  const int set = opts.dataset_set > 0 ? opts.dataset_set : 1;
  ClassResolver classes(dfew_classes(), opts);
  ImportResult r;
  r.class_names = classes.names();
  for (const char* part : {"train", "test"}) {
    const stdfs::path f = root / "EmoLabel_DataSplit" / (std::string(part) + "(single-labeled)") /
                          ("set_" + std::to_string(set) + ".csv");
    require_file(f, "DFEW split file");
    int no = 0;
    for (const auto& line : read_lines(f.string())) {
      ++no;
      const auto fields = split_fields(line, true);
      int id = 0, label = 0;
      if (fields.empty() || (no == 1 && !parse_int(fields[0], &id))) continue;  // header
      ClipSource c;
      c.split = "set_" + std::to_string(set) + "/" + part;
      if (fields.size() < 2 || !parse_int(fields[0], &id) || !parse_int(fields[1], &label)) {
        c.clip_id = fields[0];
        c.reject_reason = reason::kBadAnnotation;
        c.reject_detail = f.string() + ":" + std::to_string(no) + ": expected video_name,label";
        r.clips.push_back(std::move(c));
        continue;
      }
      char buf[16];
      std::snprintf(buf, sizeof(buf), "%05d", id);
      c.clip_id = buf;
      set_label(c, classes.from_default_index(label - 1), "label " + fields[1]);
      set_path(c, root / "Clip" / "clip_224x224" / buf, {}, "frames");
      r.clips.push_back(std::move(c));
    }
  }
  return r;
}

ImportResult import_ferv39k(const ImportOptions& opts) {
  const stdfs::path root(opts.root);
  require_dir(root, "FERV39k root");
  ClassResolver classes(ferv39k_classes(), opts);
  ImportResult r;
  r.class_names = classes.names();
  for (const char* part : {"train", "test"}) {
    const stdfs::path f = root / "4_setups" / "All_scenes" / (std::string(part) + "_All.csv");
    require_file(f, "FERV39k split file");
    for (const auto& line : read_lines(f.string())) {
      const auto fields = split_fields(line, true);
      if (fields.empty() || fields[0].empty()) continue;
      const stdfs::path rel(fields[0]);
      ClipSource c;
      c.clip_id = rel.string();
      c.split = part;
      // The label: a number (FERV39k order), a class name, or the path's emotion folder.
      int label = -1, numeric = 0;
      std::string name = rel.parent_path().filename().string();
      if (fields.size() >= 2 && parse_int(fields[1], &numeric)) {
        label = classes.from_default_index(numeric);
        name = "label " + fields[1];
      } else {
        if (fields.size() >= 2 && !fields[1].empty()) name = fields[1];
        label = classes.lookup(name);
      }
      set_label(c, label, name);
      set_path(c, root / "2_ClipsforFaceCrop" / rel, {}, "frames");
      r.clips.push_back(std::move(c));
    }
  }
  return r;
}

ImportResult import_csv(const ImportOptions& opts) {
  const stdfs::path root(opts.root);
  require_dir(root, "dataset root");
  const std::string file = opts.csv_file.empty() ? (root / "clips.csv").string() : opts.csv_file;
  std::vector<std::vector<std::string>> rows;
  for (const auto& line : read_lines(file)) {
    auto f = split_fields(line, true);
    if (f.empty()) continue;
    if (rows.empty() && f[0] == "path") continue;  // header
    rows.push_back(std::move(f));
  }
  std::vector<std::string> defaults = opts.class_names;
  if (defaults.empty()) {
    std::set<std::string> names;
    int numeric = 0;
    for (const auto& f : rows) {
      if (f.size() >= 2 && !parse_int(f[1], &numeric)) names.insert(f[1]);
    }
    defaults.assign(names.begin(), names.end());
  }
  ClassResolver classes(defaults, opts);
  ImportResult r;
  r.class_names = classes.names();
  for (const auto& f : rows) {
    ClipSource c;
    c.clip_id = f[0];
    c.split = f.size() >= 3 && !f[2].empty() ? f[2] : "all";
    int numeric = 0;
    const std::string label_text = f.size() >= 2 ? f[1] : "";
    if (parse_int(label_text, &numeric)) {
      set_label(c, classes.from_default_index(numeric), "label " + label_text);
    } else {
      set_label(c, classes.lookup(label_text), label_text);
    }
    const stdfs::path p = stdfs::path(f[0]).is_absolute() ? stdfs::path(f[0]) : root / f[0];
    if (is_video_file(p)) {
      set_path(c, {}, p, "video");
    } else {
      set_path(c, p, {}, "frames");
    }
    r.clips.push_back(std::move(c));
  }
  return r;
}

}  // namespace

const std::vector<std::string>& importer_formats() {
  static const std::vector<std::string> v = {"afew", "mafw",    "reference-list",
                                             "dfew", "ferv39k", "csv"};
  return v;
}

const std::vector<std::string>& afew_classes() {
  static const std::vector<std::string> v = {"Angry",   "Disgust", "Fear",    "Happy",
                                             "Neutral", "Sad",     "Surprise"};
  return v;
}
const std::vector<std::string>& mafw_classes() {
  static const std::vector<std::string> v = {
      "anger",    "disgust",  "fear",    "happiness",    "neutral",       "sadness",
      "surprise", "contempt", "anxiety", "helplessness", "disappointment"};
  return v;
}
const std::vector<std::string>& dfew_classes() {
  static const std::vector<std::string> v = {"Happy",    "Sad",     "Neutral", "Angry",
                                             "Surprise", "Disgust", "Fear"};
  return v;
}
const std::vector<std::string>& ferv39k_classes() {
  static const std::vector<std::string> v = {"Angry",   "Disgust", "Fear",    "Happy",
                                             "Neutral", "Sad",     "Surprise"};
  return v;
}

ImportResult import_dataset(const std::string& format, const ImportOptions& opts) {
  ImportResult r;
  if (format == "afew") {
    r = import_afew(opts);
  } else if (format == "mafw") {
    r = import_mafw(opts);
  } else if (format == "reference-list") {
    r = import_reference_list(opts);
  } else if (format == "dfew") {
    r = import_dfew(opts);
  } else if (format == "ferv39k") {
    r = import_ferv39k(opts);
  } else if (format == "csv") {
    r = import_csv(opts);
  } else {
    throw ConfigError("unknown --format " + format);
  }
  std::set<std::string> seen;
  for (auto& c : r.clips) {
    if (!seen.insert(c.clip_id).second && c.reject_reason.empty()) {
      c.reject_reason = reason::kDuplicateClipId;
      c.reject_detail = "clip id already listed earlier";
    }
  }
  return r;
}

}  // namespace hesp::pack
