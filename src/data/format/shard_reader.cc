#include "data/format/shard_reader.h"

#include <algorithm>

#include "data/format/jpeg_codec.h"
#include "util/errors.h"

namespace hesp::data {

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
  const hid_t f = file_.get();
  header_.format_version = static_cast<int>(h5::read_attr_int(f, shard::kAttrFormatVersion));
  if (header_.format_version < shard::kOldestReadableFormatVersion ||
      header_.format_version > shard::kFormatVersion) {
    throw UserError(where + ": shard format_version " + std::to_string(header_.format_version) +
                    ", this build reads " + std::to_string(shard::kOldestReadableFormatVersion) +
                    ".." + std::to_string(shard::kFormatVersion));
  }
  const bool v1 = header_.format_version == 1;
  header_.encoding = h5::read_attr_string(f, shard::kAttrEncoding);
  header_.frames_per_clip = static_cast<int>(h5::read_attr_int(f, shard::kAttrFramesPerClip));
  header_.size = static_cast<int>(h5::read_attr_int(f, shard::kAttrSize));
  header_.num_clips = h5::read_attr_int(f, shard::kAttrNumClips);
  if (header_.encoding != "jpeg" && header_.encoding != "raw") {
    throw UserError(where + ": unknown encoding '" + header_.encoding + "'");
  }
  if (header_.frames_per_clip < (v1 ? 1 : 0) || header_.size <= 0 || header_.num_clips < 0) {
    throw UserError(where + ": bad header (frames_per_clip, size or num_clips)");
  }
  const auto ids = h5::read_strings(f, shard::kClipId);
  const auto labels = h5::read_int32s(f, shard::kLabel);
  const auto compounds = h5::read_strings(f, shard::kCompoundLabel);
  const auto splits = h5::read_strings(f, shard::kSplit);
  const auto nframes = h5::read_int32s(f, shard::kSourceNumFrames);
  const size_t n = static_cast<size_t>(header_.num_clips);
  const auto stored = v1 ? std::vector<int32_t>(n, header_.frames_per_clip)
                         : h5::read_int32s(f, shard::kStoredNumFrames);
  if (ids.size() != n || labels.size() != n || compounds.size() != n || splits.size() != n ||
      nframes.size() != n || stored.size() != n) {
    throw UserError(where + ": per-clip datasets do not all have num_clips = " + std::to_string(n) +
                    " rows");
  }
  records_.resize(n);
  first_frame_.assign(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    records_[i] = {ids[i], labels[i], compounds[i], splits[i], nframes[i], stored[i]};
    if (stored[i] < 1 || (header_.frames_per_clip > 0 && stored[i] > header_.frames_per_clip)) {
      throw UserError(where + ": clip " + ids[i] + " stores " + std::to_string(stored[i]) +
                      " frames (cap " + std::to_string(header_.frames_per_clip) + ")");
    }
    first_frame_[i + 1] = first_frame_[i] + static_cast<uint64_t>(stored[i]);
  }
  const uint64_t F = first_frame_.back(), S = header_.size;
  if (header_.encoding == "jpeg") {
    offsets_ = h5::read_uint64s(f, shard::kFrameOffsets);
    const auto shape = h5::dataset_shape(f, shard::kJpegBytes);
    if (offsets_.size() != F + 1 || offsets_.front() != 0 || shape.size() != 1) {
      throw UserError(where + ": frame_offsets has the wrong length for " + std::to_string(n) +
                      " clips of " + std::to_string(F) + " frames in all");
    }
    for (size_t k = 1; k < offsets_.size(); ++k) {
      if (offsets_[k] < offsets_[k - 1]) {
        const size_t clip =
            static_cast<size_t>(std::upper_bound(first_frame_.begin(), first_frame_.end(), k - 1) -
                                first_frame_.begin() - 1);
        throw UserError(where + ": frame_offsets decrease at clip " + records_[clip].clip_id);
      }
    }
    if (offsets_.back() != shape[0]) {
      throw UserError(where + ": frame_offsets end at " + std::to_string(offsets_.back()) +
                      " but jpeg_bytes holds " + std::to_string(shape[0]) + " bytes");
    }
  } else {
    const auto shape = h5::dataset_shape(f, shard::kRawFrames);
    const std::vector<hsize_t> want =
        v1 ? std::vector<hsize_t>{n, static_cast<hsize_t>(header_.frames_per_clip), S, S, 3}
           : std::vector<hsize_t>{F, S, S, 3};
    if (shape != want) throw UserError(where + ": raw frames dataset has the wrong shape");
  }
}

std::string ShardReader::clip_context(int64_t i) const {
  return path_.string() + " clip " + records_[static_cast<size_t>(i)].clip_id;
}

int ShardReader::stored_frames(int64_t i) const {
  return records_.at(static_cast<size_t>(i)).stored_num_frames;
}

std::vector<std::string> ShardReader::read_jpeg_frames(int64_t i) const {
  if (header_.encoding != "jpeg") throw UserError(path_.string() + ": not a jpeg shard");
  if (i < 0 || i >= header_.num_clips)
    throw UserError(path_.string() + ": clip index out of range");
  const size_t a = first_frame_[static_cast<size_t>(i)],
               z = first_frame_[static_cast<size_t>(i) + 1];
  const uint64_t begin = offsets_[a];
  const uint64_t end = offsets_[z];
  std::string blob(end - begin, '\0');
  h5::read_uint8_range(file_.get(), shard::kJpegBytes, begin, end - begin,
                       reinterpret_cast<uint8_t*>(blob.data()));
  std::vector<std::string> frames(z - a);
  for (size_t j = 0; j < z - a; ++j) {
    const uint64_t x = offsets_[a + j] - begin, y = offsets_[a + j + 1] - begin;
    frames[j] = blob.substr(x, y - x);
  }
  return frames;
}

std::vector<uint8_t> ShardReader::read_rgb_frames(int64_t i) const {
  if (i < 0 || i >= header_.num_clips)
    throw UserError(path_.string() + ": clip index out of range");
  const size_t T = static_cast<size_t>(stored_frames(i)), S = header_.size, frame = S * S * 3;
  std::vector<uint8_t> out(T * frame);
  if (header_.encoding == "raw") {
    if (header_.format_version == 1) {
      h5::read_uint8_row(file_.get(), shard::kRawFrames, static_cast<uint64_t>(i), out.data());
    } else {
      h5::read_uint8_rows(file_.get(), shard::kRawFrames, first_frame_[static_cast<size_t>(i)], T,
                          out.data());
    }
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
  for (size_t i = 0; i < records_.size(); ++i) {
    if (records_[i].clip_id == clip_id) return static_cast<int64_t>(i);
  }
  return -1;
}

}  // namespace hesp::data
