// `hesp metrics` on the golden file and on broken inputs, through the real binary; and the
// JSON parser's error messages.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <array>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "metrics/scores_json.h"
#include "util/errors.h"
#include "util/fs.h"

namespace hesp::metrics {
namespace {

using nlohmann::json;

const std::string kGolden =
    std::string(HESP_SOURCE_DIR) + "/tests/data/fixtures/clip/metrics_golden.json";
const std::string kHesp = std::string(HESP_BINARY_DIR) + "/bin/hesp";

struct HespRun {
  int exit_code;
  std::string out;  // stdout and stderr together.
};

HespRun run_hesp(const std::string& args) {
  const std::string cmd = kHesp + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::filesystem::path temp_dir() {
  auto d =
      std::filesystem::temp_directory_path() / ("hesp_metrics_cli_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d;
}

std::string write_temp(const std::string& name, const json& j) {
  const auto path = temp_dir() / name;
  fs::atomic_write_file(path, j.dump());
  return path.string();
}

json small_case() {
  return json{{"known_logits", {{2.0, 0.0}, {0.0, 3.0}, {1.0, 0.5}}},
              {"known_labels", {0, 1, 1}},
              {"unknown_logits", {{0.5, 0.2}, {1.5, 0.0}}}};
}

TEST(MetricsCli, GoldenFileEveryCaseByName) {
  const auto golden = json::parse(fs::read_file(kGolden));
  for (const std::string score : {"max_logit", "msp"}) {
    SCOPED_TRACE(score);
    const auto out_path = (temp_dir() / ("golden_" + score + ".json")).string();
    const HespRun r =
        run_hesp("metrics --input " + kGolden + " --score " + score + " --output " + out_path);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const json got = json::parse(fs::read_file(out_path));
    ASSERT_EQ(got.size(), golden["cases"].size());
    for (const auto& c : golden["cases"]) {
      const std::string name = c["name"];
      SCOPED_TRACE(name);
      ASSERT_TRUE(got.contains(name));
      const json& g = got[name];
      EXPECT_EQ(g["score"], score);
      const bool msp = score == "msp";
      EXPECT_NEAR(g["auroc"].get<double>(), c[msp ? "auroc" : "auroc_max_logit"].get<double>(),
                  1e-9);
      EXPECT_NEAR(g["oscr"].get<double>(), c[msp ? "oscr_on_softmax" : "oscr"].get<double>(), 1e-9);
      EXPECT_NEAR(g["closed_set_accuracy"].get<double>(), c["closed_set_accuracy"].get<double>(),
                  1e-9);
      EXPECT_TRUE(g.contains("tnr_at_95tpr"));
      EXPECT_FALSE(g.contains("macro_f1"));  // No train_scores in the golden cases.
    }
  }
}

TEST(MetricsCli, SingleCaseWithTrainScoresGivesThresholdMetrics) {
  json c = small_case();
  c["train_scores"] = {1.0, 2.0, 3.0};  // 5th percentile: 1 + 2 * 0.05 = 1.1.
  const HespRun r = run_hesp("metrics --input " + write_temp("single.json", c));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json g = json::parse(r.out);
  EXPECT_DOUBLE_EQ(g["threshold"].get<double>(), 1.1);
  // Known max logits 2 (right), 3 (right), 1 (< 1.1: unknown); unknown 0.5, 1.5 (-> 0).
  EXPECT_DOUBLE_EQ(g["open_set_accuracy"].get<double>(), 3.0 / 5.0);
  EXPECT_EQ(g["confusion_matrix"], json({{1, 0, 0}, {0, 1, 1}, {1, 0, 1}}));
  // Known {2, 3, 1} vs unknown {0.5, 1.5}: 5 of 6 pairs won.
  EXPECT_DOUBLE_EQ(g["auroc"].get<double>(), 5.0 / 6.0);
}

TEST(MetricsCli, BadInputsExitOneNamingCaseAndKey) {
  json missing = {{"cases", {small_case(), small_case()}}};
  missing["cases"][0]["name"] = "fine";
  missing["cases"][1]["name"] = "broken";
  missing["cases"][1].erase("unknown_logits");
  HespRun r = run_hesp("metrics --input " + write_temp("missing.json", missing));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("case 'broken'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("'unknown_logits'"), std::string::npos) << r.out;

  json ragged = small_case();
  ragged["known_logits"][1] = {1.0, 2.0, 3.0};
  r = run_hesp("metrics --input " + write_temp("ragged.json", ragged));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("ragged"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("'known_logits'"), std::string::npos) << r.out;

  json label = small_case();
  label["known_labels"][2] = 2;
  r = run_hesp("metrics --input " + write_temp("label.json", label));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("'known_labels'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("out of range"), std::string::npos) << r.out;

  r = run_hesp("metrics --input " + (temp_dir() / "absent.json").string());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("absent.json"), std::string::npos) << r.out;

  r = run_hesp("metrics --input " + kGolden + " --score median");
  EXPECT_EQ(r.exit_code, 2) << r.out;  // A bad flag is a usage error.
}

// Runs parse_score_case and returns the UserError text ("" when it did not throw).
std::string parse_error(const json& j) {
  try {
    parse_score_case(j, "in.json case 'c1'");
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(ScoresJson, ErrorsNameTheCaseAndKey) {
  EXPECT_EQ(parse_error(small_case()), "");
  json j = small_case();
  j.erase("known_labels");
  EXPECT_EQ(parse_error(j), "in.json case 'c1': missing key 'known_labels'");
  j = small_case();
  j["known_labels"] = {0, 1};
  EXPECT_NE(parse_error(j).find("key 'known_labels'"), std::string::npos);
  j = small_case();
  j["known_labels"][0] = -1;
  EXPECT_NE(parse_error(j).find("out of range [0, 2)"), std::string::npos);
  j = small_case();
  j["known_labels"][0] = 0.5;
  EXPECT_NE(parse_error(j).find("not an integer"), std::string::npos);
  j = small_case();
  j["unknown_logits"] = {{1.0, 2.0, 3.0}};
  EXPECT_NE(parse_error(j).find("key 'unknown_logits'"), std::string::npos);
  j = small_case();
  j["unknown_logits"][0][1] = "x";
  EXPECT_NE(parse_error(j).find("expected a number"), std::string::npos);
  j = small_case();
  j["unknown_logits"] = json::array();
  EXPECT_NE(parse_error(j).find("non-empty"), std::string::npos);
  j = small_case();
  j["num_classes"] = 3;
  EXPECT_NE(parse_error(j).find("key 'num_classes'"), std::string::npos);
}

TEST(ScoresJson, CasesNeedUniqueNames) {
  json doc = {{"cases", {small_case()}}};
  EXPECT_THROW(parse_score_document(doc, "f.json"), UserError);
  doc["cases"][0]["name"] = "a";
  doc["cases"].push_back(doc["cases"][0]);
  try {
    parse_score_document(doc, "f.json");
    FAIL() << "duplicate names accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate case name 'a'"), std::string::npos);
  }
}

}  // namespace
}  // namespace hesp::metrics
