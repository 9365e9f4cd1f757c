#include "dataplane/gate/request_gate.hh"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>

namespace phigate::gate {

namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// The value of header `name` in a request head (first occurrence), "" when absent.
std::string_view header_value(std::string_view head, std::string_view name) {
  size_t p = head.find("\r\n");
  while (p != std::string_view::npos && p + 2 < head.size()) {
    const size_t start = p + 2;
    const size_t eol = head.find("\r\n", start);
    const std::string_view line = head.substr(start, eol == std::string_view::npos ? head.size() - start : eol - start);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos && iequal(line.substr(0, colon), name)) return trim(line.substr(colon + 1));
    p = eol;
  }
  return {};
}

std::string_view bearer_token(std::string_view authorization) {
  const std::string_view v = trim(authorization);
  if (v.size() < 7 || !iequal(v.substr(0, 7), "bearer ")) return {};
  return trim(v.substr(7));
}

// Copies into a fixed field, NUL-terminated, cut to fit.
template <size_t N>
void copy_field(char (&dst)[N], std::string_view src) {
  const size_t n = std::min(src.size(), N - 1);
  if (n != 0) std::memcpy(dst, src.data(), n);  // an empty view may have no data pointer
  dst[n] = '\0';
}

template <size_t N>
void join_field(char (&dst)[N], const std::string_view* items, uint32_t count) {
  size_t at = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const size_t need = items[i].size() + (i ? 1 : 0);
    if (at + need + 4 > N) {
      std::memcpy(dst + std::min(at, N - 4), "...", 3);
      at = std::min(at, N - 4) + 3;
      break;
    }
    if (i) dst[at++] = ',';
    if (!items[i].empty()) std::memcpy(dst + at, items[i].data(), items[i].size());
    at += items[i].size();
  }
  dst[at] = '\0';
}

// Appends `s` JSON-escaped to buf (bounded). Returns the new length.
size_t json_escape(char* buf, size_t at, size_t cap, std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    if (at + 7 >= cap) break;
    if (c == '"' || c == '\\') {
      buf[at++] = '\\';
      buf[at++] = static_cast<char>(c);
    } else if (c < 0x20) {
      buf[at++] = '\\';
      buf[at++] = 'u';
      buf[at++] = '0';
      buf[at++] = '0';
      buf[at++] = hex[c >> 4];
      buf[at++] = hex[c & 15];
    } else {
      buf[at++] = static_cast<char>(c);
    }
  }
  return at;
}

size_t append(char* buf, size_t at, size_t cap, std::string_view s) {
  const size_t n = std::min(s.size(), cap > at ? cap - at : 0);
  if (n != 0) std::memcpy(buf + at, s.data(), n);
  return at + n;
}

}  // namespace

void gate_path_copy(std::string_view target, char* out, size_t cap) noexcept {
  if (cap == 0) return;
  const size_t q = target.find_first_of("?#");
  if (q != std::string_view::npos) target = target.substr(0, q);
  size_t n = std::min(target.size(), cap - 1);
  if (n != 0) std::memcpy(out, target.data(), n);
  out[n] = '\0';
  for (size_t i = 0; i < n;) {
    if (out[i] < '0' || out[i] > '9') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < target.size() && target[j] >= '0' && target[j] <= '9') ++j;
    if (j - i >= 4)
      for (size_t k = i; k < std::min(j, n); ++k) out[k] = '#';
    i = j;
  }
}

profile_resolution resolve_profiles(const policy::snapshot& policy, const scan::pattern_db* db) {
  profile_resolution out;
  try {
    const uint32_t n = policy::profile_count(policy);
    out.profiles.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
      const policy::masking_profile& p = *policy::profile_at(policy, static_cast<int32_t>(i));
      resolved_profile& r = out.profiles[i];
      r.style = p.style;
      if ((p.entities.empty() && p.pattern_sets.empty()) || db == nullptr) continue;  // every entity
      // Slots past 64 have no bit: their patterns stay masked whatever the profile says.
      scan::pattern_db::mask_result m = db->entity_mask(p.pattern_sets, p.entities);
      if (!m.error.empty()) {
        out.error = "masking_profile " + p.name + ": " + m.error;
        out.profiles.clear();
        return out;
      }
      r.entities = m.mask;
      r.db = db->serial();
    }
  } catch (const std::exception&) {
    out.profiles.clear();
    out.error = "masking_profiles: out of memory";
  }
  return out;
}

