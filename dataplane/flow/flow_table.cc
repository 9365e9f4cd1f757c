#include "dataplane/flow/flow_table.hh"

#include <cstdlib>
#include <cstring>
#include <random>

namespace phigate::flow {
namespace {

constexpr uint32_t kNil = UINT32_MAX;
constexpr uint32_t kSlots = 8;

struct alignas(64) bucket {
  uint32_t tag[kSlots];  // 0: empty slot
  uint32_t idx[kSlots];
};
static_assert(sizeof(bucket) == 64);

bool pow2(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

uint32_t bucket_count(uint32_t capacity) {
  // Two slots per entry (see the header); at least two buckets so the alternative differs.
  uint32_t n = capacity / 4;
  return n < 2 ? 2 : n;
}

uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

uint64_t payload_stride(const flow_table_config& cfg) {
  return cfg.payload_size == 0 ? 0 : round_up(cfg.payload_size, cfg.payload_align);
}

struct lru_list {
  uint32_t head = kNil;
  uint32_t tail = kNil;
};

}  // namespace

struct flow_table {
  flow_table_config cfg;
  bucket* buckets = nullptr;
  uint32_t bucket_mask = 0;
  flow_entry* entries = nullptr;
  uint8_t* payloads = nullptr;
  uint64_t stride = 0;
  uint32_t* free_stack = nullptr;
  uint32_t free_top = 0;  // number of free indices on the stack
  lru_list lists[timeout_class_count];
  flow_table_counters counters;
  uint64_t seed = 0;
};

namespace {

uint32_t tag_of(uint64_t h) { return static_cast<uint32_t>(h >> 32) | 1u; }
uint32_t first_bucket(const flow_table& t, uint64_t h) { return static_cast<uint32_t>(h) & t.bucket_mask; }
uint32_t alt_bucket(const flow_table& t, uint32_t b, uint32_t tag) {
  uint32_t a = (b ^ (tag * 0x5bd1e995u)) & t.bucket_mask;
  return a == b ? (b ^ 1u) & t.bucket_mask : a;
}

void list_unlink(flow_table& t, flow_entry& e) {
  lru_list& l = t.lists[static_cast<size_t>(e.tclass)];
  if (e.lru_prev != kNil) t.entries[e.lru_prev].lru_next = e.lru_next;
  else l.head = e.lru_next;
  if (e.lru_next != kNil) t.entries[e.lru_next].lru_prev = e.lru_prev;
  else l.tail = e.lru_prev;
  e.lru_prev = e.lru_next = kNil;
}

void list_append(flow_table& t, flow_entry& e) {
  lru_list& l = t.lists[static_cast<size_t>(e.tclass)];
  e.lru_prev = l.tail;
  e.lru_next = kNil;
  if (l.tail != kNil) t.entries[l.tail].lru_next = e.index;
  else l.head = e.index;
  l.tail = e.index;
}

flow_entry* find_in(flow_table& t, uint32_t b, uint32_t tag, const flow_key& k) {
  const bucket& bk = t.buckets[b];
  for (uint32_t s = 0; s < kSlots; ++s)
    if (bk.tag[s] == tag) {
      flow_entry& e = t.entries[bk.idx[s]];
      if (flow_key_equal(e.key, k)) return &e;
    }
  return nullptr;
}

uint32_t used_slots(const bucket& bk) {
  uint32_t n = 0;
  for (uint32_t s = 0; s < kSlots; ++s) n += bk.tag[s] != 0;
  return n;
}

void free_entry(flow_table& t, flow_entry& e) {
  list_unlink(t, e);
  bucket& bk = t.buckets[e.slot / kSlots];
  bk.tag[e.slot % kSlots] = 0;
  bk.idx[e.slot % kSlots] = kNil;
  e.in_use = false;
  t.free_stack[t.free_top++] = e.index;
}

}  // namespace

const char* timeout_class_name(timeout_class c) {
  switch (c) {
    case timeout_class::syn: return "syn";
    case timeout_class::established: return "established";
    case timeout_class::closing: return "closing";
  }
  return "?";
}

uint64_t flow_table_bytes(const flow_table_config& cfg) {
  return uint64_t{bucket_count(cfg.capacity)} * sizeof(bucket) + uint64_t{cfg.capacity} * sizeof(flow_entry) +
         uint64_t{cfg.capacity} * payload_stride(cfg) + uint64_t{cfg.capacity} * sizeof(uint32_t);
}

const char* flow_table_config_check(const flow_table_config& cfg) {
  if (!pow2(cfg.capacity) || cfg.capacity > (1u << 30)) return "capacity must be a power of two, at most 2^30";
  if (!pow2(cfg.payload_align) || cfg.payload_align > 4096) return "payload_align must be a power of two, at most 4096";
  for (uint64_t t : cfg.timeout_ns)
    if (t == 0) return "every timeout must be positive";
  if (cfg.memcap_bytes != 0 && flow_table_bytes(cfg) > cfg.memcap_bytes) return "table exceeds memcap_bytes";
  return nullptr;
}

flow_table* flow_table_create(const flow_table_config& cfg) {
  if (flow_table_config_check(cfg) != nullptr) return nullptr;
  auto* t = new (std::nothrow) flow_table;
  if (t == nullptr) return nullptr;
  t->cfg = cfg;
  const uint32_t nb = bucket_count(cfg.capacity);
  t->bucket_mask = nb - 1;
  t->stride = payload_stride(cfg);
  t->buckets = static_cast<bucket*>(std::aligned_alloc(64, uint64_t{nb} * sizeof(bucket)));
  t->entries = static_cast<flow_entry*>(std::calloc(cfg.capacity, sizeof(flow_entry)));
  t->free_stack = static_cast<uint32_t*>(std::calloc(cfg.capacity, sizeof(uint32_t)));
  if (t->stride != 0) {
    // The block starts on a cache line; each payload is aligned to payload_align within it.
    const uint64_t align = cfg.payload_align < 64 ? 64 : cfg.payload_align;
    const uint64_t bytes = round_up(cfg.capacity * t->stride, align);  // aligned_alloc wants a multiple
    t->payloads = static_cast<uint8_t*>(std::aligned_alloc(align, bytes));
    if (t->payloads != nullptr) std::memset(t->payloads, 0, bytes);
  }
  if (t->buckets == nullptr || t->entries == nullptr || t->free_stack == nullptr ||
      (t->stride != 0 && t->payloads == nullptr)) {
    flow_table_destroy(t);
    return nullptr;
  }
  std::memset(t->buckets, 0, uint64_t{nb} * sizeof(bucket));
  for (uint32_t i = 0; i < cfg.capacity; ++i) {
    flow_entry& e = t->entries[i];
    e.index = i;
    e.slot = kNil;
    e.lru_prev = e.lru_next = kNil;
    e.in_use = false;
    // Lowest indices on top of the stack: first inserts get neighbouring entries.
    t->free_stack[i] = cfg.capacity - 1 - i;
  }
  t->free_top = cfg.capacity;
  t->seed = cfg.hash_seed;
  if (t->seed == 0) {
    std::random_device rd;
    t->seed = (uint64_t{rd()} << 32 | rd()) | 1;
  }
  return t;
}

void flow_table_destroy(flow_table* t) {
  if (t == nullptr) return;
  std::free(t->buckets);
  std::free(t->entries);
  std::free(t->free_stack);
  std::free(t->payloads);
  delete t;
}

uint64_t flow_table_hash(const flow_table& t, const flow_key& k) { return flow_key_hash(k, t.seed); }

flow_entry* flow_table_find(flow_table& t, const flow_key& k, uint64_t hash) {
  const uint32_t tag = tag_of(hash);
  const uint32_t b1 = first_bucket(t, hash);
  if (flow_entry* e = find_in(t, b1, tag, k)) return e;
  return find_in(t, alt_bucket(t, b1, tag), tag, k);
}

flow_entry* flow_table_insert(flow_table& t, const flow_key& k, uint64_t hash, bool swapped, uint64_t now_ns,
                              timeout_class c) {
  const uint32_t tag = tag_of(hash);
  const uint32_t b1 = first_bucket(t, hash);
  const uint32_t b2 = alt_bucket(t, b1, tag);
  if (flow_entry* e = find_in(t, b1, tag, k)) return e;
  if (flow_entry* e = find_in(t, b2, tag, k)) return e;
  if (t.free_top == 0) {
    ++t.counters.insert_fail_full;
    return nullptr;
  }
  const uint32_t n1 = used_slots(t.buckets[b1]), n2 = used_slots(t.buckets[b2]);
  if (n1 == kSlots && n2 == kSlots) {
    ++t.counters.insert_fail_bucket;
    return nullptr;
  }
  bucket& bk = t.buckets[n1 <= n2 ? b1 : b2];
  uint32_t s = 0;
  while (bk.tag[s] != 0) ++s;
  flow_entry& e = t.entries[t.free_stack[--t.free_top]];
  bk.tag[s] = tag;
  bk.idx[s] = e.index;
  e.key = k;
  e.slot = static_cast<uint32_t>(&bk - t.buckets) * kSlots + s;
  e.last_seen_ns = now_ns;
  e.tclass = c;
  e.initiator_swapped = swapped;
  e.in_use = true;
  list_append(t, e);
  ++t.counters.inserts;
  return &e;
}

void flow_table_touch(flow_table& t, flow_entry& e, uint64_t now_ns) {
  if (now_ns > e.last_seen_ns) e.last_seen_ns = now_ns;
  if (e.lru_next == kNil) return;  // already the youngest
  list_unlink(t, e);
  list_append(t, e);
}

void flow_table_set_class(flow_table& t, flow_entry& e, timeout_class c, uint64_t now_ns) {
  if (c == e.tclass) {
    flow_table_touch(t, e, now_ns);
    return;
  }
  list_unlink(t, e);
  e.tclass = c;
  if (now_ns > e.last_seen_ns) e.last_seen_ns = now_ns;
  list_append(t, e);
}

void flow_table_remove(flow_table& t, flow_entry& e) {
  if (!e.in_use) return;
  free_entry(t, e);
  ++t.counters.removes;
}

size_t flow_table_expire(flow_table& t, uint64_t now_ns, size_t budget, const evict_sink& sink) {
  size_t n = 0;
  for (size_t c = 0; c < timeout_class_count && n < budget; ++c) {
    const uint64_t timeout = t.cfg.timeout_ns[c];
    while (n < budget && t.lists[c].head != kNil) {
      flow_entry& e = t.entries[t.lists[c].head];
      // Lists are ordered by activity, so the first young head ends this class.
      if (now_ns < e.last_seen_ns || now_ns - e.last_seen_ns < timeout) break;
      if (sink.on_evict != nullptr) sink.on_evict(sink.ctx, e, flow_table_payload(t, e));
      free_entry(t, e);
      ++t.counters.evicted[c];
      ++n;
    }
  }
  return n;
}

void* flow_table_payload(flow_table& t, const flow_entry& e) { return flow_table_payload_at(t, e.index); }

void* flow_table_payload_at(flow_table& t, uint32_t index) {
  return t.stride == 0 ? nullptr : t.payloads + uint64_t{index} * t.stride;
}

const flow_entry& flow_table_entry_at(const flow_table& t, uint32_t index) { return t.entries[index]; }

uint32_t flow_table_capacity(const flow_table& t) { return t.cfg.capacity; }
uint32_t flow_table_live(const flow_table& t) { return t.cfg.capacity - t.free_top; }
const flow_table_counters& flow_table_stats(const flow_table& t) { return t.counters; }

void flow_table_buckets_of(const flow_table& t, uint64_t hash, uint32_t& b1, uint32_t& b2) {
  b1 = first_bucket(t, hash);
  b2 = alt_bucket(t, b1, tag_of(hash));
}

}  // namespace phigate::flow
