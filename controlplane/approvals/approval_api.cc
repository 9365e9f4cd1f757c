#include "controlplane/approvals/approval_api.hh"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>

namespace phigate::approvals {

namespace {

using nlohmann::json;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void error(httplib::Response& res, int status, std::string_view name, std::string_view message,
           json extra = json::object()) {
  extra["error"] = name;
  extra["message"] = message;
  reply(res, status, extra);
}

int status_of(approval_error e) {
  switch (e) {
    case approval_error::invalid_request:
    case approval_error::reason_required:
    case approval_error::reason_too_long: return 400;
    case approval_error::unknown: return 404;
    case approval_error::not_approver:
    case approval_error::self_approval: return 403;
    case approval_error::not_pending:
    case approval_error::not_active:
    case approval_error::duplicate_vote:
    case approval_error::duplicate_id: return 409;
    case approval_error::full: return 503;
    case approval_error::storage: return 500;
  }
  return 500;
}

// Storage messages may carry SQLite's wording; the caller gets the name only.
void failure(httplib::Response& res, const approval_failure& f, json extra = json::object()) {
  const int status = status_of(f.code);
  error(res, status, approval_error_name(f.code), status >= 500 ? "internal error" : f.message, std::move(extra));
}

std::string escape_regex(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-') out += '\\';
    out += c;
  }
  return out;
}

json optional_time(int64_t t) { return t ? json(t) : json(nullptr); }

json record_view(const approval_record& r, int64_t now_s, const std::string& prefix) {
  const auto& q = r.request;
  json votes = json::array();
  for (const auto& v : r.votes) votes.push_back({{"approver", v.approver}, {"at", v.at_s}});
  json j = {
      {"id", r.id},
      {"state", approval_state_name(effective_state(r, now_s))},
      {"requester", q.requester},
      {"requester_groups", q.requester_groups},
      {"route", q.route},
      {"method", q.method},
      {"path", q.path},
      {"model", q.model},
      {"rule_id", q.rule_id},
      {"summary", q.masked_summary},
      {"approvals_required", q.approvals_required},
      {"approvals", votes},
      {"approver_groups", q.approver_groups},
      {"one_time", q.one_time},
      {"grant_ttl_s", q.grant_ttl_s},
      {"created_at", r.created_s},
      {"expires_at", r.pending_expires_s},
      {"decided_at", optional_time(r.decided_s)},
      {"grant_expires_at", optional_time(r.grant_expires_s)},
      {"consumed_at", optional_time(r.consumed_s)},
      {"status_url", prefix + "/" + r.id + "/status"},
  };
  if (r.state == approval_state::rejected) {
    j["rejected_by"] = r.rejected_by;
    j["reason"] = r.reject_reason;
  }
  if (r.state == approval_state::revoked) {
    j["revoked_by"] = r.revoked_by;
    j["revoked_at"] = r.revoked_s;
    j["reason"] = r.revoke_reason;
  }
  return j;
}

// What the requester's client polls: the state and what it takes, no summary, no approver names.
json status_view(const approval_record& r, int64_t now_s) {
  const approval_state s = effective_state(r, now_s);
  json j = {
      {"id", r.id},
      {"state", approval_state_name(s)},
      {"approvals", r.votes.size()},
      {"approvals_required", r.request.approvals_required},
      {"one_time", r.request.one_time},
  };
  if (s == approval_state::pending) j["expires_at"] = r.pending_expires_s;
  if (r.grant_expires_s) j["grant_expires_at"] = r.grant_expires_s;
  if (r.state == approval_state::rejected) j["reason"] = r.reject_reason;
  if (r.state == approval_state::revoked) j["reason"] = r.revoke_reason;
  return j;
}

struct api {
  approval_store& store;
  token_verifier verify;
  approval_api_options options;

