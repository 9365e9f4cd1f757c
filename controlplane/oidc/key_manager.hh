#pragma once
// The control plane's view of the identity provider's signing keys: the current key set, kept
// fresh on a schedule and on demand when a token names a key id the set does not have, and
// token verification against it.
//
// Why the on-demand refresh is rate-limited: a provider rotates by publishing a new key and
// signing with it, so the first token with a new kid must trigger a fetch; but anybody can mint a
// token with a random kid, and without a limit every such token would cost a round trip to the
// provider. At most one unknown-kid refresh per `unknown_kid_min_interval_s`; the others are
// counted and answered from the keys at hand (unknown_kid).
//
// A failed refresh never drops keys: the last good set stays in use (the provider being down must
// not lock every caller out), the failure is counted and kept in last_error(), and the next
// scheduled attempt comes after `retry_interval_s` instead of the full interval.
//
// Threads: every member function may be called from any thread. Readers (verify with a known
// kid, current(), stats()) never wait for a fetch: the key set is an immutable snapshot behind a
// shared_ptr that a refresh swaps atomically. Fetches are serialised by one mutex, held across
// the network call (bounded by the fetcher's own timeouts); a caller that needed a refresh while
// another one ran waits for it and reuses its result instead of fetching again. Time is always a
// parameter (unix seconds), so tests drive the schedule and the rate limit with a fake clock.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>

#include "controlplane/auth/jwk.hh"
#include "controlplane/auth/jwt.hh"
#include "controlplane/oidc/oidc_client.hh"

namespace phigate::oidc {

// Where keys come from. Production: oidc_key_fetcher(); tests: anything. Called with the fetch
// mutex held, from whichever thread triggered the refresh; it must not call back into the
// key_manager that owns it.
using key_fetcher = std::function<std::variant<auth::jwk_set, oidc_error>()>;

// Discovery then JWKS through `client` on every call (see oidc_client::fetch_keys).
key_fetcher oidc_key_fetcher(oidc_client client);

// An immutable key set as published to verifiers. Shared, never modified after publication.
struct key_snapshot {
  auth::jwk_set keys;
  std::string jwks_json;  // jwks_export(keys): what the control plane pushes to the dataplane
  uint64_t version = 0;   // 0: no key set fetched yet; +1 each time the published keys change
  int64_t fetched_at_s = 0;  // when this content was first fetched (later equal fetches keep it)
};

struct key_manager_options {
  auth::jwt_policy policy;             // issuer, audience, skew, groups claim (see jwt.hh)
  int64_t refresh_interval_s = 600;    // scheduled refresh period
  int64_t unknown_kid_min_interval_s = 30;
  int64_t retry_interval_s = 30;       // next scheduled attempt after a failure (capped by the interval)
  // Called after a refresh that changed the published keys, with the new snapshot: the hook for
  // pushing keys to the dataplane and clearing token caches. Runs on the refreshing thread with
  // the fetch mutex held, so calls are serialised and in version order; it may call current()
  // and stats() but must not start a refresh (deadlock).
  std::function<void(const std::shared_ptr<const key_snapshot>&)> on_change;
};

struct key_manager_stats {
  uint64_t refreshes_ok = 0;
  uint64_t refreshes_failed = 0;
  uint64_t scheduled_refreshes = 0;       // attempts started by tick()
  uint64_t unknown_kid_refreshes = 0;     // attempts started by on_unknown_kid()
  uint64_t unknown_kid_rate_limited = 0;  // unknown kids answered without a fetch
  uint64_t key_set_changes = 0;           // refreshes whose keys differed from the previous set
  int64_t last_success_s = 0;             // 0: never
};

class key_manager {
 public:
  // Starts with an empty key set (version 0): call refresh() at start-up. The first scheduled
  // refresh is due at once.
  key_manager(key_fetcher fetch, key_manager_options options);
  key_manager(const key_manager&) = delete;
  key_manager& operator=(const key_manager&) = delete;

  // Fetches now, whatever the schedule and the rate limit (start-up, operator command). On
  // success the schedule restarts from `now_s`.
  std::optional<oidc_error> refresh(int64_t now_s);

  // Scheduled refresh: fetches when due. Returns true when it attempted a fetch. Call it
  // periodically (key_refresher does).
  bool tick(int64_t now_s);

  // A token named `kid` and the current set lacks it. Refreshes unless an unknown-kid refresh
  // ran less than unknown_kid_min_interval_s ago; returns whether the set now has the kid. An
  // empty kid stands for a token without one: true when the set is no longer empty.
  bool on_unknown_kid(std::string_view kid, int64_t now_s);

  // auth::jwt_verify against the current keys at `now_s`; on unknown_kid (or while no key set was
  // ever fetched), one on_unknown_kid() and, if it found the key, a second verification.
  std::variant<auth::verified_token, auth::jwt_error> verify(std::string_view token, int64_t now_s);

  // The published snapshot (never null).
  std::shared_ptr<const key_snapshot> current() const { return snapshot_.load(std::memory_order_acquire); }
  std::string jwks_json() const { return current()->jwks_json; }

  key_manager_stats stats() const;
  std::optional<oidc_error> last_error() const;  // the latest failed refresh, cleared by a success
  int64_t next_refresh_s() const;

  const key_manager_options& options() const noexcept { return options_; }

 private:
  // Fetches, publishes a changed set, updates stats and the schedule. Caller holds fetch_mu_.
  std::optional<oidc_error> fetch_locked(int64_t now_s);

  const key_fetcher fetch_;
  const key_manager_options options_;
  std::atomic<std::shared_ptr<const key_snapshot>> snapshot_;

  std::mutex fetch_mu_;  // one fetch at a time; held across the network call

  mutable std::mutex state_mu_;  // guards the members below; never held across a fetch
  key_manager_stats stats_;
  std::optional<oidc_error> last_error_;
  int64_t next_refresh_s_ = 0;
  std::optional<int64_t> last_unknown_refresh_s_;
};

// Reads the "kid" header parameter of a compact JWS without verifying anything (the header is
// attacker-controlled; use the value only to pick a key). Empty when the header has no kid;
// nullopt when the token is longer than max_token_bytes or its header is not decodable JSON.
std::optional<std::string> jws_header_kid(std::string_view token, size_t max_token_bytes);

// The current unix time in seconds (system clock), the production clock for key_refresher.
int64_t unix_now_s();

// Calls manager.tick(clock()) every `poll_ms` on its own thread until destroyed. The manager must
// outlive it. Destruction waits for a fetch in progress (bounded by the fetcher's timeouts).
class key_refresher {
 public:
  key_refresher(key_manager& manager, std::function<int64_t()> clock = unix_now_s, int64_t poll_ms = 1000);
  ~key_refresher();
  key_refresher(const key_refresher&) = delete;
  key_refresher& operator=(const key_refresher&) = delete;

 private:
  void run();

  key_manager& manager_;
  std::function<int64_t()> clock_;
  int64_t poll_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members it reads are initialised
};

}  // namespace phigate::oidc
