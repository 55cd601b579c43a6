#pragma once
// CLIP's byte-level BPE tokenizer, exact to OpenAI CLIP's simple_tokenizer (without ftfy):
// text cleaning (text_cleaning.h), pre-tokenization (pre_tokenizer.h), then per piece
// UTF-8 bytes -> printable byte characters -> BPE merges by lowest rank, "</w>" marking the
// end of the piece.
#include <torch/torch.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace hesp::clip {

class Tokenizer {
 public:
  static constexpr int64_t kSotToken = 49406;  // <|startoftext|>
  static constexpr int64_t kEotToken = 49407;  // <|endoftext|>
  static constexpr int64_t kVocabSize = 49408;
  static constexpr int64_t kDefaultContextLength = 77;

  // Loads the gzipped merges file (bpe_simple_vocab_16e6.txt.gz). Throws UserError naming
  // the path when it is missing, not gzip, corrupt or too short.
  explicit Tokenizer(const std::string& vocab_gz_path);

  // BPE ids of `text` (UTF-8), without <|startoftext|> / <|endoftext|>. Throws UserError on
  // invalid UTF-8. Thread-safe.
  std::vector<int64_t> encode(const std::string& text) const;

  // [SOT] + encode(text) + [EOT], unpadded. Longer than context_length: with `truncate`,
  // the first context_length - 1 ids + [EOT]; without, UserError naming the text and length.
  std::vector<int64_t> encode_for_context(const std::string& text, int64_t context_length,
                                          bool truncate) const;

  // int64 [texts.size(), context_length], each row encode_for_context zero padded.
  torch::Tensor tokenize(const std::vector<std::string>& texts,
                         int64_t context_length = kDefaultContextLength,
                         bool truncate = false) const;

  // The vocabulary entry of an id (byte characters, "</w>" kept); for inspection and tests.
  const std::string& token_string(int64_t id) const;

  const std::string& vocab_path() const { return vocab_path_; }

 private:
  // BPE ids of one piece given as UTF-8; uses and fills the cache.
  std::vector<int64_t> bpe(const std::string& piece_utf8) const;
  std::vector<int64_t> bpe_uncached(const std::string& piece_utf8) const;

  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };
  static uint64_t pair_key(int64_t a, int64_t b) {
    return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b);
  }

  std::string vocab_path_;
  std::vector<std::string> id_to_token_;                  // vocabulary order, 49408 entries
  std::unordered_map<std::string, int64_t> token_to_id_;  // last id wins, as python's dict
  std::unordered_map<uint64_t, Merge> merges_;            // (left id, right id) -> rank, result
  int64_t byte_token_id_[256];                            // byte -> id of its character
  int64_t byte_end_token_id_[256];                        // byte -> id of character + "</w>"

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache_;
};

}  // namespace hesp::clip
