#include "config/config_loader.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "config/validate.h"
#include "util/errors.h"
#include "util/fs.h"
#include "util/hash.h"

namespace hesp::config {
namespace {

namespace pb = google::protobuf;

// The dotted path of the field being parsed at (line, col) (both 0-based): text format
// has no field context in its error messages for type errors, so we rebuild it from the
// tokens up to the error position. An identifier in key position names a field; one
// right after ':' is a value (an enum). Strings and comments are skipped.
std::string field_path_at(const std::string& text, int line, int col) {
  std::vector<std::string> stack;  // Enclosing message fields.
  std::string key;                 // The innermost field name seen.
  bool expect_value = false;
  int l = 0, c = 0;
  size_t i = 0;
  // A token that starts exactly at the error position still counts (it is the culprit).
  auto before_error = [&] { return l < line || (l == line && c <= col); };
  auto advance = [&] {
    if (text[i++] == '\n') {
      ++l;
      c = 0;
    } else {
      ++c;
    }
  };
  auto is_word = [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.';
  };
  while (i < text.size() && before_error()) {
    const char ch = text[i];
    if (ch == '#') {
      while (i < text.size() && text[i] != '\n') advance();
    } else if (ch == '"' || ch == '\'') {
      advance();
      while (i < text.size() && text[i] != ch) {
        if (text[i] == '\\' && i + 1 < text.size()) advance();
        advance();
      }
      if (i < text.size()) advance();
      expect_value = false;
    } else if (is_word(ch)) {
      std::string word;
      while (i < text.size() && is_word(text[i])) {
        word.push_back(text[i]);
        advance();
      }
      if (!expect_value) key = word;
      expect_value = false;
    } else {
      if (ch == ':') expect_value = true;
      if (ch == '{' || ch == '<') {
        stack.push_back(key);
        key.clear();
        expect_value = false;
      }
      if ((ch == '}' || ch == '>') && !stack.empty()) {
        key = stack.back();
        stack.pop_back();
      }
      if (ch == '[') expect_value = true;
      if (ch == ',') expect_value = true;
      if (ch == ']') expect_value = false;
      advance();
    }
  }
  std::string path;
  for (const auto& s : stack) path += s + ".";
  return path + key;
}

// Protobuf reports some errors (unknown field, unknown enum value) at the token AFTER the
// offending one. Move (line, col) back to the start of the previous identifier so that
// the position points at the misspelt word itself.
void back_to_previous_identifier(const std::string& text, int& line, int& col) {
  size_t pos = 0;
  for (int l = 0; l < line && pos < text.size(); ++pos) {
    if (text[pos] == '\n') ++l;
  }
  pos = std::min(text.size(), pos + static_cast<size_t>(col));
  auto is_ident = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; };
  while (pos > 0 && !is_ident(text[pos - 1])) --pos;  // Skip ':', spaces, newlines.
  while (pos > 0 && is_ident(text[pos - 1])) --pos;   // To the start of the word.
  line = 0;
  size_t line_start = 0;
  for (size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  col = static_cast<int>(pos - line_start);
}

class CollectingErrors : public pb::io::ErrorCollector {
 public:
  CollectingErrors(const std::string& source, const std::string& text)
      : source_(source), text_(text) {}
  void AddError(int line, int column, const std::string& message) override {
    if (!first_.empty()) return;  // The first error is the cause; later ones are echoes.
    if (message.find("has no field named") != std::string::npos ||
        message.find("Unknown enumeration value") != std::string::npos) {
      back_to_previous_identifier(text_, line, column);
    }
    std::ostringstream s;
    s << source_ << ":" << line + 1 << ":" << column + 1 << ": ";
    const std::string field = field_path_at(text_, line, column);
    if (!field.empty()) s << "field '" << field << "': ";
    s << message;
    first_ = s.str();
  }
  void AddWarning(int, int, const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  std::string source_, text_, first_;
};

// Parser for one --set value: the error names the override, not a file position.
void merge_override_text(const std::string& text, const std::string& assignment,
                         pb::Message* target) {
  pb::TextFormat::Parser parser;
  CollectingErrors errors("--set", text);
  parser.RecordErrorsTo(&errors);
  if (!parser.MergeFromString(text, target)) {
    throw ConfigError("invalid --set " + assignment + ": " + errors.first());
  }
}

}  // namespace

void parse_text_strict(const std::string& text, const std::string& source, pb::Message* msg) {
  pb::TextFormat::Parser parser;  // Unknown fields and extensions are rejected by default.
  CollectingErrors errors(source, text);
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, msg)) {
    throw ConfigError(errors.first().empty() ? source + ": cannot parse" : errors.first());
  }
}

