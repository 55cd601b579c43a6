#include "source_signature.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "media/frame_source.h"
#include "util/hash.h"

namespace hesp::pack {
namespace {

namespace stdfs = std::filesystem;

// Appends one file's name and size to `text` and its size and time to `sig`; with
// `hashes`, appends the sha256 of its content there (a read failure as its message).
void add_file(const std::string& path, std::string* text, std::string* stat_text,
              SourceSignature* sig, std::string* hashes) {
  text->append("\nfile\t").append(stdfs::path(path).filename().string());
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    text->append("\tcannot stat: ").append(std::strerror(errno));
    stat_text->append("\n").append(path).append("\tcannot stat");
    return;
  }
  text->append("\t").append(std::to_string(st.st_size));
  stat_text->append("\n").append(path);
  for (const auto v :
       {static_cast<int64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec),
        static_cast<int64_t>(st.st_mtim.tv_nsec), static_cast<int64_t>(st.st_ctim.tv_sec),
        static_cast<int64_t>(st.st_ctim.tv_nsec), static_cast<int64_t>(st.st_ino),
        static_cast<int64_t>(st.st_dev)}) {
    stat_text->append("\t").append(std::to_string(v));
  }
  ++sig->files;
  sig->bytes += static_cast<int64_t>(st.st_size);
  const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  sig->newest_mtime_ns = std::max(sig->newest_mtime_ns, mtime);
  if (!hashes) return;
  try {
    hashes->append(hash::sha256_file_hex(path));
  } catch (const std::exception& e) {
    text->append("\tunreadable: ").append(e.what());
  }
}

// All forms: `known` empty = hash the files here; `stat_only`: no content at all.
SourceSignature signature(const ClipSource& clip, const std::string& known, bool stat_only) {
  SourceSignature sig;
  std::string text = "clip\t" + clip.path + "\t" + (clip.is_video ? "video" : "frames") + "\t" +
                     std::to_string(clip.expected_frames) + "\t" + clip.reject_reason + "\t" +
                     clip.reject_detail;
  std::string stat_text = text, hashes;
  std::string* want = known.empty() && !stat_only ? &hashes : nullptr;
  // An importer rejection does not read the source: neither does its signature.
  if (clip.reject_reason.empty()) {
    if (clip.is_video) {
      add_file(clip.path, &text, &stat_text, &sig, want);
    } else {
      try {
        const FrameListing listing = list_frame_folder(clip.path);
        text += "\nlisting\t" + listing.reject_reason + "\t" + listing.reject_detail;
        stat_text += "\nlisting\t" + listing.reject_reason + "\t" + listing.reject_detail;
        for (const auto& f : listing.files) add_file(f, &text, &stat_text, &sig, want);
      } catch (const std::exception& e) {
        text += std::string("\nlisting failed\t") + e.what();
        stat_text += std::string("\nlisting failed\t") + e.what();
      }
    }
    // As PackedClip::content_hash: the video's sha256, or the sha256 of the frames' ones.
    const std::string content = !known.empty()  ? known
                                : clip.is_video ? hashes
                                                : hash::sha256_hex(hashes);
    text += "\ncontent\t" + content;
  }
  sig.stat_hash = hash::sha256_hex(stat_text);
  if (!stat_only) sig.hash = hash::sha256_hex(text);
  return sig;
}

}  // namespace

SourceSignature source_signature(const ClipSource& clip) { return signature(clip, "", false); }

SourceSignature source_signature(const ClipSource& clip, const std::string& content_hash) {
  return signature(clip, content_hash, false);
}

SourceSignature source_stat(const ClipSource& clip) { return signature(clip, "", true); }

}  // namespace hesp::pack
