#pragma once
// `hesp-pack synth`: small datasets in the exact real layouts (AFEW, MAFW, reference
// lists, DFEW) whose frames a classifier can learn: a face-like pattern whose colour,
// eyes and mouth depend on the class, smooth per-clip noise, and a per-frame drift and
// frame-index bar so that every frame of a clip differs (tests check frame selection).
#include <cstdint>
#include <string>
#include <vector>

namespace hesp::pack {

struct SynthOptions {
  std::string layout;  // afew | mafw | reference-list | dfew
  std::string out;
  int clips_per_class = 4;
  int frames = 12;  // Frames per clip (varied a little per clip; some clips are shorter).
  int size = 64;
  bool video = false;    // AFEW: .avi, MAFW: data/clips/*.mp4 instead of frame folders.
  bool defects = false;  // Plant one clip per bad-input case; see expected_rejections.tsv.
  uint32_t seed = 1;
};

int run_synth(const SynthOptions& opts);

// The RGB frame (size x size x 3) of class `cls`, clip `clip_seed`, frame `frame`.
std::vector<uint8_t> synth_frame(int cls, uint32_t clip_seed, int frame, int size);

}  // namespace hesp::pack
