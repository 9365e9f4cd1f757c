#pragma once
// Segmentation drivers: every stage's vectors run whole, byte by byte, split at every
// offset into two pieces, and in seeded random segmentations, each piece in its own
// guarded buffer so that reading past a piece's end faults.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/guard_page.hh"

namespace phigate::test {

// A segmentation is the list of piece lengths; they add up to the input's length.
using segmentation = std::vector<size_t>;

inline std::vector<segmentation> all_segmentations(size_t len, uint32_t random_runs = 16,
                                                   uint32_t seed = 1) {
  std::vector<segmentation> out;
  out.push_back({len});  // whole
  if (len > 1) {
    out.push_back(segmentation(len, 1));  // byte by byte
    for (size_t cut = 1; cut < len; ++cut) out.push_back({cut, len - cut});  // every two-way split
  }
  std::mt19937 rng(seed);
  for (uint32_t r = 0; r < random_runs && len > 2; ++r) {
    segmentation s;
    size_t left = len;
    while (left > 0) {
      size_t n = 1 + rng() % std::min<size_t>(left, 1 + (rng() % 3 == 0 ? 3 : 64));
      s.push_back(n);
      left -= n;
    }
    out.push_back(std::move(s));
  }
  return out;
}

// Pieces of 1..max_piece bytes drawn from rng until len is covered.
inline segmentation random_segmentation(size_t len, std::mt19937_64& rng, size_t max_piece) {
  segmentation s;
  while (len) {
    const size_t n = std::min<size_t>(len, 1 + rng() % max_piece);
    s.push_back(n);
    len -= n;
  }
  return s;
}

inline std::string describe(const segmentation& s) {
  if (s.size() == 1) return "whole";
  std::string d;
  for (size_t i = 0; i < s.size() && i < 12; ++i) d += (i ? "," : "") + std::to_string(s[i]);
  if (s.size() > 12) d += ",...(" + std::to_string(s.size()) + " pieces)";
  return d;
}

// Calls feed(piece) for each piece of `input` cut by `seg`, each piece copied into its own
// guarded buffer (mutable, so in-place stages can write to it). The pieces stay alive until
// the call returns, so a caller can collect pointers into them.
inline void feed_segmented(std::string_view input, const segmentation& seg,
                           const std::function<void(std::span<uint8_t>)>& feed) {
  std::vector<std::unique_ptr<guarded_buffer>> pieces;
  pieces.reserve(seg.size());
  size_t off = 0;
  for (size_t n : seg) {
    pieces.push_back(std::make_unique<guarded_buffer>(input.substr(off, n)));
    feed(pieces.back()->span());
    off += n;
  }
}

}  // namespace phigate::test
