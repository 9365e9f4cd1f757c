#pragma once
// Just-in-time approvals: the REST API approvers and callers use (issue 4 section 3).
//
//   GET  /v1/approvals[?state=pending|approved|...&limit=N]  requests the caller may see
//   GET  /v1/approvals/{id}                                 one request (approvers, requester)
//   GET  /v1/approvals/{id}/status                          the caller-facing status URL
//   POST /v1/approvals/{id}/approve
//   POST /v1/approvals/{id}/reject   {"reason": "..."}
//   POST /v1/approvals/{id}/revoke   {"reason": "..."}
//
// Every route needs "Authorization: Bearer <token>"; the verifier is injected (production: the
// OIDC verifier with its token cache; tests: jwt_verify against test keys), so this module never
// trusts a subject or a group it did not get from a verified token. A caller sees a request
// only as its requester or as a member of one of its approver groups; decisions follow
// approval_state.hh (approver group, never the requester, one vote each, reasons required).
//
// Errors are JSON {"error": "<name>", "message": "..."} with 400 (bad_json, reason_required,
// reason_too_long, invalid_request), 401 (missing_token, invalid_token with "reason" = the
// verifier's named reason), 403 (forbidden, not_approver, self_approval), 404 (unknown, also for
// a malformed id), 409 (not_pending, not_active, duplicate_vote, with the current "state"), 413
// (body_too_large), 500 (storage, internal). Responses carry no PHI beyond the masked summary
// and never the body digest. Served over HTTPS in production (httplib::SSLServer is a Server).
//
// Thread safety: handlers run on the server's worker threads; the store serializes itself and
// the verifier must be reentrant. `store` and everything the verifier captures must outlive
// the server.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "controlplane/approvals/approval_store.hh"
#include "controlplane/auth/jwt.hh"

namespace httplib {
class Server;
}

namespace phigate::approvals {

struct auth_failure {
  std::string reason;  // a stable name ("expired", "bad_signature", ...), never token content
};
using verify_result = std::variant<principal, auth_failure>;
using token_verifier = std::function<verify_result(std::string_view token)>;

// Unix seconds, injected so tests drive expiry through the API.
using clock_fn = std::function<int64_t()>;
int64_t system_now_s() noexcept;

// A verifier over a fixed key set: jwt_verify at clock() with the given policy. The key set is
// shared so a rotation can build a new verifier while requests still use the old one.
token_verifier jwt_token_verifier(std::shared_ptr<const auth::jwk_set> keys, auth::jwt_policy policy,
                                  clock_fn clock = system_now_s);

struct approval_api_options {
  std::string prefix = "/v1/approvals";
  clock_fn clock = system_now_s;
  size_t max_body_bytes = 16 * 1024;  // decision bodies are a reason, nothing more
  size_t default_list_limit = 100;
  size_t max_list_limit = 1000;
};

// Registers the routes above on `server`. Other routes and handlers of the server are left alone.
void mount_approval_api(httplib::Server& server, approval_store& store, token_verifier verify,
                        approval_api_options options = {});

}  // namespace phigate::approvals
