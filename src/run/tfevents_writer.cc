#include "run/tfevents_writer.h"

#include <glog/logging.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "run/tfevents.pb.h"
#include "util/errors.h"
#include "util/hash.h"

namespace hesp::run {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

void append_le(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

std::string frame_tfrecord(const std::string& data) {
  std::string out;
  out.reserve(data.size() + 16);
  append_le(&out, data.size(), 8);
  append_le(&out, hash::masked_crc32c(out.data(), 8), 4);
  out.append(data);
  append_le(&out, hash::masked_crc32c(data.data(), data.size()), 4);
  return out;
}

TfEventsWriter::TfEventsWriter(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw UserError("cannot create TensorBoard directory " + dir.string() + ": " + ec.message());
  const double t = now_seconds();
  path_ =
      dir / ("events.out.tfevents." + std::to_string(static_cast<int64_t>(t)) + "." + host_name());
  // Append: a resumed run started within the same second keeps the earlier events.
  file_ = std::fopen(path_.c_str(), "ab");
  if (file_ == nullptr) {
    throw UserError("cannot create " + path_.string() + ": " + std::strerror(errno));
  }
  tb::Event first;
  first.set_wall_time(t);
  first.set_step(0);
  first.set_file_version("brain.Event:2");
  write_record(first.SerializeAsString());
}

TfEventsWriter::~TfEventsWriter() {
  if (file_ != nullptr && std::fclose(file_) != 0) {
    LOG(WARNING) << "closing " << path_ << " failed: " << std::strerror(errno);
  }
}

void TfEventsWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  add_scalars({{tag, value}}, step);
}

void TfEventsWriter::add_scalars(const std::vector<std::pair<std::string, double>>& values,
                                 int64_t step) {
  tb::Event event;
  event.set_wall_time(now_seconds());
  event.set_step(step);
  auto* summary = event.mutable_summary();
  for (const auto& [tag, value] : values) {
    auto* v = summary->add_value();
    v->set_tag(tag);
    v->set_simple_value(static_cast<float>(value));
  }
  write_record(event.SerializeAsString());
}

void TfEventsWriter::add_session_start(int64_t step, const std::string& checkpoint) {
  tb::Event event;
  event.set_wall_time(now_seconds());
  event.set_step(step);
  auto* log = event.mutable_session_log();
  log->set_status(tb::SessionLog::START);
  if (!checkpoint.empty()) log->set_checkpoint_path(checkpoint);
  write_record(event.SerializeAsString());
}

void TfEventsWriter::write_record(const std::string& data) {
  const std::string record = frame_tfrecord(data);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() ||
      std::fflush(file_) != 0) {
    throw UserError("cannot write " + path_.string() + ": " + std::strerror(errno));
  }
}

}  // namespace hesp::run
