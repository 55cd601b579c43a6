#include "data/format/manifest_io.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include "data/format/shard_format.h"
#include "util/errors.h"
#include "util/fs.h"

namespace hesp::data {
namespace {

class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (text.empty()) {
      text = "line " + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
    }
  }
  std::string text;
};

}  // namespace

Manifest read_manifest(const std::filesystem::path& path) {
  const auto file = std::filesystem::is_directory(path) ? path / shard::kManifestFile : path;
  if (!std::filesystem::exists(file)) {
    throw UserError(file.string() + " not found (not a packed dataset, or packing did not finish)");
  }
  const std::string text = fs::read_file(file);
  Manifest m;
  google::protobuf::TextFormat::Parser parser;
  CollectErrors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &m)) {
    throw UserError(file.string() + ": bad manifest: " + errors.text);
  }
  return m;
}

std::string manifest_to_text(const Manifest& m) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(m, &text);
  return "# hesp packed dataset manifest (hesp.data.Manifest); see docs/datasets.md\n" + text;
}

void write_manifest(const std::filesystem::path& dir, const Manifest& m) {
  fs::atomic_write_file(dir / shard::kManifestFile, manifest_to_text(m));
}

std::string encoding_name(PackParams::Encoding e) { return e == PackParams::raw ? "raw" : "jpeg"; }

}  // namespace hesp::data
