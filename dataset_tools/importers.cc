#include "importers.h"

#include <glog/logging.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <utility>

#include "media/source_paths.h"
#include "media/video_decode.h"
#include "text_lines.h"
#include "util/errors.h"

namespace hesp::pack {
namespace {

namespace stdfs = std::filesystem;

// A folder's entries in name order, without file-system litter (is_metadata_name).
std::vector<stdfs::path> sorted_entries(const stdfs::path& dir) {
  std::vector<stdfs::path> v;
  std::error_code ec;
  for (stdfs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!is_metadata_name(it->path().filename().string())) v.push_back(it->path());
  }
  if (ec) throw UserError("cannot list folder " + dir.string() + ": " + ec.message());
  std::sort(v.begin(), v.end());
  return v;
}

// A file in a scanned class folder that is a clip: a video by content (video_decode.h), or
// bytes FFmpeg does not recognise at all (kept, so that a damaged video is rejected with a
// reason rather than silently dropped). Text, audio-only files, still images and other media
// FFmpeg recognises are not clips; `why_not` says what they are.
bool is_clip_file(const stdfs::path& p, std::string* why_not) {
  const VideoProbe probe = probe_video(p.string());
  *why_not = probe.why_not;
  return probe.kind == VideoProbe::kVideo || probe.kind == VideoProbe::kUnknown;
}

bool is_dir(const stdfs::path& p) {
  std::error_code ec;
  return stdfs::is_directory(p, ec);
}

bool is_file(const stdfs::path& p) {
  std::error_code ec;
  return stdfs::is_regular_file(p, ec);
}

// The id a label/split file gives a clip: the stem of the last path component
// ("03747.mp4", "data/clips/03747.mp4", "D:\\MAFW\\clips\\03747.mp4" -> "03747").
std::string id_from_listed_name(const std::string& listed) {
  const auto lp = normalise_listed_path(listed);
  if (lp.components.empty()) return listed;
  const std::string& last = lp.components.back();
  const auto dot = last.rfind('.');
  return dot == std::string::npos || dot == 0 ? last : last.substr(0, dot);
}

void require_dir(const stdfs::path& p, const std::string& what) {
  if (!is_dir(p)) throw UserError(what + " not found: " + p.string());
}

void require_file(const stdfs::path& p, const std::string& what) {
  if (!is_file(p)) throw UserError(what + " not found: " + p.string());
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
  const bool have_frames = !frames_dir.empty() && is_dir(frames_dir);
  const bool have_video = !video.empty() && is_file(video);
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
      if (is_dir(d / c)) return true;
    }
    return false;
  };
  std::vector<stdfs::path> split_dirs;
  if (has_class_dirs(root)) {
    split_dirs.push_back(root);  // The root is itself a split folder (e.g. Train_AFEW).
  } else {
    for (const auto& d : sorted_entries(root)) {
      if (is_dir(d) && has_class_dirs(d)) split_dirs.push_back(d);
    }
  }
  if (split_dirs.empty()) {
    throw UserError("AFEW root " + root.string() +
                    " has no split folder with class folders (Train_AFEW/Angry/...)");
  }
  ImportResult r;
  r.class_names = classes.names();
  int64_t not_clips = 0;  // Files beside the clips that are not videos (said once, below).
  std::string first_not_clip;
  for (const auto& split_dir : split_dirs) {
    const std::string split = split_dir.filename().string();
    for (const auto& class_dir : sorted_entries(split_dir)) {
      if (!is_dir(class_dir)) continue;
      const std::string cls = class_dir.filename().string();
      // A clip is a frame folder or a video; a folder named like a video ("x.avi/") is a
      // frame folder named by its full name.
      std::map<std::string, std::pair<stdfs::path, stdfs::path>> found;  // stem -> (dir, video)
      for (const auto& e : sorted_entries(class_dir)) {
        if (is_dir(e)) {
          found[e.filename().string()].first = e;
        } else if (is_file(e)) {
          std::string why_not;
          if (is_clip_file(e, &why_not)) {
            auto& v = found[e.stem().string()].second;
            if (v.empty()) v = e;  // Several containers of one stem: the first by name.
          } else {
            ++not_clips;
            if (not_clips == 1) first_not_clip = printable(e.string()) + " (" + why_not + ")";
          }
        }
      }
      for (const auto& [stem, media] : found) {
        ClipSource c;
        c.clip_id = split + "/" + cls + "/" + stem;
        c.key = stem;
        c.split = split;
        const stdfs::path& video = media.second;
        const stdfs::path& frames = media.first;
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
  if (not_clips > 0) {
    LOG(INFO) << "AFEW: " << not_clips
              << " file(s) in class folders are not videos and not clips (audio tracks, "
                 "text, images), e.g. "
              << first_not_clip;
  }
  return r;
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
    bool first = true;
    for (const auto& line : read_text_lines(p.string(), "MAFW label file")) {
      const auto f = split_fields(line.text);
      if (std::exchange(first, false) && is_header_row(f)) continue;
      if (f.size() < 2) continue;
      const std::string id = id_from_listed_name(f[0]);
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
      bool first = true;
      for (const auto& line : read_text_lines(f.string(), "MAFW split file")) {
        const auto fields = split_fields(line.text);
        if (std::exchange(first, false) && is_header_row(fields)) continue;
        const std::string id = id_from_listed_name(fields[0]);
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

// One reference-list line: `<frame dir> <frames> <label> [<ClassName>]`, the frame dir
// possibly holding spaces (the numbers are found from the right).
struct ReferenceLine {
  bool ok = false;
  std::string path;
  int frames = 0, label = 0;
  std::string label_text, class_name;
};

ReferenceLine parse_reference_line(const std::string& text) {
  const auto f = split_fields(text);
  const size_t n = f.size();
  ReferenceLine r;
  auto take = [&](size_t path_fields, size_t at, bool named) {
    if (path_fields < 1 || !parse_int(f[at], &r.frames) || !parse_int(f[at + 1], &r.label)) {
      return false;
    }
    r.path = leading_fields_text(text, path_fields);
    r.label_text = f[at + 1];
    r.class_name = named ? f[at + 2] : "";
    r.ok = true;
    return true;
  };
  if (n >= 4 && take(n - 3, n - 3, true)) return r;
  if (n >= 3 && take(n - 2, n - 2, false)) return r;
  return r;
}

ImportResult import_reference_list(const ImportOptions& opts) {
  if (opts.lists.empty()) throw ConfigError("--format reference-list needs --list split=FILE");
  const stdfs::path root(opts.root);
  require_dir(root, "dataset root");
  struct Line {
    std::string split, file;
    TextLine line;
    ReferenceLine parsed;
  };
  std::vector<Line> lines;
  std::map<int, std::string> names_by_label;
  for (const auto& [split, file] : opts.lists) {
    bool first = true;
    for (const auto& text : read_text_lines(file, "reference list")) {
      if (std::exchange(first, false) && is_header_row(split_fields(text.text))) continue;
      Line l{split, file, text, parse_reference_line(text.text)};
      if (l.parsed.ok && !l.parsed.class_name.empty()) {
        auto [it, inserted] = names_by_label.emplace(l.parsed.label, l.parsed.class_name);
        if (!inserted && it->second != l.parsed.class_name && opts.class_names.empty()) {
          throw UserError(file + ":" + std::to_string(text.number) + ": label " +
                          l.parsed.label_text + " named '" + printable(l.parsed.class_name) +
                          "' but earlier '" + printable(it->second) + "'; pass --class-names");
        }
      }
      lines.push_back(std::move(l));
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
  std::map<std::string, ListedPathResolver> resolvers;  // One per list file.
  for (const auto& l : lines) {
    auto& resolver = resolvers.try_emplace(l.file, root).first->second;
    ClipSource c;
    c.split = l.split;
    if (!l.parsed.ok) {
      const auto f = split_fields(l.line.text);
      const auto where = resolver.resolve(f.empty() ? "" : f[0]);
      c.clip_id = where.clip_id;
      c.path = where.path.string();
      c.reject_reason = reason::kBadAnnotation;
      c.reject_detail = l.file + ":" + std::to_string(l.line.number) +
                        ": expected '<frame dir> <frames> <label> [<class>]'";
      r.clips.push_back(std::move(c));
      continue;
    }
    const auto where = resolver.resolve(l.parsed.path);
    c.clip_id = where.clip_id;
    c.expected_frames = l.parsed.frames;
    set_label(c, classes.from_default_index(l.parsed.label), "label " + l.parsed.label_text);
    set_path(c, where.path, {}, "frames");
    if (!where.found && c.reject_reason == reason::kMissingFolder) {
      c.reject_detail = "'" + l.parsed.path + "' (" + l.file + ":" + std::to_string(l.line.number) +
                        ") is not under --root, not even by its last component(s): no " +
                        where.path.string();
    }
    r.clips.push_back(std::move(c));
  }
  return r;
}

// The clip number a DFEW split file gives: "1", "00001", or a path/name ending in it.
bool dfew_id(const std::string& field, int* id) {
  if (parse_int(field, id)) return true;
  return parse_int(id_from_listed_name(field), id);
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
    bool first = true;
    for (const auto& line : read_text_lines(f.string(), "DFEW split file")) {
      const auto fields = split_csv(line.text);
      int id = 0, label = 0;
      if (fields.empty()) continue;
      if (std::exchange(first, false) && (is_header_row(fields) || !dfew_id(fields[0], &id))) {
        continue;  // header
      }
      ClipSource c;
      c.split = "set_" + std::to_string(set) + "/" + part;
      if (fields.size() < 2 || !dfew_id(fields[0], &id) || !parse_int(fields[1], &label)) {
        c.clip_id = fields[0];
        c.reject_reason = reason::kBadAnnotation;
        c.reject_detail =
            f.string() + ":" + std::to_string(line.number) + ": expected video_name,label";
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
    ListedPathResolver resolver(root, {"2_ClipsforFaceCrop", ""});
    bool first = true;
    for (const auto& line : read_text_lines(f.string(), "FERV39k split file")) {
      auto fields = split_csv(line.text);
      if (fields.empty() || fields[0].empty()) continue;
      if (std::exchange(first, false) && is_header_row(fields)) continue;
      // "<Scene>/<Emotion>/<id> <label>" with a blank instead of a comma.
      if (fields.size() == 1) fields = split_fields(line.text);
      const auto where = resolver.resolve(fields[0]);
      ClipSource c;
      c.clip_id = where.clip_id;
      c.split = part;
      // The label: a number (FERV39k order), a class name, or the path's emotion folder.
      int label = -1, numeric = 0;
      std::string name = stdfs::path(where.clip_id).parent_path().filename().string();
      if (fields.size() >= 2 && parse_int(fields[1], &numeric)) {
        label = classes.from_default_index(numeric);
        name = "label " + fields[1];
      } else {
        if (fields.size() >= 2 && !fields[1].empty()) name = fields[1];
        label = classes.lookup(name);
      }
      set_label(c, label, name);
      set_path(c, where.path, {}, "frames");
      r.clips.push_back(std::move(c));
    }
  }
  return r;
}

ImportResult import_csv(const ImportOptions& opts) {
  const stdfs::path root(opts.root);
  require_dir(root, "dataset root");
  const std::string file = opts.csv_file.empty() ? (root / "clips.csv").string() : opts.csv_file;
  struct Row {
    std::vector<std::string> fields;
    int number;
  };
  std::vector<Row> rows;
  bool first = true;
  for (const auto& line : read_text_lines(file, "CSV annotation file")) {
    auto f = split_csv(line.text);
    if (f.empty()) continue;
    if (std::exchange(first, false) && is_header_row(f)) continue;
    rows.push_back({std::move(f), line.number});
  }
  std::vector<std::string> defaults = opts.class_names;
  if (defaults.empty()) {
    std::set<std::string> names;
    int numeric = 0;
    for (const auto& row : rows) {
      const auto& f = row.fields;
      if (f.size() >= 2 && !f[1].empty() && !parse_int(f[1], &numeric) && is_valid_utf8(f[1])) {
        names.insert(f[1]);
      }
    }
    defaults.assign(names.begin(), names.end());
  }
  ClassResolver classes(defaults, opts);
  ImportResult r;
  r.class_names = classes.names();
  ListedPathResolver resolver(root);
  for (const auto& row : rows) {
    const auto& f = row.fields;
    const auto where = resolver.resolve(f[0]);
    ClipSource c;
    c.clip_id = where.clip_id;
    c.split = f.size() >= 3 && !f[2].empty() ? f[2] : "all";
    int numeric = 0;
    const std::string label_text = f.size() >= 2 ? f[1] : "";
    if (parse_int(label_text, &numeric)) {
      set_label(c, classes.from_default_index(numeric), "label " + label_text);
    } else {
      set_label(c, classes.lookup(label_text), label_text);
    }
    // A listed file is a video clip (its bytes decide whether it decodes); a folder holds
    // frames. A listed path that does not exist is reported as a missing video when its last
    // component has an extension, else as a missing frame folder.
    const bool listed_file =
        is_file(where.path) ||
        (!is_dir(where.path) && where.path.has_extension() && !stdfs::exists(where.path));
    if (listed_file) {
      set_path(c, {}, where.path, "video");
    } else {
      set_path(c, where.path, {}, "frames");
    }
    r.clips.push_back(std::move(c));
  }
  return r;
}

// Names that are not UTF-8, duplicate ids, label conflicts and leakage (the clips are in
// the order the importer produced them; the first occurrence is the reference).
void check_integrity(ImportResult* r) {
  for (auto& c : r->clips) {
    for (std::string* field : {&c.clip_id, &c.split, &c.compound_label}) {
      if (is_valid_utf8(*field)) continue;
      const std::string shown = printable(*field);
      if (c.reject_reason.empty() || c.reject_reason == reason::kUnknownLabel) {
        c.reject_reason = reason::kNonUtf8Name;
        c.reject_detail = "'" + shown +
                          "' is not valid UTF-8 (bytes shown as \\xNN): rename it, e.g. "
                          "convmv -f latin1 -t utf8";
      }
      *field = shown;
    }
    if (!is_valid_utf8(c.key)) c.key = printable(c.key);
  }
  auto label_name = [&](int label) {
    return label >= 0 && label < static_cast<int>(r->class_names.size())
               ? r->class_names[static_cast<size_t>(label)]
               : std::string("-1");
  };
  // Same id listed again: the later one is rejected; a different label or split is also an
  // integrity finding.
  std::map<std::string, size_t> first_by_id;
  std::map<std::string, size_t> first_by_key;
  for (size_t i = 0; i < r->clips.size(); ++i) {
    auto& c = r->clips[i];
    const auto [it, inserted] = first_by_id.emplace(c.clip_id, i);
    if (!inserted) {
      const ClipSource& a = r->clips[it->second];
      std::string why;
      if (a.label != c.label && a.label >= 0 && c.label >= 0) {
        why = "; labels differ: " + label_name(a.label) + " vs " + label_name(c.label);
        r->issues.push_back({integrity::kLabelConflict, c.clip_id, a.clip_id,
                             "split " + a.split + " label " + label_name(a.label) + " vs split " +
                                 c.split + " label " + label_name(c.label)});
      }
      if (a.split != c.split) {
        why += "; also in split " + a.split;
        r->issues.push_back({integrity::kLeakage, c.clip_id, a.clip_id,
                             "listed in split " + a.split + " and in split " + c.split});
      }
      if (c.reject_reason.empty()) {
        c.reject_reason = reason::kDuplicateClipId;
        c.reject_detail = "clip id already listed earlier" + why;
      }
      continue;
    }
    if (c.key.empty() || !c.reject_reason.empty()) continue;
    const auto [kt, new_key] = first_by_key.emplace(c.key, i);
    if (new_key) continue;
    const ClipSource& a = r->clips[kt->second];
    if (a.label != c.label) {
      r->issues.push_back(
          {integrity::kLabelConflict, c.clip_id, a.clip_id,
           "clip " + c.key + " labelled " + label_name(a.label) + " and " + label_name(c.label)});
    }
    if (a.split != c.split) {
      r->issues.push_back({integrity::kLeakage, c.clip_id, a.clip_id,
                           "clip " + c.key + " in split " + a.split + " and in split " + c.split});
    }
  }
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
  check_integrity(&r);
  return r;
}

}  // namespace hesp::pack
