// Every field of the experiment schema (src/config/experiment.proto) and of the sweep
// schema (src/sweep/sweep_config.proto) is read by some code path that acts on it (spec
// §9: "no config field may be silently ignored"; issue 11 §3).
//
// Method. The field list comes from the compiled descriptors (so a new field is covered
// the moment it is added). The sources are every .cc/.h under src/ except src/config/,
// whose validation and loading read each field without acting on it, with // and /* */
// comments removed. A field `f` of message M counts as read when a source calls its
// accessor on an M: `X().f(`, `X()->f(`, `X().has_f(` or `X().f_size(`, where X() is an
// accessor of a field of type M (e.g. `visual().size()`), or the same on a variable of
// type M in that file: declared `M& v` / `M v` / `M* v`, `auto& v = ...X();`, or
// `for (const auto& v : ...X())`. Qualifying by the receiver keeps common names apart
// (`size`, `enabled`, `every_epochs` belong to several messages). A field that fails is
// either wired (something acts on it) or removed from the schema. The one exemption:
// kRefusedOldNames, fields kept only so that an old config gets a message naming their
// replacement (validation refuses them; nothing else may read them).
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "config/experiment.pb.h"
#include "sweep/sweep_config.pb.h"

namespace {

namespace pb = google::protobuf;
namespace stdfs = std::filesystem;

// Old field names that validation refuses with a message naming the new one.
const std::set<std::string> kRefusedOldNames = {
    "hesp.config.DistributedConfig.stall_timeout_s",  // Renamed stall_warning_s.
};

std::string strip_comments(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '"') {  // Keep strings whole (they may hold "//").
      const size_t start = i++;
      while (i < text.size() && text[i] != '"' && text[i] != '\n') i += text[i] == '\\' ? 2 : 1;
      ++i;
      out += text.substr(start, std::min(i, text.size()) - start);
    } else if (text.compare(i, 2, "//") == 0) {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (text.compare(i, 2, "/*") == 0) {
      const size_t end = text.find("*/", i + 2);
      i = end == std::string::npos ? text.size() : end + 2;
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

struct Source {
  std::string path, text;
};

std::vector<Source> sources() {
  const stdfs::path src = stdfs::path(HESP_SOURCE_DIR) / "src";
  std::vector<Source> out;
  for (const auto& e : stdfs::recursive_directory_iterator(src)) {
    const auto ext = e.path().extension();
    if (!e.is_regular_file() || (ext != ".cc" && ext != ".h")) continue;
    if (e.path().lexically_relative(src).begin()->string() == "config") continue;
    std::ifstream in(e.path());
    std::stringstream s;
    s << in.rdbuf();
    out.push_back({e.path().lexically_relative(src).string(), strip_comments(s.str())});
  }
  return out;
}

// Every message type reachable from the roots, and the names of the fields of that type.
void collect(const pb::Descriptor* d, std::map<const pb::Descriptor*, std::set<std::string>>* acc) {
  if (acc->count(d)) return;
  (*acc)[d];
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (f->message_type() != nullptr) {
      collect(f->message_type(), acc);
      (*acc)[f->message_type()].insert(f->name());
    }
  }
}

std::string alternatives(const std::set<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : "|") + n;
  return s;
}

// Variables of type `d` in `text`.
std::set<std::string> variables(const std::string& text, const pb::Descriptor* d,
                                const std::set<std::string>& accessors) {
  std::set<std::string> vars;
  // std::regex is slow: a file that names neither the type nor an accessor of it has
  // no variable of it.
  bool mentions = text.find(d->name()) != std::string::npos;
  for (const auto& a : accessors) mentions = mentions || text.find(a + "()") != std::string::npos;
  if (!mentions) return vars;
  std::vector<std::regex> patterns;
  patterns.emplace_back("\\b" + d->name() +
                        "\\s*[&*]?\\s*(?:const\\s*)?[&*]?\\s*([A-Za-z_]\\w*)\\s*[;,)=({:]");
  if (!accessors.empty()) {
    const std::string a = "(?:" + alternatives(accessors) + ")";
    patterns.emplace_back("\\bauto\\s*[&*]?\\s*([A-Za-z_]\\w*)\\s*=[^;]*\\b" + a + "\\(\\)\\s*;");
    patterns.emplace_back(
        "for\\s*\\(\\s*(?:const\\s+)?auto\\s*&?\\s*([A-Za-z_]\\w*)\\s*:[^;{]*\\b" + a +
        "\\(\\)\\s*\\)");
  }
  for (const auto& re : patterns) {
    for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) {
      vars.insert((*it)[1].str());
    }
  }
  return vars;
}

TEST(ConfigFields, EveryFieldIsReadBySomeCodePath) {
  std::map<const pb::Descriptor*, std::set<std::string>> types;
  collect(hesp::config::Experiment::descriptor(), &types);
  collect(hesp::sweep::SweepConfig::descriptor(), &types);
  const auto files = sources();
  ASSERT_GT(files.size(), 50u) << "the sources were not found under " << HESP_SOURCE_DIR;
  std::vector<std::string> unread;
  int fields = 0;
  for (const auto& [type, accessors] : types) {
    // Receivers per file: accessor calls of this type, and variables of this type.
    std::vector<std::string> receivers;
    for (const auto& file : files) {
      std::set<std::string> names;
      for (const auto& v : variables(file.text, type, accessors)) names.insert(v);
      std::string r;
      if (!accessors.empty()) r = "\\b(?:" + alternatives(accessors) + ")\\(\\)";
      if (!names.empty()) r += (r.empty() ? "" : "|") + ("\\b(?:" + alternatives(names) + ")");
      receivers.push_back(r);
    }
    for (int i = 0; i < type->field_count(); ++i) {
      const auto* f = type->field(i);
      ++fields;
      if (kRefusedOldNames.count(f->full_name())) continue;
      bool read = false;
      for (size_t k = 0; k < files.size() && !read; ++k) {
        const bool named = files[k].text.find(f->name() + "(") != std::string::npos ||
                           files[k].text.find(f->name() + "_size(") != std::string::npos;
        if (receivers[k].empty() || !named) {
          continue;
        }
        const std::regex call("(?:" + receivers[k] + ")\\s*(?:\\.|->)\\s*(?:has_)?" + f->name() +
                              "(?:_size)?\\(");
        read = std::regex_search(files[k].text, call);
      }
      if (!read) unread.push_back(f->full_name());
    }
  }
  EXPECT_GT(fields, 100) << "the schemas have more fields than that";
  std::string list;
  for (const auto& u : unread) list += "\n  " + u;
  EXPECT_TRUE(unread.empty()) << unread.size()
                              << " config field(s) read by no code path outside src/config/ "
                                 "(wire each or remove it from the schema):"
                              << list;
}

}  // namespace
