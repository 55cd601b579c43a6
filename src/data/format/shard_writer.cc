#include "data/format/shard_writer.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "data/format/manifest_io.h"
#include "util/errors.h"
#include "util/fs.h"
#include "util/hash.h"

namespace hesp::data {
namespace {

// Why a write failed, for the message: the device is full (or the quota spent), else a
// generic hint.
std::string write_failure(const std::filesystem::path& p) {
  const int e = errno;
  if (e == ENOSPC || e == EDQUOT) return "no space left on the device of " + p.string();
  return e != 0 ? std::string(std::strerror(e)) + " (disk full?)" : std::string("disk full?");
}

void fsync_file(const std::filesystem::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string err = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    throw UserError("cannot fsync " + p.string() + ": " + err);
  }
  ::close(fd);
}

}  // namespace

ShardWriter::ShardWriter(std::filesystem::path final_path, const PackParams& params)
    : final_path_(std::move(final_path)), params_(params) {
  // A shard that fails to write (full disk) cannot be closed by HDF5, and the library's exit
  // handler would crash closing it again: no exit handler (a no-op when HDF5 is already
  // initialised, which is why hesp-pack's main() calls it first).
  H5dont_atexit();
  const auto tmp = temp_path();
  file_ = h5::create_file(tmp);
  const int S = params_.size();
  h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
  h5::Handle dapl(H5Pcreate(H5P_DATASET_ACCESS));
  if (params_.encoding() == PackParams::jpeg) {
    hsize_t dims = 0, maxdims = H5S_UNLIMITED, chunk = shard::kJpegChunkBytes;
    H5Pset_chunk(dcpl.get(), 1, &chunk);
    // Keep a few partially filled 1 MiB chunks in cache while clips stream in.
    H5Pset_chunk_cache(dapl.get(), 521, 4 * shard::kJpegChunkBytes, 1.0);
    h5::Handle space(H5Screate_simple(1, &dims, &maxdims));
    frames_ = h5::Handle(H5Dcreate2(file_.get(), shard::kJpegBytes, H5T_NATIVE_UINT8, space.get(),
                                    H5P_DEFAULT, dcpl.get(), dapl.get()));
  } else {
    // One chunk per frame: a clip is a contiguous run of rows, read in one hyperslab.
    hsize_t dims[4] = {0, hsize_t(S), hsize_t(S), 3};
    hsize_t maxdims[4] = {H5S_UNLIMITED, hsize_t(S), hsize_t(S), 3};
    hsize_t chunk[4] = {1, hsize_t(S), hsize_t(S), 3};
    H5Pset_chunk(dcpl.get(), 4, chunk);
    if (params_.raw_deflate()) H5Pset_deflate(dcpl.get(), 4);
    h5::Handle space(H5Screate_simple(4, dims, maxdims));
    frames_ = h5::Handle(H5Dcreate2(file_.get(), shard::kRawFrames, H5T_NATIVE_UINT8, space.get(),
                                    H5P_DEFAULT, dcpl.get(), dapl.get()));
  }
  if (!frames_.valid()) throw UserError("HDF5: cannot create the frame dataset in " + tmp.string());
}

ShardWriter::~ShardWriter() {
  if (finished_) return;
  frames_.reset();
  file_.reset();
  std::error_code ec;
  std::filesystem::remove(temp_path(), ec);
}

void ShardWriter::add_jpeg_clip(const shard::ClipRecord& rec,
                                const std::vector<std::string>& frames) {
  CHECK(!finished_);
  CHECK_EQ(params_.encoding(), PackParams::jpeg);
  check_frame_count(rec, static_cast<int>(frames.size()));
  std::string blob;
  for (const auto& f : frames) blob += f;
  const hsize_t start = payload_bytes_, count = blob.size(), new_size = start + count;
  const std::string where = temp_path().string() + " (clip " + rec.clip_id + ")";
  errno = 0;
  if (H5Dset_extent(frames_.get(), &new_size) < 0) {
    throw UserError("HDF5: cannot grow " + where + ": " + write_failure(temp_path()));
  }
  h5::Handle space(H5Dget_space(frames_.get()));
  H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr);
  h5::Handle mem(H5Screate_simple(1, &count, nullptr));
  if (count > 0 && H5Dwrite(frames_.get(), H5T_NATIVE_UINT8, mem.get(), space.get(), H5P_DEFAULT,
                            blob.data()) < 0) {
    throw UserError("HDF5: cannot write " + where + ": " + write_failure(temp_path()));
  }
  for (const auto& f : frames) offsets_.push_back(offsets_.back() + f.size());
  payload_bytes_ = new_size;
  records_.push_back(rec);
  records_.back().stored_num_frames = static_cast<int32_t>(frames.size());
}

