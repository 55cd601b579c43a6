#include "contract_shard.h"

#include <google/protobuf/text_format.h>
#include <hdf5.h>
#include <turbojpeg.h>

#include <cmath>
#include <fstream>
#include <stdexcept>

#include "data/format/manifest.pb.h"
#include "util/hash.h"

namespace hesp::data::testing {

namespace stdfs = std::filesystem;

namespace {

void ok(herr_t r, const char* what) {
  if (r < 0) throw std::runtime_error(std::string("test shard writer: ") + what);
}

hid_t vlen_string() {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

void attr_int(hid_t f, const char* name, int64_t v) {
  hid_t s = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(f, name, H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT);
  ok(H5Awrite(a, H5T_NATIVE_INT64, &v), name);
  H5Aclose(a);
  H5Sclose(s);
}

void attr_string(hid_t f, const char* name, const std::string& v) {
  hid_t t = vlen_string();
  hid_t s = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(f, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
  const char* p = v.c_str();
  ok(H5Awrite(a, t, &p), name);
  H5Aclose(a);
  H5Sclose(s);
  H5Tclose(t);
}

// A 1-D dataset, chunked when chunk > 0.
void dataset_1d(hid_t f, const char* name, hid_t file_type, hid_t mem_type, hsize_t n,
                const void* data, hsize_t chunk = 0) {
  hid_t s = H5Screate_simple(1, &n, nullptr);
  hid_t plist = H5Pcreate(H5P_DATASET_CREATE);
  if (chunk > 0 && n > 0) H5Pset_chunk(plist, 1, &chunk);
  hid_t d = H5Dcreate2(f, name, file_type, s, H5P_DEFAULT, plist, H5P_DEFAULT);
  if (n > 0) ok(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), name);
  H5Dclose(d);
  H5Pclose(plist);
  H5Sclose(s);
}

void strings(hid_t f, const char* name, const std::vector<std::string>& v) {
  std::vector<const char*> p;
  for (const auto& s : v) p.push_back(s.c_str());
  hid_t t = vlen_string();
  dataset_1d(f, name, t, t, v.size(), p.data());
  H5Tclose(t);
}

void write_shard(const stdfs::path& path, const std::vector<TestClip>& clips, int frames, int size,
                 bool jpeg) {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) throw std::runtime_error("cannot create " + path.string());
  attr_int(f, "format_version", 1);
  attr_string(f, "encoding", jpeg ? "jpeg" : "raw");
  attr_int(f, "frames_per_clip", frames);
  attr_int(f, "size", size);
  attr_int(f, "num_clips", static_cast<int64_t>(clips.size()));
  std::vector<std::string> ids, compounds, splits;
  std::vector<int32_t> labels, nframes;
  for (const auto& c : clips) {
    ids.push_back(c.clip_id);
    compounds.push_back(c.compound_label);
    splits.push_back(c.split);
    labels.push_back(c.label);
    nframes.push_back(c.source_num_frames);
  }
  strings(f, "clip_id", ids);
  strings(f, "compound_label", compounds);
  strings(f, "split", splits);
  dataset_1d(f, "label", H5T_STD_I32LE, H5T_NATIVE_INT32, labels.size(), labels.data());
  dataset_1d(f, "source_num_frames", H5T_STD_I32LE, H5T_NATIVE_INT32, nframes.size(),
             nframes.data());
  if (jpeg) {
    std::vector<uint8_t> bytes;
    std::vector<uint64_t> offsets{0};
    for (const auto& c : clips) {
      for (const auto& j : c.jpeg) {
        bytes.insert(bytes.end(), j.begin(), j.end());
        offsets.push_back(bytes.size());
      }
    }
    dataset_1d(f, "jpeg_bytes", H5T_STD_U8LE, H5T_NATIVE_UINT8, bytes.size(), bytes.data(),
               std::min<hsize_t>(bytes.size(), 1 << 20));
    dataset_1d(f, "frame_offsets", H5T_STD_U64LE, H5T_NATIVE_UINT64, offsets.size(),
               offsets.data());
  } else {
    const hsize_t s = static_cast<hsize_t>(size), t = static_cast<hsize_t>(frames);
    hsize_t dims[5] = {clips.size(), t, s, s, 3}, chunk[5] = {1, t, s, s, 3};
    std::vector<uint8_t> all;
    for (const auto& c : clips) {
      for (const auto& fr : c.frames) all.insert(all.end(), fr.begin(), fr.end());
    }
    hid_t space = H5Screate_simple(5, dims, nullptr);
    hid_t plist = H5Pcreate(H5P_DATASET_CREATE);
    if (!clips.empty()) H5Pset_chunk(plist, 5, chunk);
    hid_t d = H5Dcreate2(f, "frames", H5T_STD_U8LE, space, H5P_DEFAULT, plist, H5P_DEFAULT);
    if (!clips.empty()) {
      ok(H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, all.data()), "frames");
    }
    H5Dclose(d);
    H5Pclose(plist);
    H5Sclose(space);
  }
  ok(H5Fclose(f), "close");
}

}  // namespace

