#pragma once
// Deterministic draws and text helpers shared by the synthetic traffic generators
// (bench/bench_corpus.cc for the benchmarks, cli/capacity/capacity_traffic.cc for `phigate
// capacity`). Every draw is written out by hand over std::mt19937_64 so a seed gives the same
// bytes on every standard library, which std::uniform_int_distribution and friends do not
// promise. Set-up code: allocates freely; not for the hot path.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace phigate::bench {

// Uniform in [lo, hi]. Modulo bias is irrelevant here; what matters is that the bytes are the
// same on every standard library.
inline uint64_t pick(std::mt19937_64& rng, uint64_t lo, uint64_t hi) { return lo + rng() % (hi - lo + 1); }

template <size_t N>
const char* pick_of(std::mt19937_64& rng, const char* const (&list)[N]) {
  return list[pick(rng, 0, N - 1)];
}

// snprintf into a std::string (output beyond 511 bytes is cut).
template <class... Args>
std::string fmt(const char* f, Args... args) {
  char buf[512];
  const int n = std::snprintf(buf, sizeof buf, f, args...);
  return std::string(buf, n < 0 ? 0 : n < static_cast<int>(sizeof buf) ? static_cast<size_t>(n) : sizeof buf - 1);
}

// `n` lowercase hex digits (request and completion ids).
std::string hex_id(std::mt19937_64& rng, size_t n);

// A synthetic SSN that passes the catalog's validator (area 001-899 but 666, no all-same digits,
// not the Woolworth wallet number), its three groups joined by `sep`.
std::string make_ssn(std::mt19937_64& rng, char sep);

// `s` as the inside of a JSON string (quote, backslash and newline escaped; the generators
// produce no other control characters).
void json_escape_into(std::string& out, std::string_view s);

// Tokens of 1-8 bytes the way BPE tokenizers cut English: a word with its leading space is one
// token (longer words split), digit and punctuation runs are cut into 1-4 byte pieces, so
// "123-45-6789" arrives as pieces such as "123", "-45-", "6789".
std::vector<std::string> tokenize(std::mt19937_64& rng, std::string_view text);

}  // namespace phigate::bench
