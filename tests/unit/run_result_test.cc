// result.json through run::RunResult (src/run/run_result.h): the JSON round trip, files of
// version 1 (no "schema_version", as `hesp train` wrote them before the key existed) still
// read, a newer version, a missing field and a mistyped field refused naming the file,
// the version or the field; and the run directory's layout.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "run/run_directory.h"
#include "run/run_result.h"
#include "util/errors.h"
#include "util/fs.h"

namespace hesp::run {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

// A result.json as `hesp train` wrote it before "schema_version" (trainer.cc's writer up to
// this change): a hesp run with a validation hold-out, chosen on validation.
const char* kVersion1File = R"json({
 "clip_weights": "/data/clip/ViT-B-32.pt",
 "clip_weights_sha256": "3c5d0c8e2f1a",
 "clips": [
  {"clip_id": "000123", "label": 0, "prediction": 0, "score": 21.5},
  {"clip_id": "000124", "label": -1, "prediction": 1, "score": 17.25},
  {"clip_id": "000125", "label": 1, "prediction": 1, "score": 19.0}
 ],
 "config_hash": "9f2c44aa",
 "config_identity": "71be03cd",
 "epochs": 12,
 "known_classes": ["Angry", "Happy"],
 "manifest_fingerprint": "e3b0c442",
 "method": "hesp",
 "metrics": {
  "auroc": 0.8125,
  "closed_set_accuracy": 1.0,
  "confusion": [[1, 0, 0], [0, 1, 0], [0, 1, 0]],
  "macro_f1": 0.5555555555555556,
  "n_known": 2,
  "n_unknown": 1,
  "num_known_classes": 2,
  "open_set_accuracy": 0.6666666666666666,
  "oscr": 0.75,
  "score": "max_logit",
  "threshold": 18.0,
  "tnr_at_95tpr": 0.5
 },
 "name": "afew-hesp-5-2",
 "openness": 0.1835034190722739,
 "protocol": {
  "clip_architecture": "ViT-B/32",
  "datasets": ["afew"],
  "test_split": "test",
  "train_split": "train"
 },
 "ranks": 2,
 "selection": {
  "by": "validation",
  "epoch": 9,
  "validation_clips": 14,
  "validation_fraction": 0.10000000149011612,
  "validation_closed_set_accuracy": 0.7857142857142857
 },
 "split": "random split 0 (seed 1)",
 "train_scores": [20.0, 18.5, 22.75],
 "unknown_classes": ["Sad"]
})json";

class RunResultFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = stdfs::temp_directory_path() / ("hesp_run_result_" + std::to_string(::getpid()));
    stdfs::remove_all(dir_);
    stdfs::create_directories(dir_);
  }
  void TearDown() override { stdfs::remove_all(dir_); }

  stdfs::path write(const std::string& name, const std::string& text) {
    const auto p = dir_ / name;
    fs::atomic_write_file(p, text);
    return p;
  }

  // The message of the UserError reading `file` throws; "" when it reads.
  static std::string error_of(const stdfs::path& file) {
    try {
      read_run_result(file);
    } catch (const UserError& e) {
      return e.what();
    }
    return "";
  }

  stdfs::path dir_;
};

RunResult full_result() {
  RunResult r;
  r.name = "mafw-clip_arpl";
  r.method = "clip_arpl";
  r.config_hash = "aa";
  r.config_identity = "bb";
  r.manifest_fingerprint = "cc";
  r.clip_weights = "/w.pt";
  r.clip_weights_sha256 = "dd";
  r.epochs = 3;
  r.ranks = 4;
  r.known_classes = {"a", "b", "c"};
  r.unknown_classes = {"d"};
  r.openness = 0.1339745962155614;
  r.split = "fixed";
  r.metrics.score = "msp";
  r.metrics.num_known_classes = 3;
  r.metrics.n_known = 6;
  r.metrics.n_unknown = 2;
  r.metrics.auroc = 0.625;
  r.metrics.oscr = 0.5;
  r.metrics.closed_set_accuracy = 2.0 / 3.0;
  r.metrics.tnr_at_95tpr = 0.25;
  r.metrics.at_threshold =
      ThresholdResult{0.375, 0.5, 0.4, {{1, 0, 0, 1}, {0, 2, 0, 0}, {0, 0, 1, 1}, {1, 0, 0, 1}}};
  r.selection = RunSelection{"last_epoch", 3, 0.5, 8, 0.2f};
  r.protocol = RunProtocol{"tiny", {"mafw", "afew"}, "train", "test"};
  r.clips = {{"x", 2, 2, 0.875}, {"y", -1, 0, 0.125}};
  r.train_scores = {0.5, 0.75};
  return r;
}

