#include "controlplane/audit/event_drain.hh"

#include <fcntl.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>

#include "controlplane/auth/crypto_util.hh"

namespace phigate::audit {

namespace {

std::string addr_text(uint8_t family, const uint8_t* a) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf, sizeof buf);
  return buf;
}

std::string field(const char* s, size_t cap) { return std::string(s, strnlen(s, cap)); }
#define FIELD(e, name) field((e).name, sizeof((e).name))

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t at = 0;
  while (!s.empty() && at <= s.size()) {
    const size_t c = s.find(',', at);
    out.push_back(s.substr(at, c == std::string::npos ? std::string::npos : c - at));
    if (c == std::string::npos) break;
    at = c + 1;
  }
  return out;
}

}  // namespace

bool event_log_write(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

nlohmann::json event_record(const gate::audit_event& e, const scan::pattern_names* names) {
  nlohmann::json j;
  j["type"] = gate::event_kind_name(e.kind);
  j["time_ns"] = e.time_ns;
  j["lcore"] = e.lcore;
  j["lcore_seq"] = e.seq;
  j["request_id"] = std::to_string(e.lcore) + "-" + std::to_string(e.conn_id) + "-" + std::to_string(e.request_index);
  if (e.kind == gate::event_kind::decision) {
    j["decision"] = gate::outcome_name(e.result);
    j["client"] = addr_text(e.family, e.client_addr) + ":" + std::to_string(e.client_port);
    j["server"] = addr_text(e.family, e.server_addr) + ":" + std::to_string(e.server_port);
    j["method"] = FIELD(e, method);
    j["path"] = FIELD(e, path);
    j["model"] = FIELD(e, model);
    j["subject"] = FIELD(e, subject);
    j["groups"] = split_list(FIELD(e, groups));
    j["rule"] = FIELD(e, rule_id);
    j["route"] = FIELD(e, route_id);
    if (e.identity_error[0]) j["identity_error"] = FIELD(e, identity_error);
    if (e.approval_id[0]) j["approval_id"] = FIELD(e, approval_id);
    if (e.grant_error[0]) j["grant_error"] = FIELD(e, grant_error);
    if (e.approvals_required) {
      j["approvals_required"] = e.approvals_required;
      j["approver_groups"] = split_list(FIELD(e, approver_groups));
      j["grant_ttl_s"] = e.grant_ttl_s;
      j["grant_one_time"] = e.grant_one_time;
    }
    j["body_sha256"] = auth::hex_encode(std::string_view(reinterpret_cast<const char*>(e.body_sha256), 32));
    j["body_complete"] = e.body_complete;
    j["request_bytes"] = e.request_bytes;
    j["credential_swapped"] = e.credential_swapped;
    if (e.masking_profile[0]) j["masking_profile"] = FIELD(e, masking_profile);
    if (e.unmasked) j["unmasked"] = true;
  } else {
    j["status"] = e.status;
    j["aborted"] = e.aborted;
    j["response_bytes"] = e.response_bytes;
    j["findings"] = e.findings;
    nlohmann::json by = nlohmann::json::array();
    for (uint8_t i = 0; i < e.finding_used; ++i) {
      nlohmann::json f;
      const uint16_t p = e.finding_pattern[i];
      std::string entity, id;
      if (names != nullptr && names->lookup(e.patterns_db, p, entity, id)) {
        f["entity"] = entity;
        f["pattern"] = id;
      } else {
        f["pattern_index"] = p;
      }
      f["count"] = e.finding_count[i];
      by.push_back(std::move(f));
    }
    j["findings_by_entity"] = std::move(by);
    if (e.masking_profile[0]) j["masking_profile"] = FIELD(e, masking_profile);
    if (e.unmasked) j["unmasked"] = true;
  }
  return j;
}

event_drain::event_drain(audit_writer* log, std::vector<gate::event_ring*> rings, const scan::pattern_names* db,
                         const std::string& event_log_path)
    : log_(log), rings_(std::move(rings)), db_(db), event_path_(event_log_path) {
  if (!event_log_path.empty())
    event_fd_ = ::open(event_log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

event_drain::~event_drain() {
  if (event_fd_ >= 0) ::close(event_fd_);
}

event_drain::result event_drain::pump(int64_t now_ms, size_t budget) {
  result out;
  if (failed_) {
    out.error = "audit log failed earlier; requests stay held";
    return out;
  }
  if (!event_path_.empty() && event_fd_ < 0) {
    failed_ = true;
    out.error = event_path_ + ": cannot open the event log";
    return out;
  }
  std::vector<uint64_t> last(rings_.size(), 0);
  std::vector<nlohmann::json> taken_records;
  std::string lines;
  size_t taken = 0;
  for (size_t r = 0; r < rings_.size(); ++r) {
    for (size_t i = 0; i < budget; ++i) {
      const gate::audit_event* e = rings_[r]->peek();
      if (e == nullptr) break;
      nlohmann::json rec = event_record(*e, db_);
      if (log_ != nullptr) {
        auto a = log_->append(rec, now_ms, false);
        if (auto* err = std::get_if<audit_error>(&a)) {
          failed_ = true;
          out.error = err->reason;
          return out;  // nothing acknowledged: the held requests stay held
        }
      }
      if (event_fd_ >= 0) lines += rec.dump() + "\n";
      if (listener_) taken_records.push_back(std::move(rec));
      last[r] = e->seq;
      rings_[r]->pop();
      ++taken;
    }
  }
  if (taken == 0) return out;
  if (log_ != nullptr) {
    if (auto err = log_->sync()) {
      failed_ = true;
      out.error = err->reason;
      return out;
    }
  }
  if (event_fd_ >= 0 && !event_log_write(event_fd_, lines)) out.error = event_path_ + ": event log write failed";
  for (size_t r = 0; r < rings_.size(); ++r)
    if (last[r] != 0) rings_[r]->durable.store(last[r], std::memory_order_release);
  records_ += taken;
  out.records = taken;
  if (listener_)
    for (const nlohmann::json& r : taken_records) listener_(r);
  return out;
}

std::optional<std::string> event_drain::append_record(const nlohmann::json& record, int64_t now_ms) {
  if (failed_) return std::string("audit log failed earlier");
  if (event_fd_ >= 0 && !event_log_write(event_fd_, record.dump() + "\n")) return event_path_ + ": event log write failed";
  if (log_ == nullptr) return std::nullopt;
  auto a = log_->append(record, now_ms);
  if (auto* err = std::get_if<audit_error>(&a)) {
    failed_ = true;
    return err->reason;
  }
  ++records_;
  return std::nullopt;
}

std::optional<std::string> event_drain::tick(int64_t now_ms) {
  if (log_ == nullptr || failed_) return std::nullopt;
  if (auto e = log_->checkpoint_if_due(now_ms)) return e->reason;
  return std::nullopt;
}

}  // namespace phigate::audit
