// `hesp step` against the pinned reference step (tests/data/fixtures/hesp_step, a copy of
// ../shared/fixtures/hesp_step): every array under /expected, within the README's rule
//   losses                          |a - b| <= 1e-4 |b|
//   logits, features, distances     |a - b| <= 1e-4 |b| + 1e-4 max|b|
//   gradients                       |a - b| <= 1e-3 |b| + 1e-4 max|b|
//   integers (box bounds, tokens)   equal
// in float64 (the default) and float32; and bad input exits 2 naming the dataset.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "clip/weights/h5_file.h"

namespace hesp {
namespace {

const std::string kFixture =
    std::string(HESP_SOURCE_DIR) + "/tests/data/fixtures/hesp_step/hesp_step_a.h5";
const std::string kWeights =
    std::string(HESP_SOURCE_DIR) + "/tests/data/fixtures/clip/tiny_clip_a.state_dict.pt";

std::filesystem::path scratch() {
  auto dir = std::filesystem::path(HESP_BINARY_DIR) / "test_scratch" / "hesp_step";
  std::filesystem::create_directories(dir);
  return dir;
}

// Runs `hesp <args>`: (exit code, stdout + stderr).
std::pair<int, std::string> hesp(const std::string& args) {
  const std::string cmd = std::string(HESP_BINARY_DIR) + "/bin/hesp " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  return {WEXITSTATUS(status), out};
}

// Every dataset below `group` of an HDF5 file, as paths relative to it.
std::vector<std::string> datasets_under(const std::string& file, const std::string& group) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(f, 0) << file;
  const hid_t g = H5Gopen2(f, group.c_str(), H5P_DEFAULT);
  std::vector<std::string> names;
  // The object-info type is H5O_info_t before HDF5 1.12 (Debian 12: 1.10) and H5O_info2_t
  // from it on (Debian 13: 1.14, where H5Ovisit means H5Ovisit3 and takes the fields).
  const auto visit = [](hid_t, const char* name, const auto* info, void* out) -> herr_t {
    if (info->type == H5O_TYPE_DATASET)
      static_cast<std::vector<std::string>*>(out)->push_back(name);
    return 0;
  };
#if H5_VERSION_GE(1, 12, 0)
  H5Ovisit3(g, H5_INDEX_NAME, H5_ITER_INC, visit, &names, H5O_INFO_BASIC);
#else
  H5Ovisit(g, H5_INDEX_NAME, H5_ITER_INC, visit, &names);
#endif
  H5Gclose(g);
  H5Fclose(f);
  return names;
}

enum class Rule { kLoss, kValue, kGradient };

Rule rule_for(const std::string& name) {
  if (name.rfind("loss/", 0) == 0) return Rule::kLoss;
  if (name.rfind("grad/", 0) == 0) return Rule::kGradient;
  return Rule::kValue;
}

// The worst ratio of |a - b| to the README's bound over the array (<= 1 passes).
double worst_ratio(const torch::Tensor& a, const torch::Tensor& b, Rule rule) {
  const double scale = b.abs().max().item<double>();
  torch::Tensor bound;
  switch (rule) {
    case Rule::kLoss:
      bound = 1e-4 * b.abs();
      break;
    case Rule::kValue:
      bound = 1e-4 * b.abs() + 1e-4 * scale;
      break;
    case Rule::kGradient:
      bound = 1e-3 * b.abs() + 1e-4 * scale;
      break;
  }
  return ((a - b).abs() / bound.clamp_min(1e-300)).max().item<double>();
}

void expect_matches_fixture(const std::string& dtype) {
  const std::string out = (scratch() / ("step_" + dtype + ".h5")).string();
  auto [code, text] = hesp("--threads 1 step --weights " + kWeights + " --input " + kFixture +
                           " --output " + out + " --dtype " + dtype);
  ASSERT_EQ(code, 0) << text;
  const auto names = datasets_under(kFixture, "/expected");
  ASSERT_GE(names.size(), 25u);
  auto want = clip::H5File::open_read(kFixture);
  auto got = clip::H5File::open_read(out);
  for (const auto& name : names) {
    SCOPED_TRACE(dtype + " " + name);
    const std::string expected = "/expected/" + name;
    ASSERT_TRUE(got.has(name)) << "hesp step did not write " << name;
    const auto b = want.read_double(expected);
    const bool integer = name == "box_bounds" || name.rfind("tokens/", 0) == 0;
    if (integer) {
      EXPECT_TRUE(torch::equal(got.read_int64(name), want.read_int64(expected)));
      continue;
    }
    const auto a = got.read_double(name);
    ASSERT_EQ(a.sizes(), b.sizes());
    const double ratio = worst_ratio(a, b, rule_for(name));
    std::cout << dtype << " " << name << ": worst |a-b| / bound = " << ratio << "\n";
    EXPECT_LE(ratio, 1.0);
    // float64 reproduces the reference's float64 run to rounding, far inside the rule.
    if (dtype == "float64") {
      EXPECT_LE(ratio, 1e-3);
    }
  }
}

TEST(HespStep, Float64MatchesTheReferenceStep) { expect_matches_fixture("float64"); }
TEST(HespStep, Float32MatchesTheReferenceStep) { expect_matches_fixture("float32"); }

// A copy of the fixture's /inputs and /params with one change: `drop` left out, `replace`
// written instead of the original.
std::string variant(const std::string& name, const std::string& drop,
                    const std::pair<std::string, torch::Tensor>& replace = {},
                    const std::vector<std::string>& class_names = {}) {
  const std::string path = (scratch() / (name + ".h5")).string();
  auto src = clip::H5File::open_read(kFixture);
  auto dst = clip::H5File::create(path);
  for (const char* n : {"/inputs/frames", "/params/delta", "/params/contexts",
                        "/params/negative_images", "/params/radius"}) {
    if (n == drop) continue;
    dst.write(n, n == replace.first ? replace.second : src.read_float(n));
  }
  for (const char* n : {"/inputs/labels", "/inputs/box_centers"}) {
    if (n == drop) continue;
    dst.write(n, n == replace.first ? replace.second : src.read_int64(n));
  }
  if (drop != "/inputs/class_names") {
    dst.write_strings("/inputs/class_names",
                      class_names.empty() ? src.read_strings("/inputs/class_names") : class_names);
  }
  return path;
}

void expect_exit_2_naming(const std::string& input, const std::string& named) {
  const std::string out = (scratch() / "bad_out.h5").string();
  auto [code, text] =
      hesp("--threads 1 step --weights " + kWeights + " --input " + input + " --output " + out);
  EXPECT_EQ(code, 2) << text;
  EXPECT_NE(text.find(named), std::string::npos) << text;
}

TEST(HespStep, BadInputExitsTwoNamingIt) {
  expect_exit_2_naming(variant("no_labels", "/inputs/labels"), "/inputs/labels");
  expect_exit_2_naming(variant("no_delta", "/params/delta"), "/params/delta");
  expect_exit_2_naming(
      variant("wrong_frames", "", {"/inputs/frames", torch::rand({4, 3, 3, 32, 32})}),
      "/inputs/frames");
  expect_exit_2_naming(
      variant("wrong_centers", "", {"/inputs/box_centers", torch::zeros({4, 3}, torch::kLong)}),
      "/inputs/box_centers");
  expect_exit_2_naming(
      variant("wrong_images", "", {"/params/negative_images", torch::zeros({3, 3, 64, 32})}),
      "/params/negative_images");
  // Four class names, three context sets: the class count does not match the contexts.
  expect_exit_2_naming(
      variant("four_classes", "", {}, {"happiness", "sadness", "surprise", "fear"}),
      "/params/contexts");
  expect_exit_2_naming(
      variant("bad_label", "", {"/inputs/labels", torch::tensor({0, 1, 2, 3}, torch::kLong)}),
      "/inputs/labels");
}

}  // namespace
}  // namespace hesp
