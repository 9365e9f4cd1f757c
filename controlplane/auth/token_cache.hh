#pragma once
// A bounded cache of verified tokens, so a busy control-plane path pays the signature check
// once per token instead of once per request.
//
// Keyed by a 64-bit hash of the exact token text under a random per-cache seed, confirmed by
// comparing the whole stored text (the decoders are strict, so one token has one spelling). The
// seed keeps tags unpredictable, so the full comparison only ever runs on the cached token
// itself (no timing oracle on other tokens) and collisions cost a miss, never a wrong identity.
// A hit is a hash of the token plus one memcmp: no SHA-256 on the hot path.
// An entry is valid until min(exp, insert time + ttl). Fixed capacity, set associative (8 ways,
// LRU inside a set): inserts evict (and copy the token text); find() never allocates, never
// throws and takes no lock.
//
// Thread affinity: one owner thread. find() updates recency, so even lookups mutate; give each
// thread its own cache or guard one externally. Entries are only as good as the key set and
// policy that verified them: call clear() whenever either changes (key rotation, new issuer).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/auth/crypto_util.hh"
#include "controlplane/auth/jwt.hh"

namespace phigate::auth {

class token_cache {
 public:
  static constexpr size_t ways = 8;

  struct counters {
    uint64_t hits = 0, misses = 0, expired = 0, inserts = 0, evictions = 0;
  };

  // Capacity is rounded up to a power-of-two number of 8-way sets (at least one set). All
  // memory is allocated here.
  token_cache(size_t capacity, int64_t ttl_s);

  // The cached token, or null when absent or no longer valid at `now_s`. The pointer stays
  // valid until the next insert() or clear() on this cache.
  const verified_token* find(std::string_view token, int64_t now_s) noexcept;

  // Caches a token that jwt_verify accepted at `now_s`. Replaces an entry for the same token,
  // else takes an invalid way of the set, else evicts the least recently used one. Moves the
  // strings in; copies the token text (reusing the way's buffer when it is large enough).
  void insert(std::string_view token, verified_token verified, int64_t now_s);

  void clear() noexcept;

  size_t capacity() const noexcept { return slots_.size(); }
  size_t size() const noexcept;
  const counters& stats() const noexcept { return stats_; }

 private:
  struct slot {
    uint64_t tag = 0;
    std::string text;  // the token, for the exact comparison
    int64_t valid_until_s = 0;  // entry usable while now < valid_until_s
    uint64_t last_used = 0;     // 0: empty
    verified_token token;
  };

  uint64_t hash(std::string_view token) const noexcept;
  slot* set_of(uint64_t tag) noexcept;

  std::vector<slot> slots_;
  size_t set_mask_ = 0;
  int64_t ttl_s_ = 0;
  uint64_t seed_[4] = {};
  uint64_t tick_ = 0;
  counters stats_;
};

}  // namespace phigate::auth
