#include "xml_check.h"

#include <cctype>
#include <set>
#include <stdexcept>
#include <vector>

namespace hesp::report::testing {
namespace {

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' ||
         c == '.';
}

// Text and attribute values: '<' never, '&' only as a complete entity reference.
void check_text(const std::string& t, size_t at) {
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '<') throw std::runtime_error("raw '<' in text near " + std::to_string(at));
    if (t[i] != '&') continue;
    const size_t semi = t.find(';', i);
    if (semi == std::string::npos || semi - i > 10) {
      throw std::runtime_error("bare '&' near " + std::to_string(at));
    }
    const std::string ent = t.substr(i + 1, semi - i - 1);
    static const std::set<std::string> named = {"amp", "lt", "gt", "quot", "apos"};
    if (!named.count(ent) && !(ent.size() > 1 && ent[0] == '#')) {
      throw std::runtime_error("unknown entity &" + ent + "; near " + std::to_string(at));
    }
  }
}

}  // namespace

std::map<std::string, int> check_xml(const std::string& s) {
  std::map<std::string, int> counts;
  std::vector<std::string> stack;
  int roots = 0;
  size_t i = 0;
  if (s.compare(0, 5, "<?xml") == 0) {
    i = s.find("?>");
    if (i == std::string::npos) throw std::runtime_error("unterminated XML declaration");
    i += 2;
  }
  while (i < s.size()) {
    const size_t lt = s.find('<', i);
    const std::string text = s.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
    if (stack.empty()) {
      for (char c : text) {
        if (!std::isspace(static_cast<unsigned char>(c))) {
          throw std::runtime_error("text outside the root element near " + std::to_string(i));
        }
      }
    }
    check_text(text, i);
    if (lt == std::string::npos) break;
    if (s.compare(lt, 4, "<!--") == 0) {
      const size_t end = s.find("-->", lt);
      if (end == std::string::npos) throw std::runtime_error("unterminated comment");
      i = end + 3;
      continue;
    }
    const bool closing = lt + 1 < s.size() && s[lt + 1] == '/';
    size_t p = lt + (closing ? 2 : 1);
    const size_t name_start = p;
    while (p < s.size() && name_char(s[p])) ++p;
    const std::string name = s.substr(name_start, p - name_start);
    if (name.empty()) throw std::runtime_error("tag without a name at " + std::to_string(lt));
    if (closing) {
      while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p;
      if (p >= s.size() || s[p] != '>') throw std::runtime_error("bad closing tag </" + name);
      if (stack.empty() || stack.back() != name) {
        throw std::runtime_error("</" + name + "> does not close <" +
                                 (stack.empty() ? std::string("nothing") : stack.back()) + ">");
      }
      stack.pop_back();
      i = p + 1;
      continue;
    }
    // Attributes: name="value" or name='value', each name once.
    std::set<std::string> attrs;
    bool self_closing = false;
    for (;;) {
      while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p;
      if (p >= s.size()) throw std::runtime_error("unterminated tag <" + name);
      if (s[p] == '>') break;
      if (s.compare(p, 2, "/>") == 0) {
        self_closing = true;
        ++p;
        break;
      }
      const size_t a = p;
      while (p < s.size() && name_char(s[p])) ++p;
      const std::string attr = s.substr(a, p - a);
      if (attr.empty() || p >= s.size() || s[p] != '=') {
        throw std::runtime_error("bad attribute in <" + name + "> at " + std::to_string(a));
      }
      if (!attrs.insert(attr).second) throw std::runtime_error("duplicate attribute " + attr);
      ++p;
      const char q = p < s.size() ? s[p] : '\0';
      if (q != '"' && q != '\'') throw std::runtime_error("unquoted attribute " + attr);
      const size_t end = s.find(q, p + 1);
      if (end == std::string::npos) throw std::runtime_error("unterminated attribute " + attr);
      check_text(s.substr(p + 1, end - p - 1), p);
      p = end + 1;
    }
    if (stack.empty() && ++roots > 1) throw std::runtime_error("more than one root element");
    ++counts[name];
    if (!self_closing) stack.push_back(name);
    i = p + 1;
  }
  if (!stack.empty()) throw std::runtime_error("<" + stack.back() + "> is never closed");
  if (roots != 1) throw std::runtime_error("no root element");
  return counts;
}

}  // namespace hesp::report::testing
