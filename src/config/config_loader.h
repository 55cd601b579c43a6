#pragma once
// Strict loading of protobuf text-format configs.
//  - Syntax errors, unknown fields and wrong types: ConfigError "file:line:col: field: why".
//  - --set overrides "path.to.field=value" go through the same parser and checks.
//  - Semantic validation (validate.h) collects every problem into one message.
#include <google/protobuf/message.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/experiment.pb.h"

namespace hesp::config {

// Parses `text` (named `source` in messages) into `msg`, strictly. Throws ConfigError.
void parse_text_strict(const std::string& text, const std::string& source,
                       google::protobuf::Message* msg);

// Reads and parses a file strictly. Throws ConfigError naming the file.
void load_file_strict(const std::filesystem::path& path, google::protobuf::Message* msg);

// Applies one "a.b.c=value" override. Message fields take "{...}", repeated fields
// "[v1, v2]" (replacing the list) or a single value. Throws ConfigError.
void apply_override(const std::string& assignment, google::protobuf::Message* msg);

// Loads an experiment: file, then overrides in order, then validation. Throws ConfigError.
Experiment load_experiment(const std::filesystem::path& path,
                           const std::vector<std::string>& overrides = {});

// The canonical text of a message (what is written into run directories).
std::string to_text(const google::protobuf::Message& msg);

// Every field of `msg` with its effective value, in declaration order: the fields that
// are set as text format, the unset ones (and everything inside an unset message) as
// comments with their defaults ("# momentum: 0.9", "# known_classes: []"). Parses back
// (strictly) to exactly the same message. What `hesp config print` shows, so that a user
// sees what a run will do.
std::string to_text_all_fields(const google::protobuf::Message& msg);

// SHA-256 of the canonical text: two configs with the same effective values hash equal.
std::string config_hash(const google::protobuf::Message& msg);

// Writes <run_dir>/config.pbtxt atomically.
void write_effective_config(const Experiment& exp, const std::filesystem::path& run_dir);

}  // namespace hesp::config
