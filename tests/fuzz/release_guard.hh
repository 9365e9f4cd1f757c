#pragma once
// The engine's release contract, checked by the fuzz targets: a mask must never target a byte the
// engine already declared final (released to the receiver), which would be a leak.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dataplane/mask/mask_action.hh"

namespace phigate::fuzz {

struct release_guard {
  uint64_t released = 0;
  std::vector<uint8_t>* stream;
};

// engine_sink::on_mask with a release_guard as ctx: aborts on a late mask, else applies it.
inline void guarded_mask(void* ctx, const mask::mask_action& a) {
  auto& g = *static_cast<release_guard*>(ctx);
  if (a.raw_off < g.released) std::abort();
  mask::mask_apply(g.stream->data(), g.stream->size(), 0, a);
}

}  // namespace phigate::fuzz
