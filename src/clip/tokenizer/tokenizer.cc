#include "clip/tokenizer/tokenizer.h"

#include <glog/logging.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "clip/tokenizer/pre_tokenizer.h"
#include "clip/tokenizer/text_cleaning.h"
#include "clip/tokenizer/utf8.h"
#include "util/errors.h"

namespace hesp::clip {
namespace {

// The reference keeps merges file lines [1, 49152 - 256 - 2 + 1): 48894 merges after the
// "#version" header, so that 256 + 256 + 48894 + 2 special tokens = 49408 ids.
constexpr size_t kNumMerges = 49152 - 256 - 2;

// bytes_to_unicode(): every byte gets a printable character so that BPE never sees
// whitespace or control characters. Printable Latin-1 bytes map to themselves, the other
// 68 to U+0100.. in byte order. Returns the bytes in the reference's vocabulary order
// (printable ones first) and fills byte -> code point.
std::vector<int> byte_order_and_chars(char32_t (&chars)[256]) {
  std::vector<int> order;
  bool printable[256] = {};
  auto add_range = [&](int lo, int hi) {
    for (int b = lo; b <= hi; ++b) {
      order.push_back(b);
      printable[b] = true;
      chars[b] = static_cast<char32_t>(b);
    }
  };
  add_range('!', '~');
  add_range(0xA1, 0xAC);
  add_range(0xAE, 0xFF);
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    if (!printable[b]) {
      order.push_back(b);
      chars[b] = next++;
    }
  }
  return order;
}

// Whole decompressed file. zlib reads plain files transparently; the reference opens the
// vocabulary with gzip.open, so anything that is not gzip is rejected.
std::string read_gzip_file(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw UserError("BPE vocabulary file not found: " + path);
  }
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw UserError("cannot open BPE vocabulary file: " + path);
  std::string data;
  char buffer[1 << 16];
  int n = 0;
  while ((n = gzread(file, buffer, sizeof(buffer))) > 0) {
    if (gzdirect(file)) {
      gzclose(file);
      throw UserError("BPE vocabulary file is not gzip-compressed: " + path);
    }
    data.append(buffer, static_cast<size_t>(n));
  }
  // A stream cut short is not an error for gzread itself (it returns what it has and
  // reports Z_BUF_ERROR), and a CRC mismatch surfaces as Z_DATA_ERROR: check both here.
  int err = Z_OK;
  const char* message = gzerror(file, &err);
  const bool failed = n < 0 || err != Z_OK;
  const std::string reason = failed ? std::string(message) : "";
  gzclose(file);
  if (failed) throw UserError("corrupt BPE vocabulary file " + path + ": " + reason);
  return data;
}

// python's str.split() on a merges line: two fields separated by ASCII whitespace (the
// byte characters never include whitespace).
bool split_merge_line(const std::string& line, std::string* left, std::string* right) {
  const size_t space = line.find(' ');
  if (space == std::string::npos || space == 0) return false;
  *left = line.substr(0, space);
  *right = line.substr(space + 1);
  while (!right->empty() && (right->back() == '\r' || right->back() == ' ')) right->pop_back();
  return !right->empty() && right->find(' ') == std::string::npos;
}

}  // namespace

Tokenizer::Tokenizer(const std::string& vocab_gz_path) : vocab_path_(vocab_gz_path) {
  const std::string data = read_gzip_file(vocab_gz_path);
  try {
    utf8_to_u32(data, "the decompressed text");
  } catch (const UserError& e) {
    throw UserError("corrupt BPE vocabulary file " + vocab_gz_path + ": " + e.what());
  }

  // Vocabulary: byte characters, the same + "</w>", one entry per merge, the two specials.
  char32_t chars[256];
  const std::vector<int> order = byte_order_and_chars(chars);
  std::string byte_char[256];  // byte -> its character, UTF-8
  for (int b = 0; b < 256; ++b) append_utf8(chars[b], &byte_char[b]);
  for (int b : order) id_to_token_.push_back(byte_char[b]);
  for (int b : order) id_to_token_.push_back(byte_char[b] + "</w>");

  size_t line_start = data.find('\n');  // Line 0 is the "#version" header.
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(kNumMerges);
  while (merges.size() < kNumMerges && line_start != std::string::npos) {
    const size_t begin = line_start + 1;
    if (begin == data.size()) break;  // The newline ending the last line.
    line_start = data.find('\n', begin);
    const std::string line = data.substr(
        begin, line_start == std::string::npos ? std::string::npos : line_start - begin);
    std::string left, right;
    if (!split_merge_line(line, &left, &right)) {
      throw UserError("corrupt BPE vocabulary file " + vocab_gz_path + ": line " +
                      std::to_string(merges.size() + 2) + " is not a merge \"<a> <b>\"");
    }
    merges.emplace_back(std::move(left), std::move(right));
  }
  if (merges.size() < kNumMerges) {
    throw UserError("corrupt BPE vocabulary file " + vocab_gz_path + ": " +
                    std::to_string(merges.size()) + " merges, CLIP needs " +
                    std::to_string(kNumMerges));
  }
  for (const auto& [left, right] : merges) id_to_token_.push_back(left + right);
  id_to_token_.push_back("<|startoftext|>");
  id_to_token_.push_back("<|endoftext|>");
  CHECK_EQ(static_cast<int64_t>(id_to_token_.size()), kVocabSize);

  for (size_t id = 0; id < id_to_token_.size(); ++id) {
    token_to_id_[id_to_token_[id]] = static_cast<int64_t>(id);  // Later ids win, as in python.
  }
  for (int b = 0; b < 256; ++b) {
    byte_token_id_[b] = token_to_id_.at(byte_char[b]);
    byte_end_token_id_[b] = token_to_id_.at(byte_char[b] + "</w>");
  }
  // Ranks by merge line; a repeated pair keeps its last rank (python's dict). A merge whose
  // halves are not vocabulary entries can never apply, since every symbol is one.
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto left = token_to_id_.find(merges[rank].first);
    const auto right = token_to_id_.find(merges[rank].second);
    if (left == token_to_id_.end() || right == token_to_id_.end()) continue;
    const int64_t merged = token_to_id_.at(merges[rank].first + merges[rank].second);
    merges_[pair_key(left->second, right->second)] =
        Merge{static_cast<int32_t>(rank), static_cast<int32_t>(merged)};
  }
}

