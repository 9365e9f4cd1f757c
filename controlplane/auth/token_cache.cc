#include "controlplane/auth/token_cache.hh"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

namespace phigate::auth {

token_cache::token_cache(size_t capacity, int64_t ttl_s) : ttl_s_(ttl_s > 0 ? ttl_s : 0) {
  size_t sets = 1;
  while (sets * ways < capacity) sets <<= 1;
  slots_.resize(sets * ways);
  set_mask_ = sets - 1;
}

token_cache::slot* token_cache::set_of(const sha256_digest& d) noexcept {
  uint64_t h;
  std::memcpy(&h, d.data(), sizeof h);  // SHA-256 output is uniform: any 8 bytes index well
  return &slots_[(h & set_mask_) * ways];
}

const verified_token* token_cache::find(std::string_view token, int64_t now_s) noexcept {
  const sha256_digest d = sha256(token);
  slot* set = set_of(d);
  for (size_t w = 0; w < ways; ++w) {
    slot& s = set[w];
    if (s.last_used == 0 || CRYPTO_memcmp(s.digest.data(), d.data(), d.size()) != 0) continue;
    if (now_s >= s.valid_until_s) {
      s.last_used = 0;  // the way is reusable; the strings are dropped on the next insert
      ++stats_.expired;
      ++stats_.misses;
      return nullptr;
    }
    s.last_used = ++tick_;
    ++stats_.hits;
    return &s.token;
  }
  ++stats_.misses;
  return nullptr;
}

void token_cache::insert(std::string_view token, verified_token verified, int64_t now_s) {
  const sha256_digest d = sha256(token);
  const int64_t until = std::min(verified.exp, now_s + ttl_s_);
  if (until <= now_s) return;  // would never be served
  slot* set = set_of(d);
  slot* victim = nullptr;
  for (size_t w = 0; w < ways && victim == nullptr; ++w)
    if (set[w].last_used != 0 && set[w].digest == d) victim = &set[w];
  for (size_t w = 0; w < ways && victim == nullptr; ++w)
    if (set[w].last_used == 0 || now_s >= set[w].valid_until_s) victim = &set[w];
  if (victim == nullptr) {
    victim = set;
    for (size_t w = 1; w < ways; ++w)
      if (set[w].last_used < victim->last_used) victim = &set[w];
    ++stats_.evictions;
  }
  victim->digest = d;
  victim->valid_until_s = until;
  victim->last_used = ++tick_;
  victim->token = std::move(verified);
  ++stats_.inserts;
}

void token_cache::clear() noexcept {
  for (auto& s : slots_) {
    s.last_used = 0;
    s.valid_until_s = 0;
  }
}

size_t token_cache::size() const noexcept {
  size_t n = 0;
  for (const auto& s : slots_) n += s.last_used != 0;
  return n;
}

}  // namespace phigate::auth
