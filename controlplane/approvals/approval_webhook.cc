#include "controlplane/approvals/approval_webhook.hh"

#include <httplib.h>

#include <ctime>
#include <nlohmann/json.hpp>

namespace phigate::approvals {

namespace {

using nlohmann::json;

std::string iso_time(int64_t unix_s) {
  std::time_t t = std::time_t(unix_s);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return std::to_string(unix_s);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Slack reads <...> as links and mentions (<!channel>): user-supplied text is escaped so a
// summary or reason cannot ping a channel or disguise a link.
std::string slack_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string headline(const approval_event& e) {
  const auto& r = e.record;
  const auto& q = r.request;
  const std::string n = std::to_string(r.votes.size()) + "/" + std::to_string(q.approvals_required);
  switch (e.kind) {
    case approval_event_kind::created:
      return "Approval requested by " + q.requester + ": " + q.method + " " + q.path + " on route " + q.route +
             (q.model.empty() ? "" : " (model " + q.model + ")") + ", rule " + q.rule_id + ". Needs " +
             std::to_string(q.approvals_required) + " approval(s) from " + join(q.approver_groups) + ". Id " + r.id;
    case approval_event_kind::voted: return e.actor + " approved " + r.id + " (" + n + ")";
    case approval_event_kind::approved:
      return "Approved " + r.id + " (" + n + ", last by " + e.actor + "): " +
             (q.one_time ? "one-time grant" : "grant") + " for " + q.requester + " until " +
             iso_time(r.grant_expires_s);
    case approval_event_kind::rejected: return "Rejected " + r.id + " by " + e.actor + ": " + r.reject_reason;
    case approval_event_kind::revoked: return "Revoked " + r.id + " by " + e.actor + ": " + r.revoke_reason;
    case approval_event_kind::consumed: return "One-time grant " + r.id + " used by " + q.requester;
  }
  return r.id;
}

const char* color(approval_event_kind k) {
  switch (k) {
    case approval_event_kind::approved: return "good";
    case approval_event_kind::rejected:
    case approval_event_kind::revoked: return "danger";
    default: return "warning";
  }
}

}  // namespace

std::string webhook_payload(const approval_event& e, std::string_view api_base_url) {
  const auto& r = e.record;
  const auto& q = r.request;
  const std::string text = "phigate: " + slack_escape(headline(e));

  json fields = json::array();
  auto field = [&](const char* title, const std::string& value, bool is_short) {
    if (!value.empty()) fields.push_back({{"title", title}, {"value", slack_escape(value)}, {"short", is_short}});
  };
  field("Requester", q.requester, true);
  field("Route", q.route, true);
  field("Request", q.method + " " + q.path, true);
  field("Model", q.model, true);
  field("Rule", q.rule_id, true);
  field("Approvals", std::to_string(r.votes.size()) + "/" + std::to_string(q.approvals_required), true);
  field("Summary (masked)", q.masked_summary, false);

  json machine = {
      {"event", approval_event_kind_name(e.kind)},
      {"id", r.id},
      {"state", approval_state_name(r.state)},
      {"actor", e.actor},
      {"requester", q.requester},
      {"route", q.route},
      {"method", q.method},
      {"path", q.path},
      {"model", q.model},
      {"rule_id", q.rule_id},
      {"approvals", r.votes.size()},
      {"approvals_required", q.approvals_required},
      {"approver_groups", q.approver_groups},
      {"one_time", q.one_time},
      {"created_at", r.created_s},
  };
  if (r.grant_expires_s) machine["grant_expires_at"] = r.grant_expires_s;
  if (e.kind == approval_event_kind::rejected) machine["reason"] = r.reject_reason;
  if (e.kind == approval_event_kind::revoked) machine["reason"] = r.revoke_reason;
  json attachment = {{"fallback", text}, {"color", color(e.kind)}, {"fields", fields}};
  if (!api_base_url.empty()) {
    const std::string link = std::string(api_base_url) + "/v1/approvals/" + r.id;
    attachment["title"] = "Approval " + r.id;
    attachment["title_link"] = link;
    machine["url"] = link;
  }
  json body = {{"text", text}, {"attachments", json::array({attachment})}, {"phigate", machine}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::variant<std::unique_ptr<approval_webhook>, std::string> approval_webhook::start(webhook_config config) {
  const std::string& url = config.url;
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return "webhook url: no scheme";
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return "webhook url: scheme must be http or https";
  const size_t path_start = url.find('/', scheme_end + 3);
  target t{url.substr(0, path_start), path_start == std::string::npos ? "/" : url.substr(path_start)};
  if (t.scheme_host_port.size() <= scheme_end + 3) return "webhook url: no host";
  if (config.queue_capacity == 0) return "webhook: queue_capacity must be positive";
  if (config.timeout.count() <= 0) return "webhook: timeout must be positive";
  std::unique_ptr<approval_webhook> w(new approval_webhook(std::move(config), std::move(t)));
  w->worker_ = std::thread([p = w.get()] { p->run(); });
  return w;
}

approval_webhook::~approval_webhook() { stop(); }

void approval_webhook::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    counters_.dropped += queue_.size();
    queue_.clear();
  }
  wake_.notify_all();
  // Only the first caller joins; later ones find the thread already joined.
  std::lock_guard join_lock(join_mu_);
  if (worker_.joinable()) worker_.join();
}

bool approval_webhook::notify(const approval_event& event) noexcept {
  try {
    std::string body = webhook_payload(event, config_.api_base_url);
    std::lock_guard lock(mu_);
    if (stop_ || queue_.size() >= config_.queue_capacity) {
      ++counters_.dropped;
      return false;
    }
    queue_.push_back(std::move(body));
    ++counters_.queued;
  } catch (...) {
    std::lock_guard lock(mu_);
    ++counters_.dropped;
    return false;
  }
  wake_.notify_one();
  return true;
}

approval_listener approval_webhook::listener() {
  return [this](const approval_event& e) { notify(e); };
}

webhook_counters approval_webhook::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

bool approval_webhook::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_.wait_for(lock, timeout, [&] { return queue_.empty() && !busy_; });
}

void approval_webhook::run() {
  httplib::Client client(target_.scheme_host_port);
  const auto secs = config_.timeout.count() / 1000, usecs = (config_.timeout.count() % 1000) * 1000;
  client.set_connection_timeout(secs, usecs);
  client.set_read_timeout(secs, usecs);
  client.set_write_timeout(secs, usecs);
  client.set_keep_alive(false);
  if (!config_.ca_file.empty()) client.set_ca_cert_path(config_.ca_file.c_str());
  client.enable_server_certificate_verification(config_.verify_tls);

  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) break;
    std::string body = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    bool ok = false;
    try {
      auto res = client.Post(target_.path.c_str(), body, "application/json");
      ok = res && res->status >= 200 && res->status < 300;
    } catch (...) {
      ok = false;
    }
    lock.lock();
    busy_ = false;
    ++(ok ? counters_.sent : counters_.failed);
    if (queue_.empty()) idle_.notify_all();
  }
  busy_ = false;
  idle_.notify_all();
}

}  // namespace phigate::approvals
