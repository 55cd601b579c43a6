#pragma once
// Checksums and content hashes used by shards, checkpoints, configs and tfevents.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace hesp::hash {

// CRC-32C (Castagnoli), as used by TFRecord/tfevents framing and shard checksums.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);
inline uint32_t crc32c(std::string_view s) { return crc32c(s.data(), s.size()); }
// TFRecord's masked CRC: rotate right by 15 and add a constant.
uint32_t masked_crc32c(const void* data, size_t size);

// SHA-256 as lowercase hex.
std::string sha256_hex(std::string_view data);
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace hesp::hash