void ShardWriter::check_frame_count(const shard::ClipRecord& rec, int frames) const {
  CHECK_GE(frames, 1) << rec.clip_id;
  if (params_.frames_per_clip() > 0) CHECK_LE(frames, params_.frames_per_clip()) << rec.clip_id;
}

void ShardWriter::add_raw_clip(const shard::ClipRecord& rec, const uint8_t* frames,
                               int num_frames) {
  CHECK(!finished_);
  CHECK_EQ(params_.encoding(), PackParams::raw);
  check_frame_count(rec, num_frames);
  const hsize_t T = static_cast<hsize_t>(num_frames), S = params_.size();
  const hsize_t first = raw_rows_;
  hsize_t dims[4] = {first + T, S, S, 3};
  const std::string where = temp_path().string() + " (clip " + rec.clip_id + ")";
  errno = 0;
  if (H5Dset_extent(frames_.get(), dims) < 0) {
    throw UserError("HDF5: cannot grow " + where + ": " + write_failure(temp_path()));
  }
  h5::Handle space(H5Dget_space(frames_.get()));
  hsize_t start[4] = {first, 0, 0, 0}, count[4] = {T, S, S, 3};
  H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  h5::Handle mem(H5Screate_simple(4, count, nullptr));
  if (H5Dwrite(frames_.get(), H5T_NATIVE_UINT8, mem.get(), space.get(), H5P_DEFAULT, frames) < 0) {
    throw UserError("HDF5: cannot write " + where + ": " + write_failure(temp_path()));
  }
  raw_rows_ += T;
  payload_bytes_ += T * S * S * 3;
  records_.push_back(rec);
  records_.back().stored_num_frames = num_frames;
}

ShardInfo ShardWriter::finish() {
  CHECK(!finished_);
  const hid_t f = file_.get();
  const auto tmp = temp_path();
  errno = 0;
  h5::write_attr_int(f, shard::kAttrFormatVersion, shard::kFormatVersion);
  h5::write_attr_string(f, shard::kAttrEncoding, encoding_name(params_.encoding()));
  h5::write_attr_int(f, shard::kAttrFramesPerClip, params_.frames_per_clip());
  h5::write_attr_int(f, shard::kAttrSize, params_.size());
  h5::write_attr_int(f, shard::kAttrNumClips, num_clips());
  std::vector<std::string> ids, compounds, splits;
  std::vector<int32_t> labels, nframes, stored;
  for (const auto& r : records_) {
    ids.push_back(r.clip_id);
    labels.push_back(r.label);
    compounds.push_back(r.compound_label);
    splits.push_back(r.split);
    nframes.push_back(r.source_num_frames);
    stored.push_back(r.stored_num_frames);
  }
  h5::write_strings(f, shard::kClipId, ids);
  h5::write_int32s(f, shard::kLabel, labels);
  h5::write_strings(f, shard::kCompoundLabel, compounds);
  h5::write_strings(f, shard::kSplit, splits);
  h5::write_int32s(f, shard::kSourceNumFrames, nframes);
  h5::write_int32s(f, shard::kStoredNumFrames, stored);
  if (params_.encoding() == PackParams::jpeg) h5::write_uint64s(f, shard::kFrameOffsets, offsets_);
  const bool closed_frames = frames_.reset();
  if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0 || !closed_frames || !file_.reset()) {
    throw UserError("HDF5: cannot flush " + tmp.string() + ": " + write_failure(tmp));
  }
  fsync_file(tmp);
  std::error_code ec;
  std::filesystem::rename(tmp, final_path_, ec);
  if (ec) throw UserError("cannot rename " + tmp.string() + ": " + ec.message());
  finished_ = true;
  fs::fsync_directory(final_path_.parent_path());
  ShardInfo info;
  info.set_file(final_path_.filename().string());
  info.set_num_clips(num_clips());
  info.set_size_bytes(static_cast<int64_t>(std::filesystem::file_size(final_path_)));
  info.set_sha256(hash::sha256_file_hex(final_path_));
  return info;
}

}  // namespace hesp::data