void load_file_strict(const std::filesystem::path& path, pb::Message* msg) {
  std::string text;
  try {
    text = fs::read_file(path);
  } catch (const UserError& e) {
    throw ConfigError(std::string("config: ") + e.what());
  }
  parse_text_strict(text, path.string(), msg);
}

void apply_override(const std::string& assignment, pb::Message* msg) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw ConfigError("invalid --set '" + assignment + "': expected path.to.field=value");
  }
  const std::string path = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  pb::Message* target = msg;
  std::string prefix;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string name = path.substr(start, dot == std::string::npos ? dot : dot - start);
    const pb::FieldDescriptor* field = target->GetDescriptor()->FindFieldByName(name);
    if (field == nullptr) {
      throw ConfigError(
          "invalid --set " + assignment + ": " +
          (prefix.empty() ? target->GetDescriptor()->name() : prefix.substr(0, prefix.size() - 1)) +
          " has no field '" + name + "'");
    }
    if (dot == std::string::npos) {
      const pb::Reflection* refl = target->GetReflection();
      if (field->is_repeated()) refl->ClearField(target, field);
      std::string text = name;
      if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        text += " " + value;
      } else if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING &&
                 (value.empty() || (value.front() != '"' && value.front() != '['))) {
        // Convenience: --set model.clip_weights=/path/w.pt needs no shell-escaped quotes.
        std::string quoted;
        for (char ch : value) {
          if (ch == '"' || ch == '\\') quoted.push_back('\\');
          quoted.push_back(ch);
        }
        text += ": \"" + quoted + "\"";
      } else {
        text += ": " + value;
      }
      if (!field->is_repeated() && field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        refl->ClearField(target, field);
      }
      merge_override_text(text, assignment, target);
      return;
    }
    if (field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated()) {
      throw ConfigError("invalid --set " + assignment + ": '" + prefix + name +
                        "' is not a (singular) message field");
    }
    target = target->GetReflection()->MutableMessage(target, field);
    prefix += name + ".";
    start = dot + 1;
  }
}

Experiment load_experiment(const std::filesystem::path& path,
                           const std::vector<std::string>& overrides) {
  Experiment exp;
  load_file_strict(path, &exp);
  for (const auto& o : overrides) apply_override(o, &exp);
  validate_or_throw(exp, path.string());
  return exp;
}

std::string to_text(const pb::Message& msg) {
  std::string out;
  pb::TextFormat::Printer printer;
  printer.SetUseShortRepeatedPrimitives(true);
  printer.PrintToString(msg, &out);
  return out;
}

namespace {

// Fields that are set print as text format; unset ones as comments ("# name: default"),
// so that the output parses back to exactly the same message (presence matters for some
// fields, e.g. data.open_set.splits_file).
void print_all_fields(const pb::Message& msg, int depth, bool unset, std::string* out) {
  const pb::Descriptor* d = msg.GetDescriptor();
  const pb::Reflection* r = msg.GetReflection();
  pb::TextFormat::Printer printer;
  const std::string indent(static_cast<size_t>(2 * depth), ' ');
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const bool is_message = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE;
    const int n = f->is_repeated() ? r->FieldSize(msg, f) : 0;
    const bool set = f->is_repeated() ? n > 0 : r->HasField(msg, f);
    const std::string lead = indent + (unset || !set ? "# " : "");
    if (f->is_repeated() && n == 0) {
      *out += lead + f->name() + ": []\n";
    } else if (f->is_repeated() && is_message) {
      for (int k = 0; k < n; ++k) {
        *out += lead + f->name() + " {\n";
        print_all_fields(r->GetRepeatedMessage(msg, f, k), depth + 1, unset, out);
        *out += lead + "}\n";
      }
    } else if (f->is_repeated()) {
      std::string values;
      for (int k = 0; k < n; ++k) {
        std::string v;
        printer.PrintFieldValueToString(msg, f, k, &v);
        values += (k ? ", " : "") + v;
      }
      *out += lead + f->name() + ": [" + values + "]\n";
    } else if (is_message) {
      *out += lead + f->name() + " {\n";
      print_all_fields(r->GetMessage(msg, f), depth + 1, unset || !set, out);
      *out += lead + "}\n";
    } else {
      std::string v;
      printer.PrintFieldValueToString(msg, f, -1, &v);  // The default when unset.
      *out += lead + f->name() + ": " + v + "\n";
    }
  }
}

}  // namespace

std::string to_text_all_fields(const pb::Message& msg) {
  std::string out;
  print_all_fields(msg, 0, false, &out);
  return out;
}

std::string config_hash(const pb::Message& msg) { return hash::sha256_hex(to_text(msg)); }

void write_effective_config(const Experiment& exp, const std::filesystem::path& run_dir) {
  fs::atomic_write_file(
      run_dir / "config.pbtxt",
      "# Effective config (file + --set overrides), written by hesp.\n" + to_text(exp));
}

}  // namespace hesp::config
