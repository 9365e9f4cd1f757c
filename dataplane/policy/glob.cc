#include "dataplane/policy/glob.hh"

namespace phigate::policy {
namespace {

constexpr unsigned char fold(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c - 'A' + 'a') : c;
}

}  // namespace

std::string glob_compile(std::string_view pattern, bool case_insensitive, glob& out) {
  out = glob{};
  out.case_insensitive = case_insensitive;
  if (pattern.empty()) return "empty glob";
  if (pattern.size() > glob_max_bytes) return "glob longer than 256 bytes";
  size_t stars = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const auto c = static_cast<unsigned char>(pattern[i]);
    if (c < 0x20 || c == 0x7f) return "control character in glob";
    if (c == '[' || c == ']') return "'[' and ']' are reserved in globs (escape them with '\\')";
    if (c == '\\') {
      if (i + 1 == pattern.size()) return "glob ends with a lone '\\'";
      const char e = pattern[++i];
      if (e != '*' && e != '?' && e != '\\' && e != '[' && e != ']') {
        return "'\\' escapes only * ? \\ [ ] in globs";
      }
      out.tokens.push_back(case_insensitive ? fold(static_cast<unsigned char>(e))
                                            : static_cast<unsigned char>(e));
    } else if (c == '*') {
      // `**` would suggest a path-aware double star; `*` already crosses '/', so say so.
      if (!out.tokens.empty() && out.tokens.back() == glob_star) {
        return "'**' in glob (a single '*' already matches across '/')";
      }
      if (++stars > glob_max_stars) return "more than 8 '*' in glob";
      out.tokens.push_back(glob_star);
      out.literal = false;
    } else if (c == '?') {
      out.tokens.push_back(glob_any);
      out.literal = false;
    } else {
      out.tokens.push_back(case_insensitive ? fold(c) : c);
    }
  }
  return {};
}

bool glob_match(const glob& g, std::string_view text) noexcept {
  const uint16_t* tok = g.tokens.data();
  const size_t np = g.tokens.size();
  const size_t nt = text.size();
  const bool ci = g.case_insensitive;
  auto byte_at = [&](size_t t) -> uint16_t {
    const auto c = static_cast<unsigned char>(text[t]);
    return ci ? fold(c) : c;
  };
  if (g.literal) {
    if (np != nt) return false;
    for (size_t i = 0; i < nt; ++i) {
      if (tok[i] != byte_at(i)) return false;
    }
    return true;
  }
  // Greedy match with one backtrack point (the last star): enough for `*`/`?` globs, since a
  // later star can always absorb what an earlier one would have.
  size_t p = 0, t = 0;
  size_t star = SIZE_MAX, mark = 0;
  while (t < nt) {
    if (p < np && (tok[p] == glob_any || (tok[p] < glob_star && tok[p] == byte_at(t)))) {
      ++p;
      ++t;
    } else if (p < np && tok[p] == glob_star) {
      star = p++;
      mark = t;
    } else if (star != SIZE_MAX) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < np && tok[p] == glob_star) ++p;
  return p == np;
}

}  // namespace phigate::policy