TEST_F(RunResultFiles, RoundTripThroughJsonAndFile) {
  const RunResult r = full_result();
  const json j = to_json(r);
  EXPECT_EQ(j.at("schema_version"), kRunResultSchemaVersion);
  EXPECT_EQ(kRunResultSchemaVersion, 2);
  const RunResult back = run_result_from_json(j, "mem");
  EXPECT_EQ(back.schema_version, 2);
  EXPECT_EQ(to_json(back), j);
  EXPECT_EQ(back.method, "clip_arpl");
  EXPECT_EQ(back.ranks, 4);
  EXPECT_EQ(back.known_classes, r.known_classes);
  EXPECT_EQ(back.metrics.at_threshold->confusion, r.metrics.at_threshold->confusion);
  EXPECT_EQ(*back.selection->validation_clips, 8);
  EXPECT_EQ(back.protocol->datasets, (std::vector<std::string>{"mafw", "afew"}));
  ASSERT_EQ(back.clips.size(), 2u);
  EXPECT_EQ(back.clips[1].label, -1);
  EXPECT_EQ(back.clips[1].score, 0.125);

  // Through a file: what write_run_result writes is to_json's, indented by one as before.
  const auto file = dir_ / "result.json";
  write_run_result(file, r);
  EXPECT_EQ(fs::read_file(file), j.dump(1));
  EXPECT_EQ(to_json(read_run_result(file)), j);

  // Optional members left out stay out.
  RunResult bare = r;
  bare.selection.reset();
  bare.protocol.reset();
  bare.metrics.at_threshold.reset();
  const json jb = to_json(bare);
  EXPECT_FALSE(jb.contains("selection"));
  EXPECT_FALSE(jb.contains("protocol"));
  EXPECT_FALSE(jb.at("metrics").contains("threshold"));
  EXPECT_FALSE(jb.at("metrics").contains("confusion"));
  const RunResult bare_back = run_result_from_json(jb, "mem");
  EXPECT_FALSE(bare_back.selection);
  EXPECT_FALSE(bare_back.protocol);
  EXPECT_FALSE(bare_back.metrics.at_threshold);
  EXPECT_EQ(to_json(bare_back), jb);
}

