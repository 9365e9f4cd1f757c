#include "controlplane/audit/event_uplink.hh"

#include <fcntl.h>
#include <unistd.h>


#include "controlplane/audit/event_drain.hh"

namespace phigate::audit {

event_uplink::event_uplink(std::vector<gate::event_ring*> rings, const scan::pattern_names* db, std::string boot,
                           const std::string& event_log_path, size_t owner_capacity)
    : rings_(std::move(rings)), db_(db), boot_(std::move(boot)), sent_(rings_.size()),
      owner_capacity_(owner_capacity), event_path_(event_log_path) {
  if (!event_log_path.empty()) {
    event_fd_ = ::open(event_log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (event_fd_ < 0) event_error_ = event_log_path + ": cannot open the event log";
  }
}

event_uplink::~event_uplink() {
  if (event_fd_ >= 0) ::close(event_fd_);
}

uint64_t event_uplink::backlog() const noexcept {
  uint64_t n = owner_.size();
  for (const gate::event_ring* r : rings_) n += r->size();
  return n;
}

size_t event_uplink::pump(std::string& out, size_t budget) {
  size_t n = 0;
  for (size_t r = 0; r < rings_.size(); ++r) {
    for (size_t i = 0; i < budget; ++i) {
      const gate::audit_event* e = rings_[r]->peek_at(static_cast<uint32_t>(sent_[r].size()));
      if (e == nullptr) break;
      ipc::audit_record line{boot_, static_cast<uint32_t>(r), e->seq, event_record(*e, db_)};
      out += ipc::encode(line);
      sent_[r].push_back(std::move(line.record));
      ++n;
    }
  }
  for (size_t i = 0; i < budget && owner_sent_ < owner_.size(); ++i, ++owner_sent_) {
    const auto& [seq, rec] = owner_[owner_sent_];
    out += ipc::encode(ipc::audit_record{boot_, ipc::owner_stream, seq, rec});
    ++n;
  }
  n_.sent += n;
  return n;
}

bool event_uplink::append_record(nlohmann::json record) {
  if (owner_.size() >= owner_capacity_) {
    ++n_.owner_dropped;
    return false;
  }
  owner_.emplace_back(++owner_seq_, std::move(record));
  return true;
}

void event_uplink::durable(const nlohmann::json& rec, std::string& lines) {
  ++n_.acked;
  if (event_fd_ >= 0) lines += rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (listener_) listener_(rec);
}

size_t event_uplink::on_ack(const ipc::audit_ack& ack) {
  size_t n = 0;
  std::string lines;
  for (const ipc::audit_ack::entry& a : ack.acks) {
    if (a.boot != boot_) {
      ++n_.foreign_acks;
      continue;
    }
    if (a.stream == ipc::owner_stream) {
      while (!owner_.empty() && owner_.front().first <= a.seq) {
        durable(owner_.front().second, lines);
        owner_.pop_front();
        if (owner_sent_ > 0) --owner_sent_;
        ++n;
      }
      continue;
    }
    if (a.stream >= rings_.size()) {
      ++n_.foreign_acks;
      continue;
    }
    gate::event_ring& ring = *rings_[a.stream];
    std::deque<nlohmann::json>& sent = sent_[a.stream];
    uint64_t last = 0;
    while (const gate::audit_event* e = ring.peek()) {
      if (e->seq > a.seq) break;
      last = e->seq;
      // Normally the record sent on this connection; after a reconnect an acknowledgement can
      // arrive for a record sent on the old one, so rebuild it from the event.
      if (!sent.empty()) {
        durable(sent.front(), lines);
        sent.pop_front();
      } else {
        durable(event_record(*e, db_), lines);
      }
      ring.pop();
      ++n;
    }
    if (last != 0) ring.durable.store(last, std::memory_order_release);
  }
  if (event_fd_ >= 0 && !lines.empty() && !event_log_write(event_fd_, lines))
    event_error_ = event_path_ + ": event log write failed";
  return n;
}

void event_uplink::restart() {
  for (auto& s : sent_) {
    n_.resent += s.size();
    s.clear();
  }
  n_.resent += owner_sent_;
  owner_sent_ = 0;
}

}  // namespace phigate::audit
