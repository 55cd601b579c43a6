#include "clip/tokenizer/vocab_path.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include "util/errors.h"

namespace hesp::clip {

std::string resolve_vocab_path(const std::string& explicit_path) {
  // An explicit choice is never second-guessed: if it is wrong, loading it says so.
  if (!explicit_path.empty()) return explicit_path;
  if (const char* env = std::getenv("HESP_VOCAB"); env != nullptr && env[0] != '\0') {
    return env;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) {
    const fs::path dir = exe.parent_path();
    candidates.push_back(dir / ".." / ".." / "src" / "clip" / "data" / kVocabFileName);
    candidates.push_back(dir / ".." / "share" / "hesp" / kVocabFileName);
  }
  std::string tried;
  for (const fs::path& candidate : candidates) {
    if (fs::is_regular_file(candidate, ec)) return candidate.lexically_normal().string();
    tried += "\n  " + candidate.lexically_normal().string();
  }
  throw UserError(std::string("cannot find the BPE vocabulary ") + kVocabFileName +
                  "; pass --vocab or set HESP_VOCAB. Looked in:" +
                  (tried.empty() ? std::string(" (executable path unknown)") : tried));
}

}  // namespace hesp::clip
