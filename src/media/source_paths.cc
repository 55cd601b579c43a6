#include "media/source_paths.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace hesp::pack {

namespace stdfs = std::filesystem;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string join(const std::vector<std::string>& v, size_t from) {
  std::string s;
  for (size_t i = from; i < v.size(); ++i) s += (s.empty() ? "" : "/") + v[i];
  return s;
}

bool path_exists(const stdfs::path& p) {
  std::error_code ec;
  return stdfs::exists(p, ec);
}

}  // namespace

bool is_metadata_name(const std::string& name) {
  if (name.empty()) return true;
  if (name[0] == '.' || name[0] == '@' || name[0] == '#' || name[0] == '$') return true;
  if (name.back() == '~' || name == "Icon\r") return true;
  static const std::set<std::string> kNames = {
      "thumbs.db", "ehthumbs.db", "ehthumbs_vista.db", "desktop.ini", "system volume information",
      "__macosx"};
  const std::string l = lower(name);
  if (kNames.count(l)) return true;
  for (const char* ext : {".swp", ".swo", ".tmp", ".part", ".crdownload"}) {
    if (ends_with(l, ext)) return true;
  }
  return false;
}

ListedPath normalise_listed_path(const std::string& listed) {
  ListedPath out;
  std::string s = listed;
  std::replace(s.begin(), s.end(), '\\', '/');
  size_t pos = 0;
  if (s.rfind("//?/", 0) == 0 || s.rfind("//./", 0) == 0) {  // Win32 device/long paths
    pos = 4;
    out.foreign = true;
  }
  std::vector<std::string> parts;
  {
    std::string cur;
    for (size_t i = pos; i <= s.size(); ++i) {
      if (i == s.size() || s[i] == '/') {
        parts.push_back(cur);
        cur.clear();
      } else {
        cur += s[i];
      }
    }
  }
  size_t first = 0;
  if (pos == 0 && s.rfind("//", 0) == 0) {
    // UNC: "", "", server, share, ...
    out.foreign = true;
    size_t named = 0;
    first = 0;
    while (first < parts.size() && named < 2) {
      if (!parts[first].empty()) ++named;
      ++first;
    }
  } else if (!parts.empty() && parts[0].empty()) {
    out.foreign = true;  // Absolute POSIX path.
  }
  if (first < parts.size() && parts[first].size() == 2 && parts[first][1] == ':' &&
      std::isalpha(static_cast<unsigned char>(parts[first][0]))) {
    out.foreign = true;  // Drive letter.
    ++first;
  }
  if (pos > 0 && first < parts.size() && lower(parts[first]) == "unc") first += 3;  // \\?\UNC\s\s
  for (size_t i = first; i < parts.size(); ++i) {
    const std::string& c = parts[i];
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!out.components.empty()) out.components.pop_back();
      continue;
    }
    out.components.push_back(c);
  }
  return out;
}

std::string relative_id(const stdfs::path& p, const stdfs::path& root) {
  return p.lexically_relative(root).generic_string();
}

ListedPathResolver::ListedPathResolver(stdfs::path root, std::vector<std::string> bases)
    : root_(std::move(root)), bases_(std::move(bases)) {
  if (bases_.empty()) bases_.push_back("");
}

ListedPathResolver::Result ListedPathResolver::resolve(const std::string& listed) {
  const ListedPath lp = normalise_listed_path(listed);
  const auto& c = lp.components;
  Result r;
  if (c.empty()) {
    r.path = root_;
    return r;
  }
  auto base_path = [&](const std::string& b) { return b.empty() ? root_ : root_ / b; };
  // Longest trailing part first (k = 0: the whole path), under every base.
  for (size_t k = 0; k < c.size(); ++k) {
    for (const auto& b : bases_) {
      const stdfs::path cand = base_path(b) / join(c, k);
      if (path_exists(cand)) {
        r.path = cand;
        // The id is relative to the first base (in order) that holds the clip.
        for (const auto& owner : bases_) {
          const std::string rel = relative_id(cand, base_path(owner));
          if (rel.rfind("..", 0) != 0) {
            r.clip_id = rel;
            break;
          }
        }
        r.found = true;
        learned_prefix_.assign(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(k));
        return r;
      }
    }
  }
  // A foreign absolute path that happens to exist here (the list was written on this
  // machine, for a copy outside --root).
  if (lp.foreign && listed.size() > 0 && (listed[0] == '/') && path_exists(stdfs::path(listed))) {
    r.path = stdfs::path(listed).lexically_normal();
    r.clip_id = join(c, 0);
    r.found = true;
    return r;
  }
  size_t strip = 0;
  if (!learned_prefix_.empty() && learned_prefix_.size() < c.size() &&
      std::equal(learned_prefix_.begin(), learned_prefix_.end(), c.begin())) {
    strip = learned_prefix_.size();
  }
  r.clip_id = join(c, strip);
  r.path = base_path(bases_.front()) / r.clip_id;
  return r;
}

}  // namespace hesp::pack
