#pragma once
// TensorBoard scalars without TensorFlow: <dir>/events.out.tfevents.<unix time>.<host>,
// a TFRecord file of Event protos. Each record is
//   uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)
// (little-endian). The first event carries file_version "brain.Event:2"; the others carry
// a Summary with simple_value scalars. Written by rank 0 only.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace hesp::run {

class TfEventsWriter {
 public:
  // Creates `dir` if needed. Throws UserError if the file cannot be created.
  explicit TfEventsWriter(const std::filesystem::path& dir);
  ~TfEventsWriter();
  TfEventsWriter(const TfEventsWriter&) = delete;
  TfEventsWriter& operator=(const TfEventsWriter&) = delete;

  // One event with one scalar; flushed so that a live TensorBoard sees it.
  void add_scalar(const std::string& tag, double value, int64_t step);
  // One event with several scalars (all at the same step and time).
  void add_scalars(const std::vector<std::pair<std::string, double>>& values, int64_t step);

  // A SessionLog START at `step`, TensorBoard's mark of a restart: it discards the
  // earlier events of steps >= `step` (those a crash left after the checkpoint the run
  // resumed from). `checkpoint`: the file resumed from, recorded in the event.
  void add_session_start(int64_t step, const std::string& checkpoint);

  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& data);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

// The TFRecord framing of one record (exposed for tests and other writers).
std::string frame_tfrecord(const std::string& data);

}  // namespace hesp::run
