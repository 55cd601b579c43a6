// `hesp clip tokenize`: CLIP BPE ids of one text per line (see cli/clip_tokenize_command.h).
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/clip_tokenize_command.h"
#include "clip/tokenizer/tokenizer.h"
#include "clip/tokenizer/vocab_path.h"
#include "util/errors.h"

namespace hesp::cli {

int run_clip_tokenize(const ClipTokenizeOptions& options, std::istream& in, std::ostream& out) {
  if (options.context_length < 1) {
    throw ConfigError("--context must be positive, got " + std::to_string(options.context_length));
  }
  const clip::Tokenizer tokenizer(clip::resolve_vocab_path(options.vocab));
  std::ifstream file;
  std::istream* source = &in;
  if (!options.input.empty() && options.input != "-") {
    file.open(options.input);
    if (!file) throw UserError("cannot open --input file: " + options.input);
    source = &file;
  }
  const std::string source_name = source == &in ? std::string("stdin") : options.input;
  std::string line;
  for (int64_t line_number = 1; std::getline(*source, line); ++line_number) {
    std::vector<int64_t> ids;
    try {
      ids = tokenizer.encode_for_context(line, options.context_length, options.truncate);
    } catch (const UserError& e) {
      throw UserError(source_name + " line " + std::to_string(line_number) + ": " + e.what() +
                      (options.truncate ? "" : " (use --truncate to cut it)"));
    }
    if (options.pad) ids.resize(static_cast<size_t>(options.context_length), 0);
    out << nlohmann::json(ids).dump() << '\n';
  }
  if (source->bad()) throw UserError("error reading " + source_name);
  out.flush();
  if (!out) throw UserError("error writing the token ids");
  return kExitOk;
}

void add_clip_tokenize_command(CLI::App* clip_group, const GlobalOptions& /*global*/) {
  auto options = std::make_shared<ClipTokenizeOptions>();
  CLI::App* sub = clip_group->add_subcommand(
      "tokenize",
      "CLIP BPE token ids of one text per line (stdin or --input): one JSON array per line, "
      "<|startoftext|> ... <|endoftext|>");
  sub->add_option("--vocab", options->vocab,
                  "gzipped BPE merges file (default: $HESP_VOCAB, else the shipped "
                  "bpe_simple_vocab_16e6.txt.gz)");
  sub->add_option("--context", options->context_length, "context length in tokens")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  sub->add_flag("--truncate", options->truncate,
                "cut texts longer than the context (keeping <|endoftext|> last) instead of "
                "failing");
  sub->add_flag("--pad", options->pad, "zero pad every array to the context length");
  sub->add_option("--input", options->input, "file with one text per line (default: stdin)");
  set_action(sub, [options] { return run_clip_tokenize(*options, std::cin, std::cout); });
}

}  // namespace hesp::cli