TEST_F(RunResultFiles, Version1FileOfTheTrainerIsRead) {
  const auto file = write("result.json", kVersion1File);
  const RunResult r = read_run_result(file);
  EXPECT_EQ(r.schema_version, 1);
  EXPECT_EQ(r.name, "afew-hesp-5-2");
  EXPECT_EQ(r.method, "hesp");
  EXPECT_EQ(r.config_hash, "9f2c44aa");
  EXPECT_EQ(r.config_identity, "71be03cd");
  EXPECT_EQ(r.manifest_fingerprint, "e3b0c442");
  EXPECT_EQ(r.clip_weights, "/data/clip/ViT-B-32.pt");
  EXPECT_EQ(r.clip_weights_sha256, "3c5d0c8e2f1a");
  EXPECT_EQ(r.epochs, 12);
  EXPECT_EQ(r.ranks, 2);
  EXPECT_EQ(r.known_classes, (std::vector<std::string>{"Angry", "Happy"}));
  EXPECT_EQ(r.unknown_classes, (std::vector<std::string>{"Sad"}));
  EXPECT_DOUBLE_EQ(r.openness, 0.1835034190722739);
  EXPECT_EQ(r.split, "random split 0 (seed 1)");
  EXPECT_EQ(r.metrics.score, "max_logit");
  EXPECT_EQ(r.metrics.n_unknown, 1);
  EXPECT_DOUBLE_EQ(r.metrics.auroc, 0.8125);
  EXPECT_DOUBLE_EQ(r.metrics.tnr_at_95tpr, 0.5);
  ASSERT_TRUE(r.metrics.at_threshold);
  EXPECT_DOUBLE_EQ(r.metrics.at_threshold->threshold, 18.0);
  EXPECT_EQ(r.metrics.at_threshold->confusion[2], (std::vector<int64_t>{0, 1, 0}));
  ASSERT_TRUE(r.selection);
  EXPECT_EQ(r.selection->by, "validation");
  EXPECT_EQ(r.selection->epoch, 9);
  EXPECT_EQ(*r.selection->validation_clips, 14);
  ASSERT_TRUE(r.protocol);
  EXPECT_EQ(r.protocol->clip_architecture, "ViT-B/32");
  EXPECT_EQ(r.protocol->train_split, "train");
  ASSERT_EQ(r.clips.size(), 3u);
  EXPECT_EQ(r.clips[1].clip_id, "000124");
  EXPECT_EQ(r.clips[1].label, -1);
  EXPECT_EQ(r.train_scores, (std::vector<double>{20.0, 18.5, 22.75}));
  // The layout is unchanged: written again, the file is the old one plus the version.
  json expected = json::parse(kVersion1File);
  expected["schema_version"] = 2;
  EXPECT_EQ(to_json(r), expected);
}

TEST_F(RunResultFiles, Version1FileOfAnOlderTrainerIsRead) {
  // Before name, identity by content, selection and protocol were recorded.
  json j = json::parse(kVersion1File);
  for (const char* k : {"name", "config_identity", "clip_weights", "clip_weights_sha256",
                        "selection", "protocol"}) {
    j.erase(k);
  }
  const RunResult r = read_run_result(write("result.json", j.dump()));
  EXPECT_EQ(r.schema_version, 1);
  EXPECT_EQ(r.name, "");
  EXPECT_EQ(r.config_identity, "");
  EXPECT_EQ(r.clip_weights_sha256, "");
  EXPECT_FALSE(r.selection);
  EXPECT_FALSE(r.protocol);
  EXPECT_EQ(r.config_hash, "9f2c44aa");
  // The same file with "schema_version": 2 lacks fields version 2 requires.
  j["schema_version"] = 2;
  const auto file = write("v2.json", j.dump());
  const std::string e = error_of(file);
  EXPECT_NE(e.find(file.string()), std::string::npos) << e;
  EXPECT_NE(e.find("missing field 'name'"), std::string::npos) << e;
}

TEST_F(RunResultFiles, NewerVersionIsRefusedNamingFileAndVersion) {
  json j = json::parse(kVersion1File);
  j["schema_version"] = 99;
  const auto file = write("result.json", j.dump());
  EXPECT_THROW(read_run_result(file), RunResultVersionError);
  const std::string e = error_of(file);
  EXPECT_NE(e.find(file.string()), std::string::npos) << e;
  EXPECT_NE(e.find("schema version 99 is newer than this hesp reads (at most 2); update hesp"),
            std::string::npos)
      << e;
  // Even when the rest is not what this build knows.
  EXPECT_THROW(run_result_from_json(json{{"schema_version", 3}}, file), RunResultVersionError);
  j["schema_version"] = "2";
  EXPECT_THROW(run_result_from_json(j, file), RunResultVersionError);
  j["schema_version"] = 0;
  EXPECT_THROW(run_result_from_json(j, file), RunResultVersionError);
  j["schema_version"] = 2;
  EXPECT_NO_THROW(run_result_from_json(j, file));
}

