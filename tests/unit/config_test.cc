// Strict config parsing and validation: every bad case names file:line:col and the field.
#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "config/config_loader.h"
#include "config/method_traits.h"
#include "config/validate.h"
#include "util/errors.h"

namespace hesp::config {
namespace {

using ::testing::HasSubstr;
namespace stdfs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = stdfs::temp_directory_path() /
           ("hesp_config_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    stdfs::create_directories(dir_);
  }
  void TearDown() override { stdfs::remove_all(dir_); }

  stdfs::path write(const std::string& name, const std::string& text) {
    const auto p = dir_ / name;
    std::ofstream(p) << text;
    return p;
  }

  // The ConfigError message of loading `text`, or "" when it loads.
  std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
    const auto p = write("c.pbtxt", text);
    try {
      load_experiment(p, sets);
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.exit_code(), 2);
      return e.what();
    }
    return "";
  }

  std::string path(const std::string& name) { return (dir_ / name).string(); }

  stdfs::path dir_;
};

TEST_F(ConfigTest, EmptyFileIsAllDefaults) {
  EXPECT_EQ(error_of(""), "");
  const auto exp = load_experiment(write("e.pbtxt", ""));
  EXPECT_FLOAT_EQ(exp.optim().lr(), 0.01f);
  EXPECT_EQ(exp.prompts().visual().size(), 56);
  EXPECT_EQ(exp.prompts().text().num_contexts(), 16);
  EXPECT_EQ(exp.method(), hesp);
  EXPECT_FLOAT_EQ(exp.losses().supcon_temperature(), 0.5f);
}

TEST_F(ConfigTest, RenamedStallFieldNamesTheNewOne) {
  const std::string err = error_of("distributed { stall_timeout_s: 30 }\n");
  EXPECT_THAT(err,
              HasSubstr("distributed.stall_timeout_s was renamed distributed.stall_warning_s"));
  EXPECT_EQ(error_of("distributed { stall_warning_s: 0 stall_abort_s: 0 nccl_timeout_s: 0 }\n"), "")
      << "0 = never for every timeout";
  EXPECT_THAT(error_of("distributed { nccl_timeout_s: -1 }\n"),
              HasSubstr("distributed.nccl_timeout_s"));
}

TEST_F(ConfigTest, UnknownFieldNamesFileLineColumnAndField) {
  const std::string err = error_of("name: \"x\"\noptim {\n  lrr: 0.1\n}\n");
  EXPECT_THAT(err, HasSubstr(path("c.pbtxt") + ":3:3:"));
  EXPECT_THAT(err, HasSubstr("field 'optim.lrr'"));
  EXPECT_THAT(err, HasSubstr("hesp.config.OptimConfig"));
}

TEST_F(ConfigTest, WrongTypeNamesFieldPath) {
  const std::string err = error_of("optim {\n  momentum: 0.9\n  lr: \"fast\"\n}\n");
  EXPECT_THAT(err, HasSubstr(path("c.pbtxt") + ":3:7:"));
  EXPECT_THAT(err, HasSubstr("field 'optim.lr'"));
}

TEST_F(ConfigTest, BadEnumValueNamesField) {
  const std::string err = error_of("prompts { visual { fusion: multiply } }\n");
  EXPECT_THAT(err, HasSubstr(path("c.pbtxt") + ":1:28:"));
  EXPECT_THAT(err, HasSubstr("prompts.visual.fusion"));
  EXPECT_THAT(err, HasSubstr("multiply"));
}

TEST_F(ConfigTest, SyntaxErrorHasPosition) {
  const std::string err = error_of("# comment\ndata {\n  frames_per_clip: 8\n");
  EXPECT_THAT(err, HasSubstr(path("c.pbtxt") + ":4:1:"));
}

TEST_F(ConfigTest, IntegerFieldRejectsFraction) {
  const std::string err = error_of("data { frames_per_clip: 8.5 }");
  EXPECT_THAT(err, HasSubstr(path("c.pbtxt") + ":1:25:"));
  EXPECT_THAT(err, HasSubstr("data.frames_per_clip"));
}

TEST_F(ConfigTest, ValidationCollectsEveryProblem) {
  const std::string err = error_of(
      "optim { lr: -1 weight_decay: -0.5 }\n"
      "prompts { visual { size: 300 } }\n"
      "losses { supcon { weight: -2 } }\n"
      "data { open_set { num_known: 1 num_unknown: 2 } }\n");
  EXPECT_THAT(err, HasSubstr("5 config problems")) << err;
}

