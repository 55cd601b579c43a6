#include "run/run_directory.h"

namespace hesp::run {

std::filesystem::path RunDirectory::config() const { return root_ / "config.pbtxt"; }
std::filesystem::path RunDirectory::lock() const { return root_ / "run.lock"; }
std::filesystem::path RunDirectory::checkpoints() const { return root_ / "checkpoints"; }
std::filesystem::path RunDirectory::checkpoint_request() const { return root_ / "CHECKPOINT_NOW"; }
std::filesystem::path RunDirectory::cam_cache() const { return root_ / "cam_cache.tsv"; }
std::filesystem::path RunDirectory::metrics_log() const { return root_ / "metrics.jsonl"; }
std::filesystem::path RunDirectory::tensorboard() const { return root_ / "tb"; }
std::filesystem::path RunDirectory::result() const { return root_ / kResultFile; }
std::filesystem::path RunDirectory::test_features() const { return root_ / "test_features.h5"; }
std::filesystem::path RunDirectory::sweep_status() const { return root_ / "sweep_status.json"; }

}  // namespace hesp::run
