#include "data/format/shard_reader.h"

#include <algorithm>

#include "data/format/jpeg_codec.h"
#include "util/errors.h"

namespace hesp::data {

uint64_t ShardIndex::clip_bytes(size_t i) const {
  const size_t a = first_frame[i], z = first_frame[i + 1];
  if (jpeg()) return frame_offsets[z] - frame_offsets[a];
  const uint64_t S = static_cast<uint64_t>(header.size);
  return (z - a) * S * S * 3;
}

ShardIndex read_shard_index(hid_t f, const std::string& where) {
  ShardIndex index;
  ShardHeader& h = index.header;
  // Header: version, encoding, T / cap, S, N.
  h.format_version = static_cast<int>(h5::read_attr_int(f, shard::kAttrFormatVersion));
  if (h.format_version < shard::kOldestReadableFormatVersion ||
      h.format_version > shard::kFormatVersion) {
    throw UserError(where + ": shard format_version " + std::to_string(h.format_version) +
                    ", this build reads " + std::to_string(shard::kOldestReadableFormatVersion) +
                    ".." + std::to_string(shard::kFormatVersion));
  }
  const bool v1 = h.format_version == 1;
  h.encoding = h5::read_attr_string(f, shard::kAttrEncoding);
  h.frames_per_clip = static_cast<int>(h5::read_attr_int(f, shard::kAttrFramesPerClip));
  h.size = static_cast<int>(h5::read_attr_int(f, shard::kAttrSize));
  h.num_clips = h5::read_attr_int(f, shard::kAttrNumClips);
  if (h.encoding != "jpeg" && h.encoding != "raw") {
    throw UserError(where + ": unknown encoding '" + h.encoding + "'");
  }
  if (h.frames_per_clip < (v1 ? 1 : 0) || h.size <= 0 || h.num_clips < 0) {
    throw UserError(where + ": bad header (frames_per_clip, size or num_clips)");
  }
  // Per-clip records. Format 1: every clip stores frames_per_clip frames; format 2:
  // stored_num_frames says.
  const auto ids = h5::read_strings(f, shard::kClipId);
  const auto labels = h5::read_int32s(f, shard::kLabel);
  const auto compounds = h5::read_strings(f, shard::kCompoundLabel);
  const auto splits = h5::read_strings(f, shard::kSplit);
  const auto nframes = h5::read_int32s(f, shard::kSourceNumFrames);
  const size_t n = static_cast<size_t>(h.num_clips);
  const auto stored =
      v1 ? std::vector<int32_t>(n, h.frames_per_clip) : h5::read_int32s(f, shard::kStoredNumFrames);
  if (ids.size() != n || labels.size() != n || compounds.size() != n || splits.size() != n ||
      nframes.size() != n || stored.size() != n) {
    throw UserError(where + ": per-clip datasets do not all have num_clips = " + std::to_string(n) +
                    " rows");
  }
  index.records.resize(n);
  index.first_frame.assign(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    index.records[i] = {ids[i], labels[i], compounds[i], splits[i], nframes[i], stored[i]};
    if (stored[i] < 1 || (h.frames_per_clip > 0 && stored[i] > h.frames_per_clip)) {
      throw UserError(where + ": clip " + ids[i] + " stores " + std::to_string(stored[i]) +
                      " frames (cap " + std::to_string(h.frames_per_clip) + ")");
    }
    index.first_frame[i + 1] = index.first_frame[i] + static_cast<uint64_t>(stored[i]);
  }
  // Frame index: offsets into jpeg_bytes, or the raw dataset's shape.
  const uint64_t F = index.first_frame.back(), S = h.size;
  if (index.jpeg()) {
    auto& offsets = index.frame_offsets;
    offsets = h5::read_uint64s(f, shard::kFrameOffsets);
    const auto shape = h5::dataset_shape(f, shard::kJpegBytes);
    if (offsets.size() != F + 1 || offsets.front() != 0 || shape.size() != 1) {
      throw UserError(where + ": frame_offsets has the wrong length for " + std::to_string(n) +
                      " clips of " + std::to_string(F) + " frames in all");
    }
    for (size_t k = 1; k < offsets.size(); ++k) {
      if (offsets[k] < offsets[k - 1]) {
        const auto& ff = index.first_frame;
        const size_t clip =
            static_cast<size_t>(std::upper_bound(ff.begin(), ff.end(), k - 1) - ff.begin() - 1);
        throw UserError(where + ": frame_offsets decrease at clip " + index.records[clip].clip_id);
      }
    }
    if (offsets.back() != shape[0]) {
      throw UserError(where + ": frame_offsets end at " + std::to_string(offsets.back()) +
                      " but jpeg_bytes holds " + std::to_string(shape[0]) + " bytes");
    }
  } else {
    const auto shape = h5::dataset_shape(f, shard::kRawFrames);
    const std::vector<hsize_t> want =
        v1 ? std::vector<hsize_t>{n, static_cast<hsize_t>(h.frames_per_clip), S, S, 3}
           : std::vector<hsize_t>{F, S, S, 3};
    if (shape != want) throw UserError(where + ": raw frames dataset has the wrong shape");
  }
  return index;
}

void read_clip_bytes(hid_t file, const ShardIndex& index, int64_t i, uint8_t* out,
                     const std::string& where) {
  if (i < 0 || i >= index.header.num_clips) throw UserError(where + ": clip index out of range");
  const size_t row = static_cast<size_t>(i);
  const size_t first = index.first_frame[row], t = index.first_frame[row + 1] - first;
  if (index.jpeg()) {
    const uint64_t begin = index.frame_offsets[first], end = index.frame_offsets[first + t];
    h5::read_uint8_range(file, shard::kJpegBytes, begin, end - begin, out);
  } else if (index.header.format_version == 1) {  // Format 1: one [T, S, S, 3] row per clip.
    h5::read_uint8_row(file, shard::kRawFrames, row, out);
  } else {
    h5::read_uint8_rows(file, shard::kRawFrames, first, t, out);
  }
}

ShardReader::ShardReader(const std::filesystem::path& path, const ShardInfo* expected)
    : path_(path) {
  const std::string where = path.string();
  if (expected && expected->has_size_bytes()) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) throw UserError(where + ": missing or unreadable: " + ec.message());
    if (static_cast<int64_t>(size) < expected->size_bytes()) {
      throw UserError(where + " is truncated: " + std::to_string(size) +
                      " bytes on disk, the manifest says " +
                      std::to_string(expected->size_bytes()) +
                      " (an interrupted copy? copy it again or re-run hesp-pack convert)");
    }
    if (static_cast<int64_t>(size) != expected->size_bytes()) {
      throw UserError(where + " has " + std::to_string(size) + " bytes, the manifest says " +
                      std::to_string(expected->size_bytes()) + " (replaced or modified)");
    }
  }
  file_ = h5::open_file_read(path);
  index_ = read_shard_index(file_.get(), where);
}

