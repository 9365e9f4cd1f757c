#include "dataplane/scan/stream_pool.hh"

#include <hs.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

namespace phigate::scan {

struct stream_pool {
  uint8_t* base = nullptr;
  uint8_t* end = nullptr;
  uint32_t block_bytes = 0;
  uint64_t blocks = 0;
  // Returned blocks, threaded through their first 8 bytes; blocks never used yet are handed out
  // from `fresh` on, so a block's pages are touched only once a body needs it.
  void* free_head = nullptr;
  uint64_t fresh = 0;
  // Written by the owner thread only; read by the stats socket.
  std::atomic<uint64_t> in_use{0}, high_water{0}, failed{0};
};

namespace {

constexpr size_t kMaxPools = 256;
std::atomic<stream_pool*> g_pools[kMaxPools];
std::atomic<size_t> g_pool_count{0};
thread_local stream_pool* t_pool = nullptr;

stream_pool* owner_of(void* p) {
  auto* b = static_cast<uint8_t*>(p);
  if (t_pool != nullptr && b >= t_pool->base && b < t_pool->end) return t_pool;
  const size_t n = g_pool_count.load(std::memory_order_acquire);
  for (size_t i = 0; i < n; ++i) {
    stream_pool* q = g_pools[i].load(std::memory_order_acquire);
    if (q != nullptr && b >= q->base && b < q->end) return q;
  }
  return nullptr;
}

void* pool_alloc(size_t n) {
  stream_pool* p = t_pool;
  if (p == nullptr) return std::malloc(n);
  void* b = nullptr;
  if (n <= p->block_bytes) {
    if (p->free_head != nullptr) {
      b = p->free_head;
      std::memcpy(&p->free_head, b, sizeof(void*));
    } else if (p->fresh < p->blocks) {
      b = p->base + p->fresh++ * p->block_bytes;
    }
  }
  if (b == nullptr) {
    p->failed.store(p->failed.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return nullptr;
  }
  const uint64_t u = p->in_use.load(std::memory_order_relaxed) + 1;
  p->in_use.store(u, std::memory_order_relaxed);
  if (u > p->high_water.load(std::memory_order_relaxed)) p->high_water.store(u, std::memory_order_relaxed);
  return b;
}

void pool_free(void* b) {
  if (b == nullptr) return;
  stream_pool* p = owner_of(b);
  if (p == nullptr) {
    std::free(b);
    return;
  }
  std::memcpy(b, &p->free_head, sizeof(void*));
  p->free_head = b;
  p->in_use.store(p->in_use.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

}  // namespace

stream_pool* stream_pool_create(uint64_t blocks, uint32_t block_bytes) {
  if (blocks == 0 || block_bytes == 0 || block_bytes > 4096) return nullptr;
  block_bytes = (block_bytes + 63) & ~63u;
  const size_t slot = g_pool_count.load();
  if (slot >= kMaxPools) return nullptr;
  auto* p = new (std::nothrow) stream_pool();
  if (p == nullptr) return nullptr;
  p->base = static_cast<uint8_t*>(std::aligned_alloc(64, blocks * block_bytes));
  if (p->base == nullptr) {
    delete p;
    return nullptr;
  }
  p->end = p->base + blocks * block_bytes;
  p->block_bytes = block_bytes;
  p->blocks = blocks;
  // Reuse a slot freed by stream_pool_destroy before growing the registry.
  for (size_t i = 0; i < g_pool_count.load(); ++i) {
    stream_pool* expected = nullptr;
    if (g_pools[i].compare_exchange_strong(expected, p)) return p;
  }
  const size_t i = g_pool_count.fetch_add(1);
  if (i >= kMaxPools) {
    g_pool_count.fetch_sub(1);
    std::free(p->base);
    delete p;
    return nullptr;
  }
  g_pools[i].store(p, std::memory_order_release);
  return p;
}

void stream_pool_destroy(stream_pool* p) {
  if (p == nullptr) return;
  for (size_t i = 0; i < g_pool_count.load(); ++i) {
    stream_pool* expected = p;
    if (g_pools[i].compare_exchange_strong(expected, nullptr)) break;
  }
  if (t_pool == p) t_pool = nullptr;
  std::free(p->base);
  delete p;
}

bool stream_pool_install() {
  static const bool ok = hs_set_stream_allocator(pool_alloc, pool_free) == HS_SUCCESS;
  return ok;
}

void stream_pool_bind(stream_pool* p) { t_pool = p; }

uint32_t stream_pool_block_bytes(const stream_pool& p) { return p.block_bytes; }

stream_pool_stats stream_pool_read(const stream_pool& p) {
  stream_pool_stats s;
  s.blocks = p.blocks;
  s.block_bytes = p.block_bytes;
  s.in_use = p.in_use.load(std::memory_order_relaxed);
  s.high_water = p.high_water.load(std::memory_order_relaxed);
  s.failed = p.failed.load(std::memory_order_relaxed);
  return s;
}

}  // namespace phigate::scan
