// Builds the seed corpora for the fuzz targets from the CLIP fixtures (small, valid
// inputs, so the fuzzer starts from the real structure):
//   make_seeds <fixture dir> <out dir> safetensors|torch_save
#include <fstream>
#include <iostream>
#include <sstream>

#include "clip/weights/safetensors.h"
#include "clip/weights/zip_reader.h"

using namespace hesp::clip::weights;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void emit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: make_seeds <fixture dir> <out dir> safetensors|torch_save\n";
    return 2;
  }
  const std::string dir = argv[1], out = argv[2], kind = argv[3];
  try {
    if (kind == "safetensors") {
      const std::string bytes = slurp(dir + "/tiny_clip_a.safetensors");
      auto file = parse_safetensors(ByteSpan(bytes), "fixture");
      // Small tensors only, in two differently sized files, metadata kept in one.
      std::vector<SafetensorsEntry> small, tiny;
      for (const auto& t : file.tensors) {
        if (t.storage.size > 2048) continue;
        SafetensorsEntry e{t.name, t.dtype, t.shape, t.storage.view()};
        small.push_back(e);
        if (tiny.size() < 3) tiny.push_back(e);
      }
      emit(out + "/small.safetensors", write_safetensors(small, file.metadata));
      emit(out + "/tiny.safetensors", write_safetensors(tiny, {}));
    } else if (kind == "torch_save") {
      const std::string bytes = slurp(dir + "/tiny_clip_a.state_dict.pt");
      ZipArchive zip(ByteSpan(bytes), "fixture");
      emit(out + "/data.pkl", std::string(zip.entry("tiny_clip_a.state_dict/data.pkl").view()));
    } else {
      std::cerr << "unknown seed kind " << kind << "\n";
      return 2;
    }
  } catch (const hesp::UserError& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