request_gate::request_gate(const gate_config& cfg) : cfg_(cfg), ring_(cfg.ring_capacity) {}

session::request_decider request_gate::decider() {
  session::request_decider d;
  d.ctx = this;
  d.decide = [](void* ctx, const session::request_info& r, uint64_t now) {
    return static_cast<request_gate*>(ctx)->decide(r, now);
  };
  d.response_done = [](void* ctx, const session::response_info& r, uint64_t now) {
    static_cast<request_gate*>(ctx)->response_done(r, now);
  };
  d.durable = &ring_.durable;
  return d;
}

// 128 random bits as 32 hex digits: unguessable, so an id alone says nothing and cannot be
// enumerated (a grant is also bound to the subject, route and body digest).
bool request_gate::next_approval_id(char out[33]) noexcept {
  static const char hex[] = "0123456789abcdef";
  uint8_t raw[16];
  if (cfg_.random_bytes == nullptr || !cfg_.random_bytes(raw, sizeof raw)) return false;
  for (int i = 0; i < 16; ++i) {
    out[2 * i] = hex[raw[i] >> 4];
    out[2 * i + 1] = hex[raw[i] & 15];
  }
  out[32] = '\0';
  return true;
}

session::request_answer request_gate::answer(uint16_t status, std::string_view code, std::string_view message,
                                             std::string_view rule, const session::request_info& r,
                                             std::string_view approval_id) {
  // Body first (its length goes in the head), OpenAI-style error object so SDKs show the message.
  char body[1400];
  const size_t cap = sizeof body;
  size_t b = append(body, 0, cap, "{\"error\":{\"type\":\"phigate\",\"code\":\"");
  b = json_escape(body, b, cap, code);
  b = append(body, b, cap, "\",\"message\":\"");
  b = json_escape(body, b, cap, message);
  char rid[64];
  const int rn = std::snprintf(rid, sizeof rid, "%u-%llu-%u", unsigned{cfg_.lcore},
                               static_cast<unsigned long long>(r.conn_id), r.request_index);
  b = append(body, b, cap, "\",\"request_id\":\"");
  b = append(body, b, cap, std::string_view(rid, rn > 0 ? static_cast<size_t>(rn) : 0));
  if (!rule.empty()) {
    b = append(body, b, cap, "\",\"rule\":\"");
    b = json_escape(body, b, cap, rule);
  }
  if (!approval_id.empty()) {
    b = append(body, b, cap, "\",\"approval_id\":\"");
    b = append(body, b, cap, approval_id);
    b = append(body, b, cap, "\",\"status_url\":\"");
    b = json_escape(body, b, cap, cfg_.approval_status_base);
    b = append(body, b, cap, approval_id);
    b = append(body, b, cap, "/status\",\"retry_header\":\"");
    b = json_escape(body, b, cap, cfg_.approval_header);
  }
  b = append(body, b, cap, "\"}}\n");
  const char* text = status == 403 ? "Forbidden" : status == 502 ? "Bad Gateway" : "Service Unavailable";
  const int hn = std::snprintf(response_.data(), response_.size(),
                               "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                               "Cache-Control: no-store\r\nConnection: close\r\nX-Phigate-Request-Id: %.*s\r\n\r\n",
                               unsigned{status}, text, b, rn > 0 ? rn : 0, rid);
  session::request_answer a;
  a.verdict = session::request_verdict::respond;
  if (hn <= 0 || static_cast<size_t>(hn) + b > response_.size()) {
    a.verdict = session::request_verdict::reset;  // cannot happen with the sizes above
    return a;
  }
  std::memcpy(response_.data() + hn, body, b);
  a.response = std::string_view(response_.data(), static_cast<size_t>(hn) + b);
  return a;
}

