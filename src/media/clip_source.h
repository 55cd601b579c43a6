#pragma once
// What an importer produces: the dataset's classes in label order and one ClipSource per
// annotated clip, in a deterministic order. Problems an importer can see without
// decoding (unknown label, duplicate id, missing folder) are recorded on the clip as a
// rejection so that every input clip is either packed or listed in rejected.tsv.
#include <map>
#include <string>
#include <vector>

namespace hesp::pack {

// Rejection reasons written to rejected.tsv (column 3). Stable strings: tests and users
// grep for them.
namespace reason {
inline constexpr const char* kMissingFolder = "missing_folder";
inline constexpr const char* kMissingVideo = "missing_video";
inline constexpr const char* kEmptyFolder = "empty_folder";
inline constexpr const char* kUnreadableImage = "unreadable_image";
inline constexpr const char* kUnreadableVideo = "unreadable_video";
inline constexpr const char* kFrameCountMismatch = "frame_count_mismatch";
inline constexpr const char* kUnknownLabel = "unknown_label";
inline constexpr const char* kDuplicateClipId = "duplicate_clip_id";
inline constexpr const char* kFrameGap = "frame_gap";
inline constexpr const char* kBadAnnotation = "bad_annotation";
inline constexpr const char* kNonUtf8Name = "non_utf8_name";
}  // namespace reason

// Integrity findings written to integrity.tsv (column 1) beside rejected.tsv.
namespace integrity {
inline constexpr const char* kLabelConflict = "label_conflict";        // One clip, two labels.
inline constexpr const char* kLeakage = "leakage";                     // One clip, two splits.
inline constexpr const char* kDuplicateContent = "duplicate_content";  // Same bytes, two ids.
}  // namespace integrity

struct IntegrityIssue {
  std::string kind;  // integrity::k*
  std::string clip_id;
  std::string other_clip_id;  // The earlier clip it collides with.
  std::string detail;
};

struct ClipSource {
  std::string clip_id;
  // The clip's identity for integrity checks when it differs from clip_id (AFEW: the id
  // without split and class folders, so one video under two classes or splits is seen).
  std::string key;
  std::string path;  // Absolute frame folder or video file.
  bool is_video = false;
  int label = -1;  // Index into ImportResult::class_names, -1 when unknown.
  std::string compound_label;
  std::string split;
  int expected_frames = -1;   // From the annotation, -1 when the annotation has none.
  std::string reject_reason;  // Set by the importer for problems seen without decoding.
  std::string reject_detail;
};

struct ImportResult {
  std::vector<std::string> class_names;
  std::vector<ClipSource> clips;
  std::vector<IntegrityIssue> issues;  // Label conflicts and leakage seen in the annotations.
};

// Options shared by every importer.
struct ImportOptions {
  std::string root;
  std::map<std::string, std::string> class_map;  // Source class name -> output name.
  std::vector<std::string> class_names;          // --class-names: output label order.
  std::map<std::string, std::string> lists;      // reference-list: split -> list file.
  std::string csv_file;                          // csv: the annotation file.
  std::string mafw_labels = "single";            // single | compound
  std::string mafw_caption = "no_caption";       // no_caption | with_caption
  int dataset_set = 0;                           // MAFW / DFEW fold (1..5), 0 = none.
  std::string source = "auto";                   // auto | frames | video
};

}  // namespace hesp::pack