TEST_F(ConfigTest, ValidationMessagesAreExact) {
  const std::string err = error_of(
      "optim { lr: -1 weight_decay: -0.5 }\n"
      "prompts { visual { size: 300 } }\n"
      "losses { supcon { weight: -2 } }\n"
      "data { open_set { num_known: 1 num_unknown: 2 } }\n");
  EXPECT_THAT(err, HasSubstr("optim.lr must be > 0 (got -1)"));
  EXPECT_THAT(err, HasSubstr("optim.weight_decay must be >= 0 (got -0.5)"));
  EXPECT_THAT(err,
              HasSubstr("prompts.visual.size must be in [1, data.image_size = 224] (got 300)"));
  EXPECT_THAT(err, HasSubstr("losses.supcon.weight must be >= 0 (got -2)"));
  EXPECT_THAT(err, HasSubstr("data.open_set.num_known must be >= 2 (K) (got 1)"));
  EXPECT_THAT(err, HasSubstr(path("c.pbtxt")));
}

TEST_F(ConfigTest, CombineNeedsBothBranches) {
  const std::string err = error_of("prompts { negative { image_enabled: false } }\n");
  EXPECT_THAT(err, HasSubstr("losses.hybrid must be disabled"));
  EXPECT_EQ(error_of("prompts { negative { image_enabled: false } }\n"
                     "losses { hybrid { enabled: false } }\n"),
            "");
}

TEST_F(ConfigTest, OverridesApplyAndAreChecked) {
  const auto p = write("o.pbtxt", "optim { lr: 0.5 }\n");
  auto exp = load_experiment(
      p,
      {"optim.lr=0.02", "model.clip_weights=/w/ViT-B-32.pt", "prompts.visual.fusion=replace",
       "data.open_set.known_classes=[\"Angry\", \"Happy\"]", "schedule={kind: custom epochs: 4}"});
  EXPECT_FLOAT_EQ(exp.optim().lr(), 0.02f);
  EXPECT_EQ(exp.model().clip_weights(), "/w/ViT-B-32.pt");
  EXPECT_EQ(exp.prompts().visual().fusion(), VisualPromptConfig::replace);
  ASSERT_EQ(exp.data().open_set().known_classes_size(), 2);
  EXPECT_EQ(exp.data().open_set().known_classes(1), "Happy");
  EXPECT_EQ(exp.schedule().epochs(), 4);

  EXPECT_THAT(error_of("", {"optim.lrr=1"}), HasSubstr("optim has no field 'lrr'"));
  EXPECT_THAT(error_of("", {"optim.lr=fast"}), HasSubstr("invalid --set optim.lr=fast"));
  EXPECT_THAT(error_of("", {"optim.lr"}), HasSubstr("expected path.to.field=value"));
  EXPECT_THAT(error_of("", {"optim.lr.x=1"}), HasSubstr("not a (singular) message field"));
  // Semantic validation runs after overrides.
  EXPECT_THAT(error_of("", {"optim.lr=-3"}), HasSubstr("optim.lr must be > 0 (got -3)"));
}

TEST_F(ConfigTest, MissingFileIsAConfigError) {
  try {
    load_experiment(dir_ / "absent.pbtxt");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("absent.pbtxt"));
  }
}

TEST_F(ConfigTest, EffectiveConfigRoundTripsAndHashesStably) {
  auto exp = load_experiment(write("a.pbtxt", "optim { lr: 0.03 }\nname: \"run\"\n"));
  write_effective_config(exp, dir_);
  const auto again = load_experiment(dir_ / "config.pbtxt");
  EXPECT_EQ(config_hash(exp), config_hash(again));
  auto changed = again;
  changed.mutable_optim()->set_lr(0.04f);
  EXPECT_NE(config_hash(exp), config_hash(changed));
}

// Every config we ship must parse and validate.
TEST(ShippedConfigs, AllParseAndValidate) {
  const stdfs::path root = stdfs::path(HESP_SOURCE_DIR) / "configs";
  int checked = 0;
  for (const auto& entry : stdfs::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".pbtxt") continue;
    if (entry.path().string().find("/sweeps/") != std::string::npos) continue;
    EXPECT_NO_THROW(load_experiment(entry.path())) << entry.path();
    ++checked;
  }
  EXPECT_GT(checked, 0) << "no experiment configs found under " << root;
}

}  // namespace
}  // namespace hesp::config

