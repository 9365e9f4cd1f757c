#include "dataplane/io/dp_patterns.hh"

#include <span>

#include "dataplane/engine/flow_engine.hh"

namespace phigate::io {

pattern_gen::~pattern_gen() {
  for (scratch_pair& p : scratch) {
    if (p.stream) hs_free_scratch(p.stream);
    if (p.block) hs_free_scratch(p.block);
  }
}

dp_patterns::dp_patterns(std::unique_ptr<scan::pattern_db> initial, std::string label, unsigned workers,
                         uint32_t stream_block_bytes)
    : workers_(workers), block_bytes_(stream_block_bytes) {
  auto g = std::make_unique<pattern_gen>();
  g->db = std::move(initial);
  g->label = std::move(label);
  names_.add(*g->db);
  current_.store(g.get(), std::memory_order_release);
  gens_.push_back(std::move(g));
  for (unsigned w = 0; w < workers; ++w) adopted_.push_back(std::make_unique<std::atomic<uint64_t>>(0));
}

std::string dp_patterns::stage(const ipc::patterns& m) {
  auto refuse = [&](std::string why) {
    refused_sha_ = m.sha256;
    refused_why_ = why;
    return why;
  };
  auto d = scan::pattern_db::deserialize(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(m.db.data()), m.db.size()));
  if (auto* e = std::get_if<scan::load_error>(&d)) return refuse("patterns: " + e->where + ": " + e->reason);
  std::unique_ptr<scan::pattern_db> db = std::move(std::get<0>(d));
  engine::engine_config probe;
  probe.db = db.get();
  if (const char* why = engine::engine_config_check(probe)) return refuse(std::string("patterns: ") + why);
  if (db->stream_bytes() == 0 || db->stream_bytes() > block_bytes_)
    return refuse("patterns: the database needs " + std::to_string(db->stream_bytes()) +
                  " bytes of stream state per channel; this dataplane's stream pool blocks are " +
                  std::to_string(block_bytes_) + " (raise stream_state_bytes and restart)");
  std::string label;
  for (const std::string& s : m.sets) label += (label.empty() ? "" : "+") + s;
  staged_db_ = std::move(db);
  staged_sha_ = m.sha256;
  staged_label_ = label.empty() ? std::string(staged_db_->name()) : label;
  if (refused_sha_ == m.sha256) refused_sha_.clear();
  return "";
}

const scan::pattern_db* dp_patterns::staged(const std::string& sha256, std::string& why) const {
  if (staged_db_ && staged_sha_ == sha256) return staged_db_.get();
  why = sha256 == refused_sha_ ? refused_why_ : "patterns " + sha256.substr(0, 12) + ": not received";
  return nullptr;
}

uint32_t dp_patterns::slot_serial(int slot) const {
  for (const auto& g : gens_)
    if (static_cast<int>(g->index & 1) == slot) return g->db->serial();
  return 0;
}

bool dp_patterns::settled(const std::function<int64_t(unsigned w, int slot)>& open_bodies) const {
  const pattern_gen* cur = current();
  const int old_slot = static_cast<int>((cur->index + 1) & 1);
  for (unsigned w = 0; w < workers_; ++w) {
    if (adopted_[w]->load(std::memory_order_acquire) != cur->index) return false;
    if (cur->index > 0 && open_bodies(w, old_slot) != 0) return false;
  }
  return true;
}

std::string dp_patterns::install(const std::string& sha256, const std::function<void(int, uint32_t)>& retiring) {
  if (!staged_db_ || staged_sha_ != sha256) return "patterns " + sha256.substr(0, 12) + ": not received";
  const pattern_gen* cur = current();
  auto g = std::make_unique<pattern_gen>();
  g->index = cur->index + 1;
  // One prototype serving both the new and the current database, cloned per worker: Hyperscan
  // scratch must be allocated off the lcores and a worker cannot share one.
  hs_scratch_t* proto = cur->db->alloc_scratch(staged_db_->alloc_scratch(nullptr));
  if (proto == nullptr) return "patterns: cannot allocate Hyperscan scratch";
  for (unsigned w = 0; w < workers_; ++w) {
    pattern_gen::scratch_pair p;
    if (hs_clone_scratch(proto, &p.stream) != HS_SUCCESS || hs_clone_scratch(proto, &p.block) != HS_SUCCESS) {
      if (p.stream) hs_free_scratch(p.stream);
      hs_free_scratch(proto);
      return "patterns: cannot allocate Hyperscan scratch";  // g's destructor frees the others
    }
    g->scratch.push_back(p);
  }
  hs_free_scratch(proto);
  g->db = std::move(staged_db_);
  g->sha256 = sha256;
  g->label = staged_label_;
  staged_sha_.clear();
  names_.add(*g->db);
  // The slot the new generation takes held generation index-2 (drained: settled()).
  if (gens_.size() == 2 && retiring) retiring(static_cast<int>(g->index & 1), gens_.front()->db->serial());
  current_.store(g.get(), std::memory_order_release);
  gens_.push_back(std::move(g));
  // Generation index-2: no body is open on it and every worker adopted index-1, whose scratches
  // replaced its own; nothing on any lcore points into it any more.
  if (gens_.size() > 2) gens_.erase(gens_.begin());
  ++swaps_;
  return "";
}

}  // namespace phigate::io
