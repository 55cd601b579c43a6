#include "synth.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "data/format/jpeg_codec.h"
#include "importers.h"
#include "util/errors.h"
#include "util/fs.h"

namespace hesp::pack {
namespace {

namespace stdfs = std::filesystem;

std::string fmt(const char* f, int v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

void write_text(const stdfs::path& p, const std::string& text) {
  stdfs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << text;
  if (!out) throw UserError("cannot write " + p.string());
}

// Frames of one clip: JPEG files 1.jpg .. n.jpg (deliberately not zero-padded: the
// packer must order them numerically) or a video.
void write_frames(const stdfs::path& dir, int cls, uint32_t seed, int n, int size,
                  const std::string& pattern = "%d.jpg") {
  stdfs::create_directories(dir);
  for (int k = 0; k < n; ++k) {
    const auto rgb = synth_frame(cls, seed, k, size);
    fs::atomic_write_file(dir / fmt(pattern.c_str(), k + 1),
                          data::jpeg::encode_rgb(rgb.data(), size, size, 95));
  }
}

void write_video(const stdfs::path& file, int cls, uint32_t seed, int n, int size) {
  stdfs::create_directories(file.parent_path());
  const bool mp4 = file.extension() == ".mp4";
  cv::VideoWriter w(file.string(), cv::CAP_FFMPEG,
                    mp4 ? cv::VideoWriter::fourcc('m', 'p', '4', 'v')
                        : cv::VideoWriter::fourcc('M', 'J', 'P', 'G'),
                    25.0, cv::Size(size, size));
  if (!w.isOpened())
    w.open(file.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 25.0, cv::Size(size, size));
  if (!w.isOpened()) throw UserError("OpenCV cannot write video " + file.string());
  for (int k = 0; k < n; ++k) {
    auto rgb = synth_frame(cls, seed, k, size);
    cv::Mat m(size, size, CV_8UC3, rgb.data()), bgr;
    cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);
    w.write(bgr);
  }
}

// Frame count of clip number i: varied, and every 7th clip shorter than most T.
int frames_for(int i, int base) { return i % 7 == 3 ? std::max(2, base / 3) : base + i % 5; }

// Truncates every frame file of a folder to half its length.
void truncate_frames(const stdfs::path& dir) {
  for (const auto& e : stdfs::directory_iterator(dir)) {
    stdfs::resize_file(e.path(), stdfs::file_size(e.path()) / 2);
  }
}

struct Expected {
  std::string text;
  void add(const std::string& id, const std::string& reason) { text += id + "\t" + reason + "\n"; }
};

void synth_afew(const SynthOptions& o) {
  const stdfs::path root(o.out);
  const auto& classes = afew_classes();
  int counter = 0;
  for (const char* split : {"Train_AFEW", "Val_AFEW"}) {
    const int per_class =
        std::string(split) == "Train_AFEW" ? o.clips_per_class : std::max(1, o.clips_per_class / 2);
    for (int c = 0; c < static_cast<int>(classes.size()); ++c) {
      for (int j = 0; j < per_class; ++j, ++counter) {
        const std::string id = fmt("%09d", 2000000 + counter * 37);
        const stdfs::path cdir = root / split / classes[c];
        const uint32_t seed = o.seed * 100003u + static_cast<uint32_t>(counter);
        const int n = frames_for(counter, o.frames);
        if (o.video) {
          write_video(cdir / (id + ".avi"), c, seed, n, o.size);
          write_text(cdir / (id + ".wav"), "RIFF-not-audio");  // Audio beside: ignored.
        } else {
          write_frames(cdir / id, c, seed, n, o.size);
        }
      }
    }
  }
  if (!o.defects) return;
  Expected ex;
  const stdfs::path train = root / "Train_AFEW";
  stdfs::create_directories(train / "Angry" / "900000001");
  ex.add("Train_AFEW/Angry/900000001", "empty_folder");
  write_frames(train / "Disgust" / "900000002", 1, 77, o.frames, o.size);
  truncate_frames(train / "Disgust" / "900000002");
  ex.add("Train_AFEW/Disgust/900000002", "unreadable_image");
  write_frames(train / "Fear" / "900000003", 2, 78, o.frames, o.size);
  stdfs::remove(train / "Fear" / "900000003" / "3.jpg");
  ex.add("Train_AFEW/Fear/900000003", "frame_gap");
  write_frames(train / "Contempt" / "900000004", 0, 79, o.frames, o.size);
  ex.add("Train_AFEW/Contempt/900000004", "unknown_label");
  write_text(train / "Happy" / "900000005.avi", "");
  ex.add("Train_AFEW/Happy/900000005", "unreadable_video");
  write_text(root / "expected_rejections.tsv", ex.text);
}

// MAFW-style trees (data/frames/<5-digit>/ or data/clips/<id>.mp4) shared by the MAFW
// and reference-list layouts. Returns (id, class, frames) per clip.
struct SynthClip {
  std::string id;
  int cls;
  int frames;
};

std::vector<SynthClip> synth_mafw_media(const SynthOptions& o, int num_classes) {
  std::vector<SynthClip> clips;
  int counter = 0;
  for (int c = 0; c < num_classes; ++c) {
    for (int j = 0; j < o.clips_per_class; ++j, ++counter) {
      const std::string id = fmt("%05d", counter + 1);
      const uint32_t seed = o.seed * 100003u + static_cast<uint32_t>(counter);
      const int n = frames_for(counter, o.frames);
      if (o.video) {
        write_video(stdfs::path(o.out) / "data" / "clips" / (id + ".mp4"), c, seed, n, o.size);
      } else {
        write_frames(stdfs::path(o.out) / "data" / "frames" / id, c, seed, n, o.size);
      }
      clips.push_back({id, c, n});
    }
  }
  return clips;
}

void synth_mafw(const SynthOptions& o) {
  const stdfs::path root(o.out);
  const auto& classes = mafw_classes();
  const int nc = static_cast<int>(classes.size());
  auto clips = synth_mafw_media(o, nc);
  auto compound_of = [&](const SynthClip& c, int i) {
    return i % 2 == 0 ? classes[c.cls] : classes[c.cls] + "_" + classes[(c.cls + 1) % nc];
  };
  std::string single, multi;
  for (size_t i = 0; i < clips.size(); ++i) {
    single += clips[i].id + ".mp4 " + classes[clips[i].cls] + " a person looks " +
              classes[clips[i].cls] + "\n";
    multi += clips[i].id + ".mp4 " + compound_of(clips[i], static_cast<int>(i)) + " caption\n";
  }
  Expected ex;
  if (o.defects) {
    const uint32_t s = 991;
    // Listed, but no frames folder at all.
    single += "90001.mp4 anger missing\n";
    ex.add("90001", "missing_folder");
    stdfs::create_directories(root / "data" / "frames" / "90002");
    single += "90002.mp4 fear empty\n";
    ex.add("90002", "empty_folder");
    write_frames(root / "data" / "frames" / "90003", 3, s, o.frames, o.size);
    truncate_frames(root / "data" / "frames" / "90003");
    single += "90003.mp4 happiness truncated\n";
    ex.add("90003", "unreadable_image");
    write_frames(root / "data" / "frames" / "90004", 4, s + 1, o.frames, o.size);
    stdfs::remove(root / "data" / "frames" / "90004" / "2.jpg");
    single += "90004.mp4 neutral gap\n";
    ex.add("90004", "frame_gap");
    write_frames(root / "data" / "frames" / "90005", 5, s + 2, o.frames, o.size);
    single += "90005.mp4 boredom unknown\n";
    ex.add("90005", "unknown_label");
    single += clips[0].id + ".mp4 " + classes[clips[0].cls] + " listed twice\n";
    ex.add(clips[0].id, "duplicate_clip_id");
  }
  write_text(root / "single_label.txt", single);
  write_text(root / "multi_label.txt", multi);
  // Official 5-fold split files; the captioned variants carry GBK and latin-1 bytes.
  const std::string gbk = "\xC4\xEA\xC7\xE1\xC8\xCB", latin1 = "caf\xE9 na\xEFve";
  for (const char* kind : {"single", "compound"}) {
    for (const char* cap : {"no_caption", "with_caption"}) {
      for (int set = 1; set <= 5; ++set) {
        std::string train, test;
        for (size_t i = 0; i < clips.size(); ++i) {
          const std::string label = std::string(kind) == "single"
                                        ? classes[clips[i].cls]
                                        : compound_of(clips[i], static_cast<int>(i));
          std::string line = clips[i].id + ".mp4 " + label;
          if (std::string(cap) == "with_caption") line += " " + (i % 2 ? gbk : latin1);
          (static_cast<int>(i % 5) == set - 1 ? test : train) += line + "\n";
        }
        const stdfs::path d =
            root / "Train & Test Set" / kind / cap / ("set_" + std::to_string(set));
        write_text(d / "train.txt", train);
        write_text(d / "test.txt", test);
      }
    }
  }
  if (o.defects) write_text(root / "expected_rejections.tsv", ex.text);
}

void synth_reference_list(const SynthOptions& o) {
  const stdfs::path root(o.out);
  static const std::vector<std::string> names = {
      "Angry",    "Disgust",  "Fear",    "Happy",        "Neutral",       "Sad",
      "Surprise", "Contempt", "Anxiety", "Helplessness", "Disappointment"};
  SynthOptions frames_only = o;
  frames_only.video = false;
  auto clips = synth_mafw_media(frames_only, static_cast<int>(names.size()));
  std::string train, val;
  for (size_t i = 0; i < clips.size(); ++i) {
    const auto& c = clips[i];
    const std::string line = "data/frames/" + c.id + " " + std::to_string(c.frames) + " " +
                             std::to_string(c.cls) + " " + names[c.cls] + "\n";
    (i % 4 == 3 ? val : train) += line;
  }
  Expected ex;
  if (o.defects) {
    const auto dir = [&](const char* id) { return root / "data" / "frames" / id; };
    train += "data/frames/91001 12 0 Angry\n";
    ex.add("data/frames/91001", "missing_folder");
    stdfs::create_directories(dir("91002"));
    train += "data/frames/91002 12 1 Disgust\n";
    ex.add("data/frames/91002", "empty_folder");
    write_frames(dir("91003"), 2, 501, o.frames, o.size);
    truncate_frames(dir("91003"));
    train += "data/frames/91003 " + std::to_string(o.frames) + " 2 Fear\n";
    ex.add("data/frames/91003", "unreadable_image");
    write_frames(dir("91004"), 3, 502, o.frames, o.size);
    train += "data/frames/91004 " + std::to_string(o.frames + 3) + " 3 Happy\n";
    ex.add("data/frames/91004", "frame_count_mismatch");
    write_frames(dir("91005"), 4, 503, o.frames, o.size);
    train += "data/frames/91005 " + std::to_string(o.frames) + " 42 Neutral\n";
    ex.add("data/frames/91005", "unknown_label");
    write_frames(dir("91006"), 5, 504, o.frames, o.size);
    stdfs::remove(dir("91006") / "5.jpg");
    train += "data/frames/91006 " + std::to_string(o.frames - 1) + " 5 Sad\n";
    ex.add("data/frames/91006", "frame_gap");
    const auto& c = clips[0];
    train += "data/frames/" + c.id + " " + std::to_string(c.frames) + " " + std::to_string(c.cls) +
             " " + names[c.cls] + "\n";
    ex.add("data/frames/" + c.id, "duplicate_clip_id");
    write_text(root / "expected_rejections.tsv", ex.text);
  }
  write_text(root / "train.txt", train);
  write_text(root / "val.txt", val);
}

void synth_dfew(const SynthOptions& o) {
  const stdfs::path root(o.out);
  const int nc = static_cast<int>(dfew_classes().size());
  int counter = 0;
  std::vector<std::pair<int, int>> clips;  // (id, label 1..7)
  for (int c = 0; c < nc; ++c) {
    for (int j = 0; j < o.clips_per_class; ++j, ++counter) {
      const int id = counter + 1;
      write_frames(root / "Clip" / "clip_224x224" / fmt("%05d", id), c,
                   o.seed * 100003u + static_cast<uint32_t>(counter), frames_for(counter, o.frames),
                   o.size, "%05d.jpg");
      clips.emplace_back(id, c + 1);
    }
  }
  std::vector<std::string> extra_train;
  Expected ex;
  if (o.defects) {
    const auto dir = [&](int id) { return root / "Clip" / "clip_224x224" / fmt("%05d", id); };
    extra_train.push_back("92001,1");
    ex.add("92001", "missing_folder");
    stdfs::create_directories(dir(92002));
    extra_train.push_back("92002,2");
    ex.add("92002", "empty_folder");
    write_frames(dir(92003), 2, 601, o.frames, o.size, "%05d.jpg");
    truncate_frames(dir(92003));
    extra_train.push_back("92003,3");
    ex.add("92003", "unreadable_image");
    write_frames(dir(92004), 3, 602, o.frames, o.size, "%05d.jpg");
    stdfs::remove(dir(92004) / "00004.jpg");
    extra_train.push_back("92004,4");
    ex.add("92004", "frame_gap");
    write_frames(dir(92005), 4, 603, o.frames, o.size, "%05d.jpg");
    extra_train.push_back("92005,9");
    ex.add("92005", "unknown_label");
    extra_train.push_back(std::to_string(clips[0].first) + "," + std::to_string(clips[0].second));
    ex.add(fmt("%05d", clips[0].first), "duplicate_clip_id");
    write_text(root / "expected_rejections.tsv", ex.text);
  }
  for (int set = 1; set <= 5; ++set) {
    std::string train = "video_name,label\n", test = "video_name,label\n";
    for (size_t i = 0; i < clips.size(); ++i) {
      const std::string line =
          std::to_string(clips[i].first) + "," + std::to_string(clips[i].second) + "\n";
      (static_cast<int>(i % 5) == set - 1 ? test : train) += line;
    }
    for (const auto& l : extra_train) train += l + "\n";
    const std::string name = "set_" + std::to_string(set) + ".csv";
    write_text(root / "EmoLabel_DataSplit" / "train(single-labeled)" / name, train);
    write_text(root / "EmoLabel_DataSplit" / "test(single-labeled)" / name, test);
  }
}

}  // namespace

std::vector<uint8_t> synth_frame(int cls, uint32_t clip_seed, int frame, int size) {
  // Class colours spread around the hue circle; eyes and mouth vary with the class too.
  static const cv::Scalar kColours[] = {{230, 60, 60},  {90, 170, 60},   {120, 80, 200},
                                        {240, 200, 60}, {170, 170, 170}, {60, 90, 220},
                                        {240, 120, 30}, {150, 60, 150},  {60, 200, 200},
                                        {120, 120, 40}, {200, 120, 160}};
  const cv::Scalar face = kColours[cls % 11];
  std::mt19937 rng(clip_seed);
  std::uniform_int_distribution<int> jitter(-size / 16, size / 16);
  const int cx = size / 2 + jitter(rng) + (frame % 6) - 3, cy = size / 2 + jitter(rng);
  cv::Mat img(size, size, CV_8UC3, cv::Scalar(40 + 8 * (cls % 5), 40, 50 + 6 * (cls % 7)));
  // Smooth per-clip noise: coarse random grid, upsampled (JPEG-friendly).
  cv::Mat coarse(4, 4, CV_8UC3);
  std::uniform_int_distribution<int> noise(0, 40);
  for (int i = 0; i < 16; ++i)
    coarse.at<cv::Vec3b>(i / 4, i % 4) = cv::Vec3b(noise(rng), noise(rng), noise(rng));
  cv::Mat smooth;
  cv::resize(coarse, smooth, img.size(), 0, 0, cv::INTER_CUBIC);
  img += smooth;
  const double s = size / 64.0;
  cv::ellipse(img, cv::Point(cx, cy), cv::Size(int(20 * s), int(26 * s)), 0, 0, 360, face, -1,
              cv::LINE_AA);
  const int eye = std::max(1, int((2 + cls % 4) * s));
  cv::circle(img, cv::Point(cx - int(8 * s), cy - int(7 * s)), eye, cv::Scalar(20, 20, 20), -1);
  cv::circle(img, cv::Point(cx + int(8 * s), cy - int(7 * s)), eye, cv::Scalar(20, 20, 20), -1);
  // Mouth: smile (happy-like classes) or frown, opening varies with the class.
  const int mouth_h = std::max(1, int((2 + (cls * 3) % 7) * s));
  const bool smile = cls % 2 == 0;
  cv::ellipse(img, cv::Point(cx, cy + int(10 * s)), cv::Size(int(9 * s), mouth_h), 0,
              smile ? 0 : 180, smile ? 180 : 360, cv::Scalar(30, 20, 20), std::max(1, int(2 * s)),
              cv::LINE_AA);
  // Frame-index bar along the bottom edge: every frame of a clip is different.
  const int bar = (frame * 5) % size + 1;
  cv::rectangle(img, cv::Rect(0, size - std::max(2, size / 16), bar, std::max(2, size / 16)),
                cv::Scalar(250, 250, 250), -1);
  return std::vector<uint8_t>(img.data, img.data + img.total() * 3);
}

int run_synth(const SynthOptions& o) {
  if (o.clips_per_class < 1 || o.frames < 2 || o.size < 16) {
    throw ConfigError("synth needs --clips-per-class >= 1, --frames >= 2, --size >= 16");
  }
  stdfs::create_directories(o.out);
  if (o.layout == "afew") {
    synth_afew(o);
  } else if (o.layout == "mafw") {
    synth_mafw(o);
  } else if (o.layout == "reference-list") {
    synth_reference_list(o);
  } else if (o.layout == "dfew") {
    synth_dfew(o);
  } else {
    throw ConfigError("unknown --layout " + o.layout + " (afew, mafw, reference-list, dfew)");
  }
  std::printf("synthetic %s dataset written to %s\n", o.layout.c_str(), o.out.c_str());
  return 0;
}

}  // namespace hesp::pack