std::vector<uint8_t> pattern_frame(int size, uint64_t clip_seed, int frame) {
  std::vector<uint8_t> rgb(static_cast<size_t>(size) * size * 3);
  uint64_t noise = clip_seed * 6364136223846793005ULL +
                   static_cast<uint64_t>(frame) * 1442695040888963407ULL + 1;
  const double phase = static_cast<double>(clip_seed % 97) * 0.1 + frame * 0.3;
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      for (int c = 0; c < 3; ++c) {
        noise = noise * 6364136223846793005ULL + 1442695040888963407ULL;
        const double v = 128 + 90 * std::sin(phase + 0.21 * x + 0.13 * y * (c + 1)) +
                         static_cast<double>((noise >> 59)) - 16;
        rgb[(static_cast<size_t>(y) * size + x) * 3 + c] =
            static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
      }
    }
  }
  return rgb;
}

std::string encode_jpeg(const std::vector<uint8_t>& rgb, int size, int quality) {
  tjhandle h = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long n = 0;
  if (tjCompress2(h, rgb.data(), size, 0, size, TJPF_RGB, &out, &n, TJSAMP_420, quality, 0) != 0) {
    tjDestroy(h);
    throw std::runtime_error("tjCompress2 failed");
  }
  std::string s(reinterpret_cast<char*>(out), n);
  tjFree(out);
  tjDestroy(h);
  return s;
}

std::vector<uint8_t> decode_jpeg(const std::string& bytes, int size) {
  tjhandle h = tjInitDecompress();
  std::vector<uint8_t> rgb(static_cast<size_t>(size) * size * 3);
  const int r = tjDecompress2(h, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                              rgb.data(), size, 0, size, TJPF_RGB, 0);
  tjDestroy(h);
  if (r != 0) throw std::runtime_error("tjDecompress2 failed");
  return rgb;
}

void write_dataset(const stdfs::path& dir, std::vector<TestClip>& clips,
                   const std::vector<std::string>& class_names, int frames, int size, bool jpeg,
                   int clips_per_shard) {
  stdfs::create_directories(dir);
  Manifest m;
  m.set_tool_version("contract-test");
  m.set_source_format("csv");
  m.mutable_params()->set_frames_per_clip(frames);
  m.mutable_params()->set_size(size);
  m.mutable_params()->set_encoding(jpeg ? PackParams::jpeg : PackParams::raw);
  for (const auto& c : class_names) m.add_class_names(c);
  for (auto& c : clips) {
    if (jpeg && c.jpeg.empty()) {
      for (const auto& fr : c.frames) c.jpeg.push_back(encode_jpeg(fr, size, 90));
    }
  }
  for (size_t first = 0, k = 0; first < clips.size(); first += clips_per_shard, ++k) {
    const size_t last = std::min(clips.size(), first + static_cast<size_t>(clips_per_shard));
    std::vector<TestClip> part(clips.begin() + first, clips.begin() + last);
    char name[32];
    std::snprintf(name, sizeof name, "shard-%05zu.h5", k);
    write_shard(dir / name, part, frames, size, jpeg);
    ShardInfo* s = m.add_shards();
    s->set_file(name);
    s->set_num_clips(static_cast<int64_t>(part.size()));
    s->set_size_bytes(static_cast<int64_t>(stdfs::file_size(dir / name)));
    s->set_sha256(hash::sha256_file_hex(dir / name));
  }
  m.set_num_clips(static_cast<int64_t>(clips.size()));
  m.set_num_input_clips(static_cast<int64_t>(clips.size()));
  m.set_num_rejected(0);
  std::string text;
  google::protobuf::TextFormat::PrintToString(m, &text);
  std::ofstream(dir / "manifest.pbtxt") << text;
}

void flip_byte(const stdfs::path& file, int64_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  if (offset < 0) offset = static_cast<int64_t>(stdfs::file_size(file)) / 2;
  f.seekg(offset);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x01);
  f.seekp(offset);
  f.write(&c, 1);
}

std::vector<TestClip> make_clips(int n, int frames, int size, int num_classes,
                                 const std::vector<std::string>& splits,
                                 const std::string& id_prefix) {
  std::vector<TestClip> out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto& c = out[static_cast<size_t>(i)];
    c.clip_id = id_prefix + "/" + std::to_string(i);
    c.label = i % num_classes;
    c.split = splits[static_cast<size_t>(i) % splits.size()];
    c.source_num_frames = frames * 3 + i;
    for (int t = 0; t < frames; ++t) {
      c.frames.push_back(pattern_frame(size, std::hash<std::string>()(c.clip_id), t));
    }
  }
  return out;
}

}  // namespace hesp::data::testing
