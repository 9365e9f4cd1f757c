#pragma once
// The pattern databases phigate-dp runs: the one its configuration loads at start, then each one
// phigate-cp pushes (issue 4 section 2), swapped in while traffic flows.
//
// How a swap works (why it is shaped like this):
// - Main thread: a `patterns` message is deserialized and checked off the lcores and *staged*;
//   the snapshot that names it installs it as generation k (k = previous + 1), together with
//   the policy whose masking profiles were resolved against it.
// - Lcores: each worker sees generation k at its next idle point and adopts it
//   (engine::engine_scratch_adopt): bodies that start from then on bind to it; bodies in
//   progress finish on generation k-1. Generation k lives in engine slot k & 1.
// - So at most two generations serve bodies. Generation k+1 is installed only when every worker
//   adopted k and has no body left open on k-1 (settled()); until then the snapshot waits
//   (pending) and the main thread retries each poll. Installing k+1 frees k-1: its database
//   (drained) and its scratches (no worker uses them since adopting k).
// - Hyperscan scratch: generation k carries, per worker, a pair (stream, block) that serves both
//   k-1 and k, cloned on the main thread from one prototype; workers only swap pointers.
//
// Threads: everything here runs on the main thread, except current() and the per-worker
// adopted index (lcores; atomics).
#include <hs.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "controlplane/ipc/ipc_contract.hh"
#include "dataplane/scan/pattern_db.hh"
#include "dataplane/scan/pattern_names.hh"

namespace phigate::io {

struct pattern_gen {
  uint64_t index = 0;                      // 0: the configuration's
  std::unique_ptr<scan::pattern_db> db;
  std::string sha256;                      // "" for the configuration's
  std::string label;                       // the member sets, for messages and stats
  struct scratch_pair {
    hs_scratch_t* stream = nullptr;
    hs_scratch_t* block = nullptr;
  };
  std::vector<scratch_pair> scratch;       // per worker; empty for index 0 (workers' own)
  pattern_gen() = default;
  pattern_gen(const pattern_gen&) = delete;
  pattern_gen& operator=(const pattern_gen&) = delete;
  ~pattern_gen();
};

class dp_patterns {
 public:
  // `stream_block_bytes`: the workers' stream pool block (scan/stream_pool.hh); a database
  // whose stream state is larger is refused.
  dp_patterns(std::unique_ptr<scan::pattern_db> initial, std::string label, unsigned workers,
              uint32_t stream_block_bytes);

  // --- lcores ---
  const pattern_gen* current() const { return current_.load(std::memory_order_acquire); }
  // Worker w now binds new bodies to generation `index`.
  void adopted(unsigned w, uint64_t index) { adopted_[w]->store(index, std::memory_order_release); }

  // --- main thread ---
  // Deserializes and checks a pushed database and keeps it staged (replacing any staged one).
  // Returns "" or why it cannot run here (the sha256 is remembered with the reason).
  std::string stage(const ipc::patterns& m);
  // The staged database with this digest, or nullptr; `why` gets the refusal reason if the
  // digest was refused, or "not received".
  const scan::pattern_db* staged(const std::string& sha256, std::string& why) const;
  // True when the current generation is running everywhere and the one before it has no open
  // body: `open_bodies(w, slot)` reads worker w's engine.
  bool settled(const std::function<int64_t(unsigned w, int slot)>& open_bodies) const;
  // Installs the staged database `sha256` as the next generation (call only when settled()).
  // `retiring(slot, serial)` runs first when the slot held an older database (its counters are
  // final). Returns "" or why not (scratch allocation).
  std::string install(const std::string& sha256, const std::function<void(int slot, uint32_t serial)>& retiring);

  const scan::pattern_names& names() const { return names_; }
  // pattern_db::serial() of the live database in engine slot 0 or 1 (0: none).
  uint32_t slot_serial(int slot) const;
  uint64_t swaps() const { return swaps_; }
  uint32_t stream_block_bytes() const { return block_bytes_; }

 private:
  unsigned workers_;
  uint32_t block_bytes_;
  std::vector<std::unique_ptr<pattern_gen>> gens_;  // the live ones, oldest first (<= 2)
  std::atomic<const pattern_gen*> current_{nullptr};
  std::vector<std::unique_ptr<std::atomic<uint64_t>>> adopted_;
  std::unique_ptr<scan::pattern_db> staged_db_;
  std::string staged_sha_, staged_label_, refused_sha_, refused_why_;
  scan::pattern_names names_;
  uint64_t swaps_ = 0;
};

}  // namespace phigate::io