session::request_answer request_gate::decide(const session::request_info& r, uint64_t now_ns) noexcept {
  const int64_t wall_ns = static_cast<int64_t>(now_ns) + cfg_.wall_offset_ns;
  const gate_snapshot* gs = cfg_.snapshot ? cfg_.snapshot->load(std::memory_order_acquire) : nullptr;
  const policy::snapshot* snap = gs != nullptr ? gs->policy : nullptr;
  const credential_store* credentials = gs != nullptr ? gs->credentials : nullptr;

  identity id;
  const std::string_view token = bearer_token(r.authorization);
  if (!token.empty() && cfg_.identity.verify != nullptr)
    id = cfg_.identity.verify(cfg_.identity.ctx, token, wall_ns / 1'000'000'000);
  if (id.verified) ++n_.identity_verified;
  else if (!token.empty()) ++n_.identity_refused;
  else ++n_.anonymous;

  policy::decision d;
  if (snap != nullptr) {
    policy::request_facts f;
    f.method = r.method;
    f.target = r.target;
    f.host = r.host;
    if (id.verified) {
      f.subject = id.subject;
      f.groups = id.groups;
      f.group_count = id.group_count;
    }
    f.body = r.body;
    f.body_complete = r.body_complete;
    d = policy::evaluate(*snap, f);
    if (d.on_unknown) ++n_.policy_on_unknown;
  }
  const policy::route* route = snap != nullptr ? policy::route_at(*snap, d.route) : nullptr;

  const bool audit_up = cfg_.audit_up == nullptr || cfg_.audit_up->load(std::memory_order_relaxed);
  audit_event* e = audit_up ? ring_.claim() : nullptr;
  if (e == nullptr) {
    ++n_.outcomes[static_cast<size_t>(outcome::audit_unavailable)];
    return answer(503, "audit_unavailable", "the audit trail cannot take this request now; retry later", {}, r, {});
  }
  e->seq = ++seq_;
  e->time_ns = wall_ns;
  e->kind = event_kind::decision;
  e->lcore = cfg_.lcore;
  e->family = r.family == flow::ip_family::v4 ? 4 : 6;
  e->conn_id = r.conn_id;
  e->request_index = r.request_index;
  std::memcpy(e->client_addr, r.client_addr, 16);
  std::memcpy(e->server_addr, r.server_addr, 16);
  e->client_port = r.client_port;
  e->server_port = r.server_port;
  copy_field(e->method, r.method);
  gate_path_copy(r.target, e->path, sizeof e->path);
  copy_field(e->model, d.model);
  if (id.verified) {
    copy_field(e->subject, id.subject);
    join_field(e->groups, id.groups, id.group_count);
  }
  copy_field(e->identity_error, id.error);
  copy_field(e->rule_id, d.rule_id);
  if (route != nullptr) {
    copy_field(e->route_id, route->id);
    copy_field(e->masking_profile, route->masking_profile);
  }
  e->request_bytes = r.head.size() + (r.body_kind == http::body_kind::content_length ? r.content_length : r.body.size());
  e->body_complete = r.body_complete;
  if (cfg_.sha256 != nullptr) {
    static const uint8_t empty = 0;  // hashing an empty body must not pass a null pointer
    cfg_.sha256(r.body.empty() ? &empty : reinterpret_cast<const uint8_t*>(r.body.data()), r.body.size(),
                e->body_sha256);
  }

  auto finish = [&](outcome o) {
    e->result = o;
    ring_.publish();
    ++n_.outcomes[static_cast<size_t>(o)];
  };

  if (snap == nullptr) {
    finish(outcome::no_policy);
    return answer(503, "no_policy", "no policy is loaded", {}, r, {});
  }
  if (d.act == policy::action::block) {
    finish(outcome::blocked);
    return answer(403, "blocked", d.reason, d.rule_id, r, {});
  }
  if (d.act == policy::action::require_approval) {
    e->approvals_required = static_cast<uint8_t>(std::min<uint32_t>(d.approvals_required, 255));
    e->grant_ttl_s = d.grant_ttl_s;
    e->grant_one_time = d.grant_one_time;
    join_field(e->approver_groups, d.approver_groups, d.approver_group_count);
    const std::string_view presented = header_value(r.head, cfg_.approval_header);
    if (!id.verified || route == nullptr) {
      // An approval is bound to a subject and a route: without either it could never be granted.
      finish(outcome::blocked);
      return answer(403, "approval_needs_identity",
                    "this request needs an approval, which needs a signed-in caller on a known route", d.rule_id, r, {});
    }
    if (!presented.empty()) {
      copy_field(e->approval_id, presented);
      const std::string_view why =
          cfg_.grants.check == nullptr
              ? std::string_view("no_grants")
              : cfg_.grants.check(cfg_.grants.ctx, presented, id.verified ? id.subject : std::string_view{},
                                  route != nullptr ? std::string_view(route->id) : std::string_view{}, e->body_sha256,
                                  wall_ns / 1'000'000'000);
      if (!why.empty()) {
        copy_field(e->grant_error, why);
        finish(outcome::approval_refused);
        return answer(403, "approval_refused", why, d.rule_id, r, {});
      }
    } else {
      char aid[33];
      if (!next_approval_id(aid)) {  // no randomness: refuse rather than mint a guessable id
        finish(outcome::audit_unavailable);
        return answer(503, "approval_unavailable", "approval ids cannot be generated now", d.rule_id, r, {});
      }
      copy_field(e->approval_id, aid);
      finish(outcome::approval_required);
      return answer(403, "approval_required", d.reason, d.rule_id, r, std::string_view(aid, 32));
    }
  }

  // allow (or a valid grant): swap the credential, forward once the record is durable.
  session::request_answer a;
  a.verdict = session::request_verdict::forward;
  if (route != nullptr && !route->credential.empty()) {
    const std::string* value = credentials ? credentials->find(route->credential) : nullptr;
    if (value == nullptr) {
      finish(outcome::no_credential);
      return answer(502, "no_credential", "the route's backend credential is not loaded", d.rule_id, r, {});
    }
    if (route->auth_header != "authorization" || r.authorization.empty() || value->size() > r.authorization.size() ||
        r.authorization_repeated) {
      finish(outcome::credential_unfit);
      return answer(502, "credential_unfit",
                    "the backend credential cannot replace this request's Authorization value in place "
                    "(absent, repeated, shorter than the credential, or another header configured)",
                    d.rule_id, r, {});
    }
    a.rewrite_authorization = true;
    a.authorization = *value;
    e->credential_swapped = true;
  }
  // The response's mode, by value. Unmasked only for a verified caller in the route's groups.
  const int32_t profile = route != nullptr ? route->profile : -1;
  if (profile >= 0 && gs->profiles != nullptr && static_cast<uint32_t>(profile) < gs->profile_count) {
    a.mask_entities = gs->profiles[profile].entities;
    a.mask_style = gs->profiles[profile].style;
    a.mask_db = gs->profiles[profile].db;
  }
  a.unmasked = route != nullptr && id.verified && policy::route_unmasked_for(*route, id.groups, id.group_count);
  a.profile_tag = profile_tag_make(gs->generation, profile);
  e->unmasked = a.unmasked;
  if (a.unmasked) ++n_.forwards_unmasked;
  ++n_.profile_forwards[profile >= 0 && profile < static_cast<int32_t>(policy::policy_max_profiles)
                            ? profile
                            : policy::policy_max_profiles];
  a.wait_seq = e->seq;
  finish(d.act == policy::action::require_approval ? outcome::approval_granted : outcome::allowed);
  return a;
}

void request_gate::response_done(const session::response_info& r, uint64_t now_ns) noexcept {
  const bool audit_up = cfg_.audit_up == nullptr || cfg_.audit_up->load(std::memory_order_relaxed);
  audit_event* e = audit_up ? ring_.claim() : nullptr;
  if (e == nullptr) {
    ++n_.response_records_lost;
    return;
  }
  e->seq = ++seq_;
  e->time_ns = static_cast<int64_t>(now_ns) + cfg_.wall_offset_ns;
  e->kind = event_kind::response;
  e->lcore = cfg_.lcore;
  e->conn_id = r.conn_id;
  e->request_index = r.request_index;
  e->status = r.status;
  e->aborted = r.aborted;
  e->response_bytes = r.response_bytes;
  e->findings = r.findings;
  e->patterns_db = r.patterns_db;
  e->unmasked = r.unmasked;
  if (r.unmasked) ++n_.responses_unmasked;
  // The profile's name, when the snapshot that chose it is still the current one.
  if (const uint32_t idx = r.profile_tag & 0xff; idx != 0) {
    const gate_snapshot* gs = cfg_.snapshot ? cfg_.snapshot->load(std::memory_order_acquire) : nullptr;
    if (gs != nullptr && gs->policy != nullptr && (r.profile_tag >> 8) == (gs->generation & 0xffffff))
      if (const policy::masking_profile* p = policy::profile_at(*gs->policy, static_cast<int32_t>(idx - 1)))
        copy_field(e->masking_profile, p->name);
  }
  for (uint32_t i = 0; i < r.patterns && e->finding_used < audit_event::finding_slots; ++i) {
    if (r.findings_by_pattern[i] == 0) continue;
    e->finding_pattern[e->finding_used] = static_cast<uint16_t>(i);
    e->finding_count[e->finding_used++] = r.findings_by_pattern[i];
  }
  ring_.publish();
}

}  // namespace phigate::gate
