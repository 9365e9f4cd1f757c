#include "controlplane/auth/token_cache.hh"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

namespace phigate::auth {

namespace {

inline uint64_t load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline uint64_t mix(uint64_t h) {  // splitmix64's finalizer
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

}  // namespace

token_cache::token_cache(size_t capacity, int64_t ttl_s) : ttl_s_(ttl_s > 0 ? ttl_s : 0) {
  size_t sets = 1;
  while (sets * ways < capacity) sets <<= 1;
  slots_.resize(sets * ways);
  set_mask_ = sets - 1;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(seed_), sizeof seed_) != 1) {
    // No CSPRNG: fall back to the address and time; collisions would still only cost misses.
    seed_[0] = reinterpret_cast<uintptr_t>(this) ^ 0x9e3779b97f4a7c15ULL;
    seed_[1] = mix(seed_[0] + 1);
    seed_[2] = mix(seed_[1] + 2);
    seed_[3] = mix(seed_[2] + 3);
  }
}

// Four independent multiply-xor lanes over 32-byte blocks (about 4x the speed of one chain),
// seeded, then folded and finalised.
uint64_t token_cache::hash(std::string_view t) const noexcept {
  uint64_t a = seed_[0], b = seed_[1], c = seed_[2], d = seed_[3] ^ t.size();
  const char* p = t.data();
  size_t n = t.size();
  constexpr uint64_t k = 0x9fb21c651e98df25ULL;
  for (; n >= 32; p += 32, n -= 32) {
    a = (a ^ load64(p)) * k;
    b = (b ^ load64(p + 8)) * k;
    c = (c ^ load64(p + 16)) * k;
    d = (d ^ load64(p + 24)) * k;
    a ^= a >> 29;
    b ^= b >> 29;
    c ^= c >> 29;
    d ^= d >> 29;
  }
  for (; n >= 8; p += 8, n -= 8) a = mix(a ^ load64(p));
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  a = mix(a ^ tail ^ (uint64_t{n} << 56));
  return mix(a ^ mix(b) ^ (mix(c) * 3) ^ (mix(d) * 5));
}

token_cache::slot* token_cache::set_of(uint64_t tag) noexcept { return &slots_[(tag & set_mask_) * ways]; }

const verified_token* token_cache::find(std::string_view token, int64_t now_s) noexcept {
  const uint64_t tag = hash(token);
  slot* set = set_of(tag);
  for (size_t w = 0; w < ways; ++w) {
    slot& s = set[w];
    if (s.last_used == 0 || s.tag != tag || s.text.size() != token.size() ||
        std::memcmp(s.text.data(), token.data(), token.size()) != 0)
      continue;
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
  const uint64_t tag = hash(token);
  const int64_t until = std::min(verified.exp, now_s + ttl_s_);
  if (until <= now_s) return;  // would never be served
  slot* set = set_of(tag);
  slot* victim = nullptr;
  for (size_t w = 0; w < ways && victim == nullptr; ++w)
    if (set[w].last_used != 0 && set[w].tag == tag && set[w].text == token) victim = &set[w];
  for (size_t w = 0; w < ways && victim == nullptr; ++w)
    if (set[w].last_used == 0 || now_s >= set[w].valid_until_s) victim = &set[w];
  if (victim == nullptr) {
    victim = set;
    for (size_t w = 1; w < ways; ++w)
      if (set[w].last_used < victim->last_used) victim = &set[w];
    ++stats_.evictions;
  }
  victim->tag = tag;
  victim->text.assign(token);
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
