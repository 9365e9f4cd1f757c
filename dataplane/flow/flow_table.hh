#pragma once
// The per-lcore flow table: bounded, preallocated, no allocation after flow_table_create().
//
// Ownership and threads: one table per lcore (shared-nothing; symmetric RSS sends both directions
// of a connection to the same lcore). Nothing here locks; a table must only be touched by its
// lcore. Time is injected (`now_ns`, monotonic per table: the lcore's clock).
//
// Layout (why): entries live in a fixed array with a free stack. The index is a bucketised hash of
// 64-byte buckets (8 slots: a 32-bit tag and an entry index each); every key has two candidate
// buckets and goes into the emptier one (two-choice, as DPDK's rte_hash does, without cuckoo
// displacement). A lookup therefore reads at most two cache lines, whatever the load, and a
// sender who guesses collisions can fill at most its own two buckets: inserts then fail for
// those keys only, counted as insert_fail_bucket. There are twice as many slots as entries, so
// honest collisions that fill both buckets are vanishingly rare.
//
// Idle eviction: every entry sits on the list of its timeout class (syn, established, closing),
// ordered by last activity (touch moves it to the tail). flow_table_expire() pops expired heads
// only, so its cost is the number of flows it evicts, bounded by the caller's budget.
//
// Payload: each entry owns `payload_size` bytes of caller state (engine, TCP tracker, reassembly),
// preallocated with the table and reused across flows: the caller constructs it once at setup
// (flow_table_create_for<T>) and resets it when flow_table_insert() hands out the entry.
#include <cstddef>
#include <cstdint>
#include <new>

#include "dataplane/flow/flow_key.hh"

namespace phigate::flow {

enum class timeout_class : uint8_t { syn = 0, established = 1, closing = 2 };
inline constexpr size_t timeout_class_count = 3;
const char* timeout_class_name(timeout_class c);

struct flow_table_config {
  uint32_t capacity = 1u << 16;  // entries; a power of two, at most 2^30
  uint32_t payload_size = 0;     // bytes of caller state per entry
  uint32_t payload_align = 64;   // a power of two
  // Bytes the whole table (index, entries, payloads) may take. The table is preallocated, so the
  // cap is enforced at setup: a configuration that would exceed it is refused, and at run time
  // "full" (insert_fail_full) is the memcap. 0: no cap.
  uint64_t memcap_bytes = 0;
  uint64_t timeout_ns[timeout_class_count] = {
      30'000'000'000ULL,   // syn: handshake not complete
      600'000'000'000ULL,  // established: a model may think for minutes before its first token
      30'000'000'000ULL,   // closing: FIN or RST seen
  };
  uint64_t hash_seed = 0;  // 0: drawn from the system's random source at setup
};

struct flow_table_counters {
  uint64_t inserts = 0;
  uint64_t insert_fail_full = 0;    // every entry in use (the memcap)
  uint64_t insert_fail_bucket = 0;  // both candidate buckets full
  uint64_t removes = 0;             // flow_table_remove() by the caller
  uint64_t evicted[timeout_class_count] = {};  // idle eviction, per class
};

// One flow. The caller reads key, last_seen_ns, tclass and initiator_swapped; the rest is the
// table's bookkeeping.
struct flow_entry {
  flow_key key;
  uint64_t last_seen_ns;
  uint32_t index;       // position in the entry array (stable for the table's lifetime)
  uint32_t slot;        // bucket * 8 + slot holding this entry in the index
  uint32_t lru_prev;
  uint32_t lru_next;
  timeout_class tclass;
  bool initiator_swapped;  // the `swapped` bit of the packet that created the entry
  bool in_use;
};

inline flow_dir flow_direction(const flow_entry& e, bool swapped) {
  return swapped == e.initiator_swapped ? flow_dir::to_responder : flow_dir::to_initiator;
}

struct flow_table;  // opaque

// Setup time. nullptr when the configuration is valid, else the reason.
const char* flow_table_config_check(const flow_table_config& cfg);
// Bytes the table needs for cfg (what memcap_bytes is compared against).
uint64_t flow_table_bytes(const flow_table_config& cfg);
// Allocates everything; nullptr on an invalid configuration or allocation failure. Payload bytes
// start zeroed.
flow_table* flow_table_create(const flow_table_config& cfg);
void flow_table_destroy(flow_table* t);

uint64_t flow_table_hash(const flow_table& t, const flow_key& k);

// Packet path: no allocation, bounded work (two buckets).
flow_entry* flow_table_find(flow_table& t, const flow_key& k, uint64_t hash);
// Returns the existing entry when the key is present (then `swapped` is ignored), else a fresh
// one in class `c` whose payload the caller must reset; nullptr when full (counted).
flow_entry* flow_table_insert(flow_table& t, const flow_key& k, uint64_t hash, bool swapped, uint64_t now_ns,
                              timeout_class c = timeout_class::syn);
// Activity: the entry becomes the youngest of its class.
void flow_table_touch(flow_table& t, flow_entry& e, uint64_t now_ns);
void flow_table_set_class(flow_table& t, flow_entry& e, timeout_class c, uint64_t now_ns);
// Frees the entry now (the caller has torn down its payload state).
void flow_table_remove(flow_table& t, flow_entry& e);

// Called for each evicted flow before its entry is freed: tear down the payload state (drop held
// packets, reset the engine). Must not call back into the table.
struct evict_sink {
  void* ctx = nullptr;
  void (*on_evict)(void* ctx, flow_entry& e, void* payload) = nullptr;
};
// Evicts up to `budget` flows idle for at least their class timeout at now_ns. Returns how many.
size_t flow_table_expire(flow_table& t, uint64_t now_ns, size_t budget, const evict_sink& sink);

void* flow_table_payload(flow_table& t, const flow_entry& e);
void* flow_table_payload_at(flow_table& t, uint32_t index);  // setup/teardown iteration
const flow_entry& flow_table_entry_at(const flow_table& t, uint32_t index);  // the entry owning that payload
uint32_t flow_table_capacity(const flow_table& t);
uint32_t flow_table_live(const flow_table& t);
const flow_table_counters& flow_table_stats(const flow_table& t);
// Diagnostics and tests: the two candidate buckets of a hash (b1 != b2).
void flow_table_buckets_of(const flow_table& t, uint64_t hash, uint32_t& b1, uint32_t& b2);

// Typed payloads: T is constructed in every entry at setup and destroyed at teardown, so T may
// own setup-time resources (a flow_engine's Hyperscan streams) that are reused across flows.
template <class T>
flow_table* flow_table_create_for(flow_table_config cfg) {
  cfg.payload_size = sizeof(T);
  cfg.payload_align = alignof(T) > cfg.payload_align ? alignof(T) : cfg.payload_align;
  flow_table* t = flow_table_create(cfg);
  if (t == nullptr) return nullptr;
  for (uint32_t i = 0; i < cfg.capacity; ++i) new (flow_table_payload_at(*t, i)) T();
  return t;
}
template <class T>
void flow_table_destroy_for(flow_table* t) {
  if (t == nullptr) return;
  for (uint32_t i = 0; i < flow_table_capacity(*t); ++i) static_cast<T*>(flow_table_payload_at(*t, i))->~T();
  flow_table_destroy(t);
}
template <class T>
T& flow_payload(flow_table& t, const flow_entry& e) {
  return *static_cast<T*>(flow_table_payload(t, e));
}

}  // namespace phigate::flow
