#pragma once
// Hyperscan stream state from fixed-size blocks preallocated per thread.
//
// Why: a flow's stream is opened when a response body starts and closed when it ends, against
// whichever pattern database is current at that moment, so a new database (phigate-cp's pattern
// snapshot) takes effect message by message without a reopen of every flow. hs_open_stream and
// hs_close_stream allocate and free through Hyperscan's stream allocator; routed here, the packet
// path takes and returns a block from its own thread's free list instead of calling malloc.
//
// Threads: Hyperscan's allocator hook is process-wide; stream_pool_install() points it at this
// file once. A thread bound to a pool (stream_pool_bind) allocates from that pool only; a thread
// without one (CLI, tests, the main thread at setup) gets malloc. A block goes back to the pool
// it came from whichever thread frees it, so a pool must only be freed into by its own thread,
// or by another one after its thread stopped (teardown). No locks: one owner per pool.
//
// Bounds: a pool holds `blocks` blocks of `block_bytes`, reserved at create and touched only as
// bodies first need them (like the flow slots' history rings); a request that is larger, or finds
// the pool empty, fails (hs_open_stream returns HS_NOMEM: the engine fails the body closed) and is
// counted. The dataplane refuses a pattern database whose stream state exceeds block_bytes.
#include <cstddef>
#include <cstdint>

namespace phigate::scan {

struct stream_pool;

struct stream_pool_stats {
  uint64_t blocks = 0, block_bytes = 0;
  uint64_t in_use = 0;      // blocks handed out now
  uint64_t high_water = 0;  // most blocks ever in use at once
  uint64_t failed = 0;      // requests refused (pool empty or larger than a block)
};

// Setup: one pool per thread that opens streams. nullptr on allocation failure or bad sizes
// (block_bytes is rounded up to 64; at most 4096; blocks >= 1). Registers the pool so frees find
// it; at most 256 pools per process.
stream_pool* stream_pool_create(uint64_t blocks, uint32_t block_bytes);
// Frees the blocks; every stream taken from it must be closed first.
void stream_pool_destroy(stream_pool* p);

// Routes Hyperscan's stream allocation here (idempotent; call before any stream is opened, or
// at least before any stream is opened from a pool, since frees of malloc'ed streams still work).
bool stream_pool_install();
// The calling thread allocates from `p` from now on (nullptr: malloc).
void stream_pool_bind(stream_pool* p);

uint32_t stream_pool_block_bytes(const stream_pool& p);
// The block size for a database needing `stream_bytes` per stream: `configured` when not 0,
// else twice the need rounded up to 64, at least 128 (room for a larger database pushed later).
inline uint32_t stream_pool_block_for(uint32_t stream_bytes, uint32_t configured) {
  if (configured != 0) return configured;
  const uint32_t twice = (2 * stream_bytes + 63) & ~63u;
  return twice < 128 ? 128 : twice;
}
stream_pool_stats stream_pool_read(const stream_pool& p);  // any thread (relaxed counters)

}  // namespace phigate::scan
