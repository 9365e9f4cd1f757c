#include "controlplane/oidc/key_manager.hh"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

#include <nlohmann/json.hpp>

#include "controlplane/auth/crypto_util.hh"
#include "controlplane/oidc/jwks_export.hh"

namespace phigate::oidc {

namespace {

bool has_kid(const key_snapshot& snap, std::string_view kid) {
  if (kid.empty()) return !snap.keys.keys.empty();
  return snap.keys.find(kid) != nullptr;
}

std::shared_ptr<const key_snapshot> empty_snapshot() {
  auto s = std::make_shared<key_snapshot>();
  s->jwks_json = R"({"keys":[]})";
  return s;
}

}  // namespace

key_fetcher oidc_key_fetcher(oidc_client client) {
  return [client = std::move(client)]() -> std::variant<auth::jwk_set, oidc_error> {
    auto r = client.fetch_keys();
    if (auto* e = std::get_if<oidc_error>(&r)) return std::move(*e);
    return std::move(std::get<fetched_keys>(r).keys);
  };
}

key_manager::key_manager(key_fetcher fetch, key_manager_options options)
    : fetch_(std::move(fetch)), options_(std::move(options)), snapshot_(empty_snapshot()) {}

std::optional<oidc_error> key_manager::fetch_locked(int64_t now_s) {
  std::variant<auth::jwk_set, oidc_error> fetched = oidc_error{oidc_step::config, "no key fetcher configured"};
  if (fetch_) {
    try {
      fetched = fetch_();
    } catch (const std::exception&) {
      fetched = oidc_error{oidc_step::config, "the key fetcher threw"};
    }
  }

  std::optional<oidc_error> failure;
  std::string text;
  if (auto* e = std::get_if<oidc_error>(&fetched)) {
    failure = std::move(*e);
  } else {
    auto exported = jwks_export(std::get<auth::jwk_set>(fetched));
    if (auto* xe = std::get_if<jwks_export_error>(&exported))
      failure = oidc_error{oidc_step::jwks, "export: " + xe->reason};
    else
      text = std::move(std::get<std::string>(exported));
  }

  if (failure) {
    std::lock_guard lk(state_mu_);
    ++stats_.refreshes_failed;
    last_error_ = failure;
    next_refresh_s_ = now_s + std::min(options_.retry_interval_s, options_.refresh_interval_s);
    return failure;
  }

  // Equal exports mean equal keys: keep the published snapshot (and its version) so consumers
  // only react to real changes.
  auto cur = current();
  std::shared_ptr<const key_snapshot> published;
  if (cur->version == 0 || cur->jwks_json != text) {
    auto snap = std::make_shared<key_snapshot>();
    snap->keys = std::move(std::get<auth::jwk_set>(fetched));
    snap->jwks_json = std::move(text);
    snap->version = cur->version + 1;
    snap->fetched_at_s = now_s;
    published = snap;
    snapshot_.store(published, std::memory_order_release);
  }
  {
    std::lock_guard lk(state_mu_);
    ++stats_.refreshes_ok;
    if (published) ++stats_.key_set_changes;
    stats_.last_success_s = now_s;
    last_error_.reset();
    next_refresh_s_ = now_s + options_.refresh_interval_s;
  }
  if (published && options_.on_change) {
    try {
      options_.on_change(published);
    } catch (const std::exception&) {
      // The keys are published either way; a failing consumer must not undo the refresh.
    }
  }
  return std::nullopt;
}

std::optional<oidc_error> key_manager::refresh(int64_t now_s) {
  std::lock_guard fetch_lk(fetch_mu_);
  return fetch_locked(now_s);
}

bool key_manager::tick(int64_t now_s) {
  {
    std::lock_guard lk(state_mu_);
    if (now_s < next_refresh_s_) return false;
  }
  std::lock_guard fetch_lk(fetch_mu_);
  {
    // Another thread may have refreshed while this one waited for the fetch mutex.
    std::lock_guard lk(state_mu_);
    if (now_s < next_refresh_s_) return false;
    ++stats_.scheduled_refreshes;
  }
  fetch_locked(now_s);
  return true;
}

bool key_manager::on_unknown_kid(std::string_view kid, int64_t now_s) {
  if (has_kid(*current(), kid)) return true;
  std::lock_guard fetch_lk(fetch_mu_);
  // A refresh that ran while this thread waited may have brought the key already.
  if (has_kid(*current(), kid)) return true;
  {
    std::lock_guard lk(state_mu_);
    if (last_unknown_refresh_s_ && now_s < *last_unknown_refresh_s_ + options_.unknown_kid_min_interval_s) {
      ++stats_.unknown_kid_rate_limited;
      return false;
    }
    last_unknown_refresh_s_ = now_s;
    ++stats_.unknown_kid_refreshes;
  }
  fetch_locked(now_s);
  return has_kid(*current(), kid);
}

std::variant<auth::verified_token, auth::jwt_error> key_manager::verify(std::string_view token, int64_t now_s) {
  auto snap = current();
  auto r = auth::jwt_verify(token, snap->keys, options_.policy, now_s);
  auto* e = std::get_if<auth::jwt_error>(&r);
  if (e == nullptr) return r;
  // With no key set yet, a token without a kid fails as missing_kid; it deserves the same one
  // (rate-limited) attempt to load keys as an unknown kid.
  bool no_keys = snap->keys.keys.empty();
  if (*e != auth::jwt_error::unknown_kid && !(no_keys && *e == auth::jwt_error::missing_kid)) return r;
  auto kid = jws_header_kid(token, options_.policy.max_token_bytes);
  if (!kid || !on_unknown_kid(*kid, now_s)) return r;
  return auth::jwt_verify(token, current()->keys, options_.policy, now_s);
}

key_manager_stats key_manager::stats() const {
  std::lock_guard lk(state_mu_);
  return stats_;
}

std::optional<oidc_error> key_manager::last_error() const {
  std::lock_guard lk(state_mu_);
  return last_error_;
}

int64_t key_manager::next_refresh_s() const {
  std::lock_guard lk(state_mu_);
  return next_refresh_s_;
}

std::optional<std::string> jws_header_kid(std::string_view token, size_t max_token_bytes) try {
  if (token.size() > max_token_bytes) return std::nullopt;
  size_t dot = token.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto header = auth::base64url_decode(token.substr(0, dot));
  if (!header) return std::nullopt;
  auto j = nlohmann::json::parse(*header, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto it = j.find("kid");
  if (it == j.end()) return std::string();
  if (!it->is_string()) return std::nullopt;
  return it->get<std::string>();
} catch (const std::exception&) {
  return std::nullopt;
}

int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

key_refresher::key_refresher(key_manager& manager, std::function<int64_t()> clock, int64_t poll_ms)
    : manager_(manager), clock_(std::move(clock)), poll_ms_(std::max<int64_t>(poll_ms, 1)), thread_([this] { run(); }) {}

key_refresher::~key_refresher() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void key_refresher::run() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    lk.unlock();
    manager_.tick(clock_());
    lk.lock();
    cv_.wait_for(lk, std::chrono::milliseconds(poll_ms_), [this] { return stop_; });
  }
}

}  // namespace phigate::oidc
