#pragma once
// `hesp clip tokenize`: one text per line in, one JSON array of ids per line out
// (<|startoftext|> ... <|endoftext|>, unpadded unless --pad). Defined in
// cli/clip_tokenize_command.cc; cli/clip_command.cc adds it to the `clip` group. The CLI
// drives clip/tokenizer; the tokenizer knows nothing of the CLI.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>

#include "cli/app.h"

namespace hesp::cli {

struct ClipTokenizeOptions {
  std::string vocab;  // empty: clip::resolve_vocab_path's default
  int64_t context_length = 77;
  bool truncate = false;  // too long: keep context - 1 ids + <|endoftext|> (else error)
  bool pad = false;       // zero pad every row to context_length
  std::string input;      // empty or "-": stdin
};

void add_clip_tokenize_command(CLI::App* clip_group, const GlobalOptions& global);

// The command body on streams (`in` is used when options.input is empty or "-").
// Returns the exit code; user errors throw UserError.
int run_clip_tokenize(const ClipTokenizeOptions& options, std::istream& in, std::ostream& out);

}  // namespace hesp::cli
