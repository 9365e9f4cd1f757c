#include "controlplane/audit/audit_sink.hh"

#include <algorithm>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

namespace phigate::audit {

audit_sink::audit_sink(audit_writer* log, std::string no_log_reason)
    : log_(log), no_log_reason_(std::move(no_log_reason)) {}

bool audit_sink::failed() const noexcept { return log_ == nullptr || error_.has_value() || log_->failed(); }

uint64_t audit_sink::last_seq(const std::string& boot, uint32_t stream) const {
  auto it = last_.find({boot, stream});
  return it == last_.end() ? 0 : it->second;
}

void audit_sink::remember(const std::string& boot, uint32_t stream, uint64_t seq) {
  if (std::find(boots_.begin(), boots_.end(), boot) == boots_.end()) {
    boots_.push_back(boot);
    if (boots_.size() > max_boots) {
      const std::string old = boots_.front();
      boots_.pop_front();
      std::erase_if(last_, [&](const auto& kv) { return kv.first.first == old; });
    }
  }
  last_[{boot, stream}] = seq;
}

std::optional<std::string> audit_sink::recover(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;  // no log yet: nothing to learn
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find("\"dp_source\"") == std::string::npos) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    // The writer verified the chain when it opened the file; a line that does not parse here
    // was not written by it.
    if (j.is_discarded() || !j.contains("rec") || !j["rec"].is_object())
      return path + ": line " + std::to_string(n) + ": not an audit record";
    const nlohmann::json& rec = j["rec"];
    if (!rec.contains("dp_source")) continue;
    const nlohmann::json& s = rec["dp_source"];
    if (!s.is_object() || !s.contains("boot") || !s["boot"].is_string() || !s.contains("stream") ||
        !s["stream"].is_number_unsigned() || !s.contains("seq") || !s["seq"].is_number_unsigned())
      return path + ": line " + std::to_string(n) + ": dp_source: malformed";
    remember(s["boot"].get<std::string>(), s["stream"].get<uint32_t>(), s["seq"].get<uint64_t>());
  }
  return std::nullopt;
}

ipc::audit_ack audit_sink::accept(std::vector<ipc::audit_record> batch, int64_t now_ms) {
  ipc::audit_ack out;
  if (log_ == nullptr) {
    n_.refused += batch.size();
    out.error = no_log_reason_;
    return out;
  }
  if (error_ || log_->failed()) {
    n_.refused += batch.size();
    out.error = error_ ? *error_ : "the audit log failed earlier";
    return out;
  }
  std::set<std::pair<std::string, uint32_t>> seen;
  uint64_t appended = 0;
  for (ipc::audit_record& r : batch) {
    seen.insert({r.boot, r.stream});
    const uint64_t last = last_seq(r.boot, r.stream);
    if (r.seq <= last) {
      ++n_.duplicates;
      continue;
    }
    // A stream this log has not seen starts wherever the dataplane's oldest unacknowledged
    // record is (a new or rotated log, a dataplane that ran before this log existed): the first
    // record of a stream on a connection is always that one.
    if (last != 0 && r.seq != last + 1) {
      ++n_.out_of_order;
      continue;
    }
    nlohmann::json& rec = r.record;
    rec["dp_source"] = {{"boot", r.boot}, {"stream", r.stream}, {"seq", r.seq}};
    auto a = log_->append(rec, now_ms, false);
    if (auto* e = std::get_if<audit_error>(&a)) {
      error_ = e->reason;
      n_.refused += batch.size() - appended;
      out.error = e->reason;
      return out;  // nothing of this batch is acknowledged: it was not synced
    }
    remember(r.boot, r.stream, r.seq);
    ++appended;
  }
  if (appended != 0) {
    if (auto e = log_->sync()) {
      error_ = e->reason;
      out.error = e->reason;
      return out;
    }
    n_.written += appended;
  }
  for (const auto& [boot, stream] : seen)
    if (const uint64_t s = last_seq(boot, stream); s != 0) out.acks.push_back({boot, stream, s});
  return out;
}

std::optional<std::string> audit_sink::tick(int64_t now_ms) {
  if (log_ == nullptr || failed()) return std::nullopt;
  if (auto e = log_->checkpoint_if_due(now_ms)) {
    error_ = e->reason;
    return e->reason;
  }
  return std::nullopt;
}

}  // namespace phigate::audit
