#include "controlplane/approvals/approval_state.hh"

#include <algorithm>
#include <array>

namespace phigate::approvals {

namespace {

constexpr std::array<std::string_view, approval_state_count> state_names = {
    "pending", "approved", "rejected", "expired", "revoked", "consumed"};

constexpr std::array<std::string_view, approval_error_count> error_names = {
    "invalid_request", "unknown",  "not_pending",     "not_active", "not_approver", "self_approval",
    "duplicate_vote",  "reason_required", "reason_too_long", "full", "duplicate_id", "storage"};

constexpr std::array<std::string_view, grant_status_count> grant_names = {
    "ok",      "unknown",          "pending",        "rejected",        "expired",      "revoked",
    "consumed", "subject_mismatch", "route_mismatch", "digest_mismatch", "storage_error"};

bool is_lower_hex(std::string_view s, size_t len) noexcept {
  if (s.size() != len) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Identifiers and request line parts: printable, no control bytes (they would reach Slack, the
// CLI's terminal and logs verbatim).
bool is_clean_field(std::string_view s) noexcept {
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Free text (summary, reasons): additionally newlines and tabs.
bool is_clean_text(std::string_view s) noexcept {
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\n' && c != '\t') || u == 0x7f;
  });
}

bool is_blank(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

approval_failure fail(approval_error code, std::string message) { return {code, std::move(message)}; }

std::optional<approval_failure> check_field(std::string_view name, std::string_view value, bool required,
                                            const approval_config& config) {
  if (required && value.empty()) return fail(approval_error::invalid_request, std::string(name) + " is required");
  if (value.size() > config.max_field_bytes)
    return fail(approval_error::invalid_request, std::string(name) + " is too long");
  if (!is_clean_field(value))
    return fail(approval_error::invalid_request, std::string(name) + " contains control characters");
  return std::nullopt;
}

std::optional<approval_failure> check_groups(std::string_view name, const std::vector<std::string>& groups,
                                             bool required, const approval_config& config) {
  if (required && groups.empty()) return fail(approval_error::invalid_request, std::string(name) + " is empty");
  if (groups.size() > config.max_groups)
    return fail(approval_error::invalid_request, std::string(name) + " has too many entries");
  for (const auto& g : groups)
    if (auto f = check_field(name, g, true, config)) return f;
  return std::nullopt;
}

std::optional<approval_failure> check_reason(std::string_view reason, const approval_config& config) {
  if (is_blank(reason)) return fail(approval_error::reason_required, "a reason is required");
  if (reason.size() > config.max_reason_bytes) return fail(approval_error::reason_too_long, "the reason is too long");
  if (!is_clean_text(reason)) return fail(approval_error::invalid_request, "the reason contains control characters");
  return std::nullopt;
}

std::optional<approval_failure> check_decider(const approval_record& r, const principal& who) {
  // Self-approval first: a requester who is also an approver must hear the rule that applies.
  if (who.subject == r.request.requester)
    return fail(approval_error::self_approval, "the requester cannot decide on their own request");
  if (who.subject.empty() || !is_approver(r, who)) return fail(approval_error::not_approver, "not a member of the request's approver groups");
  return std::nullopt;
}

}  // namespace

std::string_view approval_state_name(approval_state s) noexcept {
  return size_t(s) < state_names.size() ? state_names[size_t(s)] : "invalid";
}

std::optional<approval_state> approval_state_parse(std::string_view name) noexcept {
  for (size_t i = 0; i < state_names.size(); ++i)
    if (state_names[i] == name) return approval_state(i);
  return std::nullopt;
}

std::string_view approval_error_name(approval_error e) noexcept {
  return size_t(e) < error_names.size() ? error_names[size_t(e)] : "invalid";
}

std::string_view grant_status_name(grant_status s) noexcept {
  return size_t(s) < grant_names.size() ? grant_names[size_t(s)] : "invalid";
}

std::optional<std::string> approval_config_check(const approval_config& c) {
  if (c.pending_ttl_s <= 0) return "pending_ttl_s must be positive";
  if (c.max_grant_ttl_s <= 0) return "max_grant_ttl_s must be positive";
  if (c.default_grant_ttl_s <= 0 || c.default_grant_ttl_s > c.max_grant_ttl_s)
    return "default_grant_ttl_s must be positive and at most max_grant_ttl_s";
  if (c.max_approvals_required == 0) return "max_approvals_required must be at least 1";
  if (c.max_groups == 0 || c.max_field_bytes == 0 || c.max_reason_bytes == 0) return "limits must be positive";
  if (c.max_pending == 0) return "max_pending must be positive";
  return std::nullopt;
}

bool is_body_digest(std::string_view text) noexcept { return is_lower_hex(text, 64); }
bool is_approval_id(std::string_view text) noexcept { return is_lower_hex(text, 32); }

approval_state effective_state(const approval_record& r, int64_t now_s) noexcept {
  if (r.state == approval_state::pending && now_s >= r.pending_expires_s) return approval_state::expired;
  if (r.state == approval_state::approved && now_s >= r.grant_expires_s) return approval_state::expired;
  return r.state;
}

bool is_approver(const approval_record& r, const principal& who) noexcept {
  for (const auto& g : who.groups)
    if (std::find(r.request.approver_groups.begin(), r.request.approver_groups.end(), g) !=
        r.request.approver_groups.end())
      return true;
  return false;
}

bool may_view(const approval_record& r, const principal& who) noexcept {
  return (!who.subject.empty() && who.subject == r.request.requester) || is_approver(r, who);
}

std::variant<approval_record, approval_failure> make_record(const approval_request& req, std::string id,
                                                            int64_t now_s, const approval_config& config) {
  if (!is_approval_id(id)) return fail(approval_error::invalid_request, "id is not 32 lowercase hex characters");
  if (auto f = check_field("requester", req.requester, true, config)) return *f;
  if (auto f = check_groups("requester_groups", req.requester_groups, false, config)) return *f;
  if (auto f = check_field("route", req.route, true, config)) return *f;
  if (auto f = check_field("method", req.method, true, config)) return *f;
  if (auto f = check_field("path", req.path, true, config)) return *f;
  if (auto f = check_field("model", req.model, false, config)) return *f;
  if (auto f = check_field("rule_id", req.rule_id, true, config)) return *f;
  if (!is_body_digest(req.body_digest))
    return fail(approval_error::invalid_request, "body_digest is not 64 lowercase hex characters");
  if (req.masked_summary.size() > config.max_summary_bytes)
    return fail(approval_error::invalid_request, "masked_summary is too long");
  if (!is_clean_text(req.masked_summary))
    return fail(approval_error::invalid_request, "masked_summary contains control characters");
  if (req.approvals_required == 0 || req.approvals_required > config.max_approvals_required)
    return fail(approval_error::invalid_request, "approvals_required is out of range");
  if (auto f = check_groups("approver_groups", req.approver_groups, true, config)) return *f;
  if (req.grant_ttl_s < 0) return fail(approval_error::invalid_request, "grant_ttl_s is negative");

  approval_record r;
  r.id = std::move(id);
  r.request = req;
  r.request.grant_ttl_s = std::min(req.grant_ttl_s == 0 ? config.default_grant_ttl_s : req.grant_ttl_s,
                                   config.max_grant_ttl_s);
  r.created_s = now_s;
  r.pending_expires_s = now_s + config.pending_ttl_s;
  r.state = approval_state::pending;
  return r;
}

std::optional<approval_failure> approve(approval_record& r, const principal& who, int64_t now_s) {
  // Who first, then state: someone who may not decide learns nothing about the request.
  if (auto f = check_decider(r, who)) return f;
  if (effective_state(r, now_s) != approval_state::pending)
    return fail(approval_error::not_pending, "the request is not pending");
  for (const auto& v : r.votes)
    if (v.approver == who.subject) return fail(approval_error::duplicate_vote, "this approver already approved");
  r.votes.push_back({who.subject, now_s});
  if (r.votes.size() >= r.request.approvals_required) {
    r.state = approval_state::approved;
    r.decided_s = now_s;
    r.grant_expires_s = now_s + r.request.grant_ttl_s;
  }
  return std::nullopt;
}

std::optional<approval_failure> reject(approval_record& r, const principal& who, std::string_view reason,
                                       int64_t now_s, const approval_config& config) {
  if (auto f = check_decider(r, who)) return f;
  if (effective_state(r, now_s) != approval_state::pending)
    return fail(approval_error::not_pending, "the request is not pending");
  if (auto f = check_reason(reason, config)) return f;
  r.state = approval_state::rejected;
  r.decided_s = now_s;
  r.rejected_by = who.subject;
  r.reject_reason = std::string(reason);
  return std::nullopt;
}

std::optional<approval_failure> revoke(approval_record& r, const principal& who, std::string_view reason,
                                       int64_t now_s, const approval_config& config) {
  if (auto f = check_decider(r, who)) return f;
  if (effective_state(r, now_s) != approval_state::approved)
    return fail(approval_error::not_active, "the grant is not active");
  if (auto f = check_reason(reason, config)) return f;
  r.state = approval_state::revoked;
  r.revoked_s = now_s;
  r.revoked_by = who.subject;
  r.revoke_reason = std::string(reason);
  return std::nullopt;
}

grant_status check_grant(approval_record& r, std::string_view subject, std::string_view route,
                         std::string_view body_digest, int64_t now_s) noexcept {
  if (subject.empty() || subject != r.request.requester) return grant_status::subject_mismatch;
  if (route != r.request.route) return grant_status::route_mismatch;
  if (body_digest != r.request.body_digest) return grant_status::digest_mismatch;
  switch (effective_state(r, now_s)) {
    case approval_state::pending: return grant_status::pending;
    case approval_state::rejected: return grant_status::rejected;
    case approval_state::expired: return grant_status::expired;
    case approval_state::revoked: return grant_status::revoked;
    case approval_state::consumed: return grant_status::consumed;
    case approval_state::approved: break;
  }
  if (r.request.one_time) {
    r.state = approval_state::consumed;
    r.consumed_s = now_s;
  }
  return grant_status::ok;
}

}  // namespace phigate::approvals