  // The verified caller, or nullopt after answering 401.
  std::optional<principal> authenticate(const httplib::Request& req, httplib::Response& res) const {
    const std::string header = req.get_header_value("Authorization");
    constexpr std::string_view scheme = "bearer ";
    std::string_view token;
    if (header.size() > scheme.size()) {
      bool match = true;
      for (size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) match = false;
      if (match) token = std::string_view(header).substr(scheme.size());
    }
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (token.empty()) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"phigate\"");
      error(res, 401, "missing_token", "an Authorization: Bearer token is required");
      return std::nullopt;
    }
    verify_result v = verify(token);
    if (auto* f = std::get_if<auth_failure>(&v)) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"phigate\", error=\"invalid_token\"");
      error(res, 401, "invalid_token", "the bearer token was refused", {{"reason", f->reason}});
      return std::nullopt;
    }
    auto& p = std::get<principal>(v);
    if (p.subject.empty()) {
      error(res, 401, "invalid_token", "the bearer token has no subject", {{"reason", "missing_subject"}});
      return std::nullopt;
    }
    return std::move(p);
  }

  // The record `who` may see, or nullopt after answering 404/403/500.
  std::optional<approval_record> visible_record(std::string_view id, const principal& who,
                                                httplib::Response& res) const {
    if (!is_approval_id(id)) {
      error(res, 404, "unknown", "no such request");
      return std::nullopt;
    }
    auto got = store.get(id);
    if (auto* f = std::get_if<approval_failure>(&got)) {
      failure(res, *f);
      return std::nullopt;
    }
    auto& r = std::get<approval_record>(got);
    if (!may_view(r, who)) {
      error(res, 403, "forbidden", "only the requester and the request's approver groups may read it");
      return std::nullopt;
    }
    return std::move(r);
  }

  void list(const httplib::Request& req, httplib::Response& res) const {
    auto who = authenticate(req, res);
    if (!who) return;
    std::optional<approval_state> state;
    if (req.has_param("state")) {
      state = approval_state_parse(req.get_param_value("state"));
      if (!state) return error(res, 400, "invalid_request", "unknown state");
    }
    size_t limit = options.default_list_limit;
    if (req.has_param("limit")) {
      const std::string v = req.get_param_value("limit");
      if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos)
        return error(res, 400, "invalid_request", "limit must be a number");
      limit = std::min<size_t>(std::stoul(v), options.max_list_limit);
    }
    const int64_t now = options.clock();
    auto listed = store.list(state, now, limit, [&](const approval_record& r) { return may_view(r, *who); });
    if (auto* f = std::get_if<approval_failure>(&listed)) return failure(res, *f);
    json items = json::array();
    for (const auto& r : std::get<std::vector<approval_record>>(listed)) items.push_back(record_view(r, now, options.prefix));
    reply(res, 200, {{"approvals", items}, {"count", items.size()}});
  }

  void show(const httplib::Request& req, httplib::Response& res) const {
    auto who = authenticate(req, res);
    if (!who) return;
    auto r = visible_record(req.matches[1].str(), *who, res);
    if (!r) return;
    reply(res, 200, record_view(*r, options.clock(), options.prefix));
  }

  void status(const httplib::Request& req, httplib::Response& res) const {
    auto who = authenticate(req, res);
    if (!who) return;
    auto r = visible_record(req.matches[1].str(), *who, res);
    if (!r) return;
    reply(res, 200, status_view(*r, options.clock()));
  }

  void decide(const httplib::Request& req, httplib::Response& res) const {
    auto who = authenticate(req, res);
    if (!who) return;
    const std::string id = req.matches[1].str();
    const std::string verb = req.matches[2].str();
    if (!is_approval_id(id)) return error(res, 404, "unknown", "no such request");
    if (req.body.size() > options.max_body_bytes) return error(res, 413, "body_too_large", "the body is too large");

    std::string reason;
    if (verb != "approve" && !req.body.empty()) {
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) return error(res, 400, "bad_json", "the body is not a JSON object");
      if (body.contains("reason")) {
        if (!body["reason"].is_string()) return error(res, 400, "bad_json", "reason must be a string");
        reason = body["reason"].get<std::string>();
      }
    }
    const int64_t now = options.clock();
    auto done = verb == "approve"  ? store.approve(id, *who, now)
                : verb == "reject" ? store.reject(id, *who, reason, now)
                                   : store.revoke(id, *who, reason, now);
    if (auto* f = std::get_if<approval_failure>(&done)) {
      json extra = json::object();
      if (status_of(f->code) == 409)
        if (auto cur = store.get(id); std::holds_alternative<approval_record>(cur))
          extra["state"] = approval_state_name(effective_state(std::get<approval_record>(cur), now));
      return failure(res, *f, std::move(extra));
    }
    reply(res, 200, record_view(std::get<approval_record>(done), now, options.prefix));
  }
};

// Handlers answer JSON even when something throws (out of memory, a verifier that throws).
template <typename F>
auto guarded(std::shared_ptr<const api> a, F f) {
  return [a = std::move(a), f](const httplib::Request& req, httplib::Response& res) {
    try {
      ((*a).*f)(req, res);
    } catch (...) {
      try {
        error(res, 500, "internal", "internal error");
      } catch (...) {
        res.status = 500;
      }
    }
  };
}

}  // namespace

int64_t system_now_s() noexcept {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

token_verifier jwt_token_verifier(std::shared_ptr<const auth::jwk_set> keys, auth::jwt_policy policy, clock_fn clock) {
  return [keys = std::move(keys), policy = std::move(policy), clock = std::move(clock)](
             std::string_view token) -> verify_result {
    auto v = auth::jwt_verify(token, *keys, policy, clock());
    if (auto* e = std::get_if<auth::jwt_error>(&v)) return auth_failure{std::string(auth::jwt_error_name(*e))};
    auto& t = std::get<auth::verified_token>(v);
    return principal{std::move(t.subject), std::move(t.groups)};
  };
}

void mount_approval_api(httplib::Server& server, approval_store& store, token_verifier verify,
                        approval_api_options options) {
  if (!options.clock) options.clock = system_now_s;
  const std::string base = escape_regex(options.prefix);
  auto a = std::make_shared<const api>(api{store, std::move(verify), std::move(options)});
  server.Get(base, guarded(a, &api::list));
  server.Get(base + "/([^/]+)", guarded(a, &api::show));
  server.Get(base + "/([^/]+)/status", guarded(a, &api::status));
  server.Post(base + "/([^/]+)/(approve|reject|revoke)", guarded(a, &api::decide));
}

}  // namespace phigate::approvals
