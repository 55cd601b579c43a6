#pragma once
// A tiny well-formedness check for the hand-written SVG: one root element, balanced and
// properly nested tags, quoted attributes without duplicates, escaped text. Returns the
// number of elements by name; throws std::runtime_error describing the first defect.
#include <map>
#include <string>

namespace hesp::report::testing {

std::map<std::string, int> check_xml(const std::string& text);

}  // namespace hesp::report::testing
