#pragma once
// Where the BPE vocabulary (bpe_simple_vocab_16e6.txt.gz) is found when no path is given.
#include <string>

namespace hesp::clip {

inline constexpr const char* kVocabFileName = "bpe_simple_vocab_16e6.txt.gz";

// `explicit_path` when non-empty; else $HESP_VOCAB when set; else the shipped file next to
// the running executable: <exe dir>/../../src/clip/data/ (build tree: <build>/bin/hesp) or
// <exe dir>/../share/hesp/ (installed: <prefix>/bin/hesp). Throws UserError listing the
// places it looked when none exists.
std::string resolve_vocab_path(const std::string& explicit_path = "");

}  // namespace hesp::clip
