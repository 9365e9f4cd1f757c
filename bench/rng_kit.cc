#include "bench/rng_kit.hh"

namespace phigate::bench {

std::string hex_id(std::mt19937_64& rng, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kHex[rng() & 15];
  return s;
}

std::string make_ssn(std::mt19937_64& rng, char sep) {
  for (;;) {
    const uint64_t area = pick(rng, 1, 899), group = pick(rng, 1, 99), serial = pick(rng, 1, 9999);
    if (area == 666) continue;
    if (area == 78 && group == 5 && serial == 1120) continue;  // the Woolworth wallet SSN
    std::string digits = fmt("%03llu%02llu%04llu", static_cast<unsigned long long>(area),
                             static_cast<unsigned long long>(group), static_cast<unsigned long long>(serial));
    if (digits.find_first_not_of(digits[0]) == std::string::npos) continue;  // all the same digit
    return digits.substr(0, 3) + sep + digits.substr(3, 2) + sep + digits.substr(5);
  }
}

void json_escape_into(std::string& out, std::string_view s) {
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

std::vector<std::string> tokenize(std::mt19937_64& rng, std::string_view text) {
  auto is_alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    if (text[j] == ' ' && j + 1 < text.size() && is_alpha(text[j + 1])) ++j;
    if (is_alpha(text[j])) {
      while (j < text.size() && is_alpha(text[j]) && j - i < 8) ++j;
    } else {
      const size_t n = pick(rng, 1, 4);
      while (j < text.size() && !is_alpha(text[j]) && j - i < n) {
        if (text[j] == ' ' && j > i) break;  // a space starts the next token
        ++j;
      }
      if (j == i) ++j;
    }
    out.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace phigate::bench