const std::string& Tokenizer::token_string(int64_t id) const {
  CHECK(id >= 0 && id < kVocabSize) << "token id out of range: " << id;
  return id_to_token_[static_cast<size_t>(id)];
}

std::vector<int64_t> Tokenizer::bpe_uncached(const std::string& piece) const {
  // One symbol per byte; the last one carries the end-of-word marker.
  std::vector<int64_t> word;
  word.reserve(piece.size());
  for (size_t i = 0; i < piece.size(); ++i) {
    const auto b = static_cast<unsigned char>(piece[i]);
    word.push_back(i + 1 == piece.size() ? byte_end_token_id_[b] : byte_token_id_[b]);
  }
  std::vector<int64_t> merged;
  merged.reserve(word.size());
  while (word.size() > 1) {
    // The adjacent pair of lowest rank ...
    const Merge* best = nullptr;
    uint64_t best_key = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      const uint64_t key = pair_key(word[i], word[i + 1]);
      auto it = merges_.find(key);
      if (it != merges_.end() && (best == nullptr || it->second.rank < best->rank)) {
        best = &it->second;
        best_key = key;
      }
    }
    if (best == nullptr) break;
    // ... merged everywhere, left to right without overlap (as the reference's index scan).
    merged.clear();
    for (size_t i = 0; i < word.size(); ++i) {
      if (i + 1 < word.size() && pair_key(word[i], word[i + 1]) == best_key) {
        merged.push_back(best->merged_id);
        ++i;
      } else {
        merged.push_back(word[i]);
      }
    }
    word.swap(merged);
  }
  return word;
}

std::vector<int64_t> Tokenizer::bpe(const std::string& piece) const {
  // The reference's cache starts with the two special tokens: a literal special-token
  // piece maps to its id instead of being split. (Printable ASCII bytes are their own byte
  // characters, so comparing the raw piece is the same as comparing its byte characters.)
  if (piece == "<|startoftext|>") return {kSotToken};
  if (piece == "<|endoftext|>") return {kEotToken};
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(piece);
    if (it != cache_.end()) return it->second;
  }
  std::vector<int64_t> ids = bpe_uncached(piece);
  std::lock_guard<std::mutex> lock(cache_mutex_);
  // Bounded: a long stream of distinct pieces (captions, numbers) must not grow memory
  // without limit.
  constexpr size_t kMaxCacheEntries = 1 << 18;
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  cache_.emplace(piece, ids);
  return ids;
}

std::vector<int64_t> Tokenizer::encode(const std::string& text) const {
  const std::u32string cleaned = clean_text(utf8_to_u32(text, shorten_for_message(text)));
  std::vector<int64_t> ids;
  for (const std::u32string& piece : split_pieces(cleaned)) {
    const std::vector<int64_t> piece_ids = bpe(u32_to_utf8(piece));
    ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
  }
  return ids;
}

std::vector<int64_t> Tokenizer::encode_for_context(const std::string& text, int64_t context_length,
                                                   bool truncate) const {
  if (context_length < 1) {
    throw UserError("context length must be positive, got " + std::to_string(context_length));
  }
  std::vector<int64_t> ids = encode(text);
  ids.insert(ids.begin(), kSotToken);
  ids.push_back(kEotToken);
  if (static_cast<int64_t>(ids.size()) > context_length) {
    if (!truncate) {
      throw UserError("input " + shorten_for_message(text) + " is too long for context length " +
                      std::to_string(context_length) + ": " + std::to_string(ids.size()) +
                      " tokens with <|startoftext|> and <|endoftext|>");
    }
    ids.resize(static_cast<size_t>(context_length));
    ids.back() = kEotToken;
  }
  return ids;
}

torch::Tensor Tokenizer::tokenize(const std::vector<std::string>& texts, int64_t context_length,
                                  bool truncate) const {
  if (context_length < 1) {
    throw UserError("context length must be positive, got " + std::to_string(context_length));
  }
  torch::Tensor result =
      torch::zeros({static_cast<int64_t>(texts.size()), context_length}, torch::kInt64);
  auto rows = result.accessor<int64_t, 2>();
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<int64_t> ids = encode_for_context(texts[i], context_length, truncate);
    for (size_t j = 0; j < ids.size(); ++j)
      rows[static_cast<int64_t>(i)][static_cast<int64_t>(j)] = ids[j];
  }
  return result;
}

}  // namespace hesp::clip