TEST_F(RunResultFiles, MissingOrMistypedFieldIsRefusedNamingIt) {
  const json v1 = json::parse(kVersion1File);
  json v2 = v1;
  v2["schema_version"] = 2;
  struct Case {
    json doc;
    std::string message;
  };
  std::vector<Case> cases;
  auto without = [](json j, const std::string& key) {
    j.erase(key);
    return j;
  };
  auto without_metric = [](json j, const std::string& key) {
    j["metrics"].erase(key);
    return j;
  };
  // Required in every version.
  cases.push_back({without(v1, "method"), ": missing field 'method'"});
  cases.push_back({without(v1, "known_classes"), ": missing field 'known_classes'"});
  cases.push_back({without(v1, "clips"), ": missing field 'clips'"});
  cases.push_back({without_metric(v1, "oscr"), " metrics: missing field 'oscr'"});
  // Required from version 2 on.
  cases.push_back({without(v2, "config_hash"), ": missing field 'config_hash'"});
  cases.push_back({without(v2, "train_scores"), ": missing field 'train_scores'"});
  cases.push_back({without_metric(v2, "tnr_at_95tpr"), " metrics: missing field 'tnr_at_95tpr'"});
  // Mistyped.
  json bad = v1;
  bad["openness"] = "0.18";
  cases.push_back({bad, ": field 'openness' has the wrong type"});
  bad = v1;
  bad["clips"][1].erase("score");
  cases.push_back({bad, " clips[1]: missing field 'score'"});
  bad = v1;
  bad["selection"]["epoch"] = "nine";
  cases.push_back({bad, " selection: field 'epoch' has the wrong type"});
  bad = v1;
  bad["metrics"] = json::array();
  cases.push_back({bad, ": 'metrics' is not an object"});
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto file = write("case" + std::to_string(i) + ".json", cases[i].doc.dump());
    const std::string e = error_of(file);
    EXPECT_EQ(e, file.string() + cases[i].message) << "case " << i;
  }
  // Without a required field of version 2 a version-1 file still reads.
  EXPECT_NO_THROW(read_run_result(write("v1.json", without(v1, "config_hash").dump())));
}

TEST_F(RunResultFiles, UnreadableFilesAreRefusedNamingThem) {
  const auto half = write("result.json", R"({"method": "hesp", )");
  std::string e = error_of(half);
  EXPECT_NE(e.find(half.string() + ": not valid JSON"), std::string::npos) << e;
  const auto list = write("list.json", "[1, 2]");
  EXPECT_EQ(error_of(list), list.string() + ": not a JSON object");
  const auto absent = dir_ / "absent" / "result.json";
  e = error_of(absent);
  EXPECT_NE(e.find(absent.string()), std::string::npos) << e;
}

TEST(RunDirectory, NamesTheFilesOfARun) {
  const RunDirectory d("/runs/r1");
  EXPECT_EQ(d.root(), stdfs::path("/runs/r1"));
  EXPECT_EQ(d.result(), stdfs::path("/runs/r1/result.json"));
  EXPECT_EQ(d.result().filename(), RunDirectory::kResultFile);
  EXPECT_EQ(d.config(), stdfs::path("/runs/r1/config.pbtxt"));
  EXPECT_EQ(d.lock(), stdfs::path("/runs/r1/run.lock"));
  EXPECT_EQ(d.checkpoints(), stdfs::path("/runs/r1/checkpoints"));
  EXPECT_EQ(d.checkpoint_request(), stdfs::path("/runs/r1/CHECKPOINT_NOW"));
  EXPECT_EQ(d.cam_cache(), stdfs::path("/runs/r1/cam_cache.tsv"));
  EXPECT_EQ(d.metrics_log(), stdfs::path("/runs/r1/metrics.jsonl"));
  EXPECT_EQ(d.tensorboard(), stdfs::path("/runs/r1/tb"));
  EXPECT_EQ(d.test_features(), stdfs::path("/runs/r1/test_features.h5"));
  EXPECT_EQ(d.sweep_status(), stdfs::path("/runs/r1/sweep_status.json"));
}

}  // namespace
}  // namespace hesp::run