std::string ShardReader::clip_context(int64_t i) const {
  return path_.string() + " clip " + index_.records[static_cast<size_t>(i)].clip_id;
}

int ShardReader::stored_frames(int64_t i) const {
  return index_.records.at(static_cast<size_t>(i)).stored_num_frames;
}

std::vector<std::string> ShardReader::read_jpeg_frames(int64_t i) const {
  if (!index_.jpeg()) throw UserError(path_.string() + ": not a jpeg shard");
  if (i < 0 || i >= index_.header.num_clips) {
    throw UserError(path_.string() + ": clip index out of range");
  }
  const size_t row = static_cast<size_t>(i);
  std::string blob(index_.clip_bytes(row), '\0');
  read_clip_bytes(file_.get(), index_, i, reinterpret_cast<uint8_t*>(blob.data()), path_.string());
  const size_t a = index_.first_frame[row], z = index_.first_frame[row + 1];
  const uint64_t begin = index_.frame_offsets[a];
  std::vector<std::string> frames(z - a);
  for (size_t j = 0; j < z - a; ++j) {
    const uint64_t x = index_.frame_offsets[a + j] - begin,
                   y = index_.frame_offsets[a + j + 1] - begin;
    frames[j] = blob.substr(x, y - x);
  }
  return frames;
}

std::vector<uint8_t> ShardReader::read_rgb_frames(int64_t i) const {
  if (i < 0 || i >= index_.header.num_clips) {
    throw UserError(path_.string() + ": clip index out of range");
  }
  const size_t T = static_cast<size_t>(stored_frames(i)), S = index_.header.size, frame = S * S * 3;
  std::vector<uint8_t> out(T * frame);
  if (!index_.jpeg()) {
    read_clip_bytes(file_.get(), index_, i, out.data(), path_.string());
    return out;
  }
  const auto frames = read_jpeg_frames(i);
  for (size_t j = 0; j < T; ++j) {
    jpeg::decode_rgb_into(reinterpret_cast<const uint8_t*>(frames[j].data()), frames[j].size(),
                          static_cast<int>(S), static_cast<int>(S), out.data() + j * frame,
                          clip_context(i) + " frame " + std::to_string(j));
  }
  return out;
}

int64_t ShardReader::find(const std::string& clip_id) const {
  for (size_t i = 0; i < index_.records.size(); ++i) {
    if (index_.records[i].clip_id == clip_id) return static_cast<int64_t>(i);
  }
  return -1;
}

}  // namespace hesp::data
