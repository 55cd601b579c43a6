#pragma once
// Small string helpers shared by the CLI, the data path and the dataset tools.
#include <string>
#include <vector>

namespace hesp::strings {

// Every field between separators, empty ones included ("a,,b" -> a, "", b; "" -> "").
// Callers decide whether an empty field is an error or is skipped.
std::vector<std::string> split(const std::string& s, char separator);

// `s` without leading and trailing blanks (spaces and tabs).
std::string trim(const std::string& s);

}  // namespace hesp::strings
