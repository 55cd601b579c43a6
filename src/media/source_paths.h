#pragma once
// Names and paths as they appear in real copies of the datasets (docs/datasets.md, "What
// the packer accepts"): file-system litter that is never a frame or a clip, and paths in
// annotation lists written on other machines and operating systems.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace hesp::pack {

// True for names that file systems, operating systems and editors leave beside data and
// that are never frames, clips or class folders: dotfiles (macOS AppleDouble `._*`,
// `.DS_Store`, `.Trash*`, vim swap files `.x.swp`), `Thumbs.db`, `ehthumbs.db`,
// `desktop.ini`, `Icon\r`, Synology `@eaDir` and other `@`-prefixed NAS folders,
// `#recycle`, `$RECYCLE.BIN`, `System Volume Information`, `__MACOSX`, and backup or
// swap files ending in `~`, `.swp`, `.swo`, `.tmp`, `.part`, `.crdownload`.
bool is_metadata_name(const std::string& name);

// A path as listed, split into components: backslashes are separators, a drive letter
// (`C:`), a UNC server and share (`\\server\share`, `//server/share`) and `\\?\` are
// dropped (they name another machine), `.` and empty components vanish, `..` removes the
// component before it. `foreign` is true when the listed path was absolute or Windows-style.
struct ListedPath {
  std::vector<std::string> components;
  bool foreign = false;
};
ListedPath normalise_listed_path(const std::string& listed);

// Resolves listed paths under --root (one resolver per list file: it learns the foreign
// prefix the list's paths share). A path is looked up as given (relative paths under
// each base), then by its trailing components, longest first, under each base; the first
// that exists wins. The clip id is the found path relative to the base it was found under
// ('/'-separated), never a foreign prefix; a path that exists nowhere gets the listed components
// without the prefix learned from earlier lines of the same list.
class ListedPathResolver {
 public:
  // `bases`: folders (relative to root, "" = root itself) that list paths are relative to,
  // in the order to try.
  ListedPathResolver(std::filesystem::path root, std::vector<std::string> bases = {""});

  struct Result {
    std::filesystem::path path;  // Where the clip is (or would be) on this machine.
    std::string clip_id;         // Base-relative, '/'-separated.
    bool found = false;
  };
  Result resolve(const std::string& listed);

 private:
  std::filesystem::path root_;
  std::vector<std::string> bases_;
  std::vector<std::string> learned_prefix_;  // Foreign components stripped last time.
};

// `p` relative to `root` as a '/'-separated string (p must be under root).
std::string relative_id(const std::filesystem::path& p, const std::filesystem::path& root);

}  // namespace hesp::pack
