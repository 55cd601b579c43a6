#pragma once
// Number and CSV text of the report's tables (tables.cc, comparison.cc): one rule for both.
#include <cstdio>
#include <string>

namespace hesp::report {

// Two decimals, as the paper prints its percentages: 84.25.
inline std::string fixed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// Ten significant digits, for CSV files read by programs.
inline std::string full(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// A CSV field (RFC 4180): quoted, with inner quotes doubled, when it holds a comma, a quote
// or a newline.
inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace hesp::report