namespace hesp::config {
namespace {

namespace pb = google::protobuf;

// Every field of `d` (recursively), as dotted paths.
void field_paths(const pb::Descriptor* d, const std::string& prefix,
                 std::vector<std::string>* out) {
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    out->push_back(prefix + f->name());
    if (f->message_type() != nullptr && !f->is_repeated()) {
      field_paths(f->message_type(), prefix + f->name() + ".", out);
    }
  }
}

TEST(ConfigPrint, PrintsEveryFieldWithItsEffectiveValueAndParsesBack) {
  Experiment exp;
  parse_text_strict(
      "name: \"p\" data { manifests: [\"a\", \"b\"] validation_fraction: 0.2 "
      "class_map { from: \"anger\" to: \"Angry\" } } optim { lr: 0.5 }",
      "test", &exp);
  const std::string text = to_text_all_fields(exp);
  // Set fields show their value; unset ones are comments with their default.
  EXPECT_THAT(text, HasSubstr("\n  validation_fraction: 0.2\n"));
  EXPECT_THAT(text, HasSubstr("\n  lr: 0.5\n"));
  EXPECT_THAT(text, HasSubstr("\n  # momentum: 0.9\n"));
  EXPECT_THAT(text, HasSubstr("\n# eval {\n  # every_epochs: 10\n"));
  EXPECT_THAT(text, HasSubstr("\n  # best_by_validation: false\n"));
  EXPECT_THAT(text, HasSubstr("\n  # train_split: \"train\"\n"));
  EXPECT_THAT(text, HasSubstr("\n# method: hesp\n"));
  EXPECT_THAT(text, HasSubstr("\n    # known_classes: []\n"));
  EXPECT_THAT(text, HasSubstr("\n    # splits_file: \"\"\n"));
  EXPECT_THAT(text, HasSubstr("\n  manifests: [\"a\", \"b\"]\n"));
  EXPECT_THAT(text, HasSubstr("\n    from: \"anger\"\n"));
  // Every field of the schema appears (as "name:" or "name {").
  std::vector<std::string> paths;
  field_paths(Experiment::descriptor(), "", &paths);
  EXPECT_GT(paths.size(), 100u);
  const std::string lines = "\n" + text;
  for (const auto& p : paths) {
    const std::string leaf = p.substr(p.rfind('.') + 1);
    EXPECT_TRUE(lines.find(" " + leaf + ":") != std::string::npos ||
                lines.find(" " + leaf + " {") != std::string::npos ||
                lines.find("\n" + leaf + ":") != std::string::npos ||
                lines.find("\n" + leaf + " {") != std::string::npos)
        << p << " is not printed";
  }
  // It parses back to exactly the same config (same hash).
  Experiment back;
  ASSERT_NO_THROW(parse_text_strict(text, "printed", &back)) << text;
  EXPECT_EQ(config_hash(back), config_hash(exp));
  EXPECT_EQ(to_text_all_fields(back), text);
}

// The method-traits table answers every method question, for every method of the enum.
TEST(MethodTraits, EveryMethodHasOneRowAndThePapersOrder) {
  const auto order = methods_in_paper_order();
  ASSERT_EQ(static_cast<int>(order.size()), Method_descriptor()->value_count());
  const std::vector<Method> paper = {clip_zeroshot, clip_arpl, hesp_b1, hesp};
  EXPECT_EQ(order, paper);
  for (size_t i = 0; i < order.size(); ++i) {
    const MethodTraits& t = method_traits(order[i]);
    EXPECT_EQ(t.method, order[i]);
    EXPECT_EQ(t.paper_row, static_cast<int>(i));
    ASSERT_EQ(method_traits_by_name(Method_Name(order[i])), &t);
    // A baseline is a method that trains no HESP prompts itself.
    if (t.baseline) {
      EXPECT_FALSE(method_traits(*t.baseline).hesp_prompts) << Method_Name(t.method);
    }
  }
  EXPECT_EQ(method_traits_by_name("hesp_b2"), nullptr);
  EXPECT_EQ(method_traits_by_name(""), nullptr);
  EXPECT_EQ(method_traits_by_name("HESP"), nullptr) << "names are exact, as in result.json";
  // Only the method without training is scored by MSP regardless of eval.score, and costs
  // nothing to train.
  for (const Method m : order) {
    EXPECT_EQ(method_traits(m).msp_score, !method_traits(m).trains) << Method_Name(m);
    EXPECT_EQ(method_traits(m).sweep_cost == 0.0, !method_traits(m).trains) << Method_Name(m);
  }
  EXPECT_EQ(*method_traits(hesp).baseline, clip_arpl);
  EXPECT_EQ(*method_traits(hesp_b1).baseline, clip_zeroshot);
  EXPECT_STREQ(method_traits(hesp_b1).paper_name, "Baseline 1 + HESP");
}

}  // namespace
}  // namespace hesp::config
