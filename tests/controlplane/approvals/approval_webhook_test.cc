// The approvals webhook against a local httplib receiver: Slack-compatible bodies for each
// event in order, escaping of Slack control sequences, no digest or body values; a stalled
// receiver never blocks the store (bounded queue, drops counted); failures counted; queued
// messages at shutdown counted as dropped; bad URLs refused.
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "controlplane/approvals/approval_webhook.hh"
#include "tests/controlplane/approvals/approval_test_util.hh"

namespace phigate::approvals {
namespace {

using nlohmann::json;
using test::bob;
using test::carol;
using test::must;
using namespace std::chrono_literals;

constexpr int64_t t0 = 1'700'000'000;

// A chat endpoint on loopback that records what it receives; answers `status`, optionally
// only after `gate` opens.
class receiver {
 public:
  explicit receiver(int status = 200) : status_(status) {
    server_.Post("/hooks/T1/B2", [this](const httplib::Request& req, httplib::Response& res) {
      ++entered_;
      if (gated_) gate_.wait();
      {
        std::lock_guard lock(mu_);
        bodies_.push_back(req.body);
        content_types_.push_back(req.get_header_value("Content-Type"));
      }
      res.status = status_;
      res.set_content("ok", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~receiver() {
    open_gate();
    server_.stop();
    thread_.join();
  }
  void close_gate() { gated_ = true; }
  void open_gate() {
    if (gated_ && !opened_) {
      opened_ = true;
      release_.set_value();
    }
  }
  // Requests that reached the handler (including those waiting at the gate).
  int entered() const { return entered_.load(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hooks/T1/B2"; }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }
  std::vector<std::string> content_types() {
    std::lock_guard lock(mu_);
    return content_types_;
  }

 private:
  int status_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> bodies_, content_types_;
  std::promise<void> release_;
  std::shared_future<void> gate_ = release_.get_future().share();
  std::atomic<bool> gated_{false};
  std::atomic<int> entered_{0};
  bool opened_ = false;
};

std::unique_ptr<approval_webhook> must_start(webhook_config config) {
  auto started = approval_webhook::start(std::move(config));
  if (auto* e = std::get_if<std::string>(&started)) {
    ADD_FAILURE() << *e;
    return nullptr;
  }
  return std::move(std::get<std::unique_ptr<approval_webhook>>(started));
}

webhook_config config_for(std::string url, size_t capacity = 256, std::chrono::milliseconds timeout = 5s,
                          std::string api_base_url = {}) {
  webhook_config c;
  c.url = std::move(url);
  c.queue_capacity = capacity;
  c.timeout = timeout;
  c.api_base_url = std::move(api_base_url);
  return c;
}

class ApprovalWebhook : public ::testing::Test {
 protected:
  test::scratch_dir dir_;
  std::unique_ptr<approval_store> store_ = test::must_open(dir_.file("a.db"));
};

TEST_F(ApprovalWebhook, AnnouncesRequestsAndDecisionsInOrder) {
  receiver rx;
  auto hook = must_start(config_for(rx.url(), 256, 5s, "https://cp.example:9443"));
  ASSERT_TRUE(hook);
  store_->set_listener(hook->listener());

  auto req = test::sample_request(2);
  req.masked_summary = "<!channel> please approve <https://evil.example|docs> & thanks";
  auto r = must(store_->create(req, t0));
  must(store_->approve(r.id, bob, t0 + 1));
  must(store_->approve(r.id, carol, t0 + 2));
  ASSERT_EQ(store_->check_grant(r.id, "alice", "chat", r.request.body_digest, t0 + 3), grant_status::ok);
  auto q = must(store_->create(test::sample_request(), t0 + 4));
  must(store_->reject(q.id, carol, "use the extract", t0 + 5));
  ASSERT_TRUE(hook->wait_idle(10s));

  const auto bodies = rx.bodies();
  ASSERT_EQ(bodies.size(), 6u);
  std::vector<std::string> events;
  for (const auto& b : bodies) {
    json j = json::parse(b, nullptr, false);
    ASSERT_TRUE(j.is_object()) << b;
    ASSERT_TRUE(j["text"].is_string());
    EXPECT_EQ(j["text"].get<std::string>().rfind("phigate: ", 0), 0u);
    ASSERT_TRUE(j["attachments"].is_array());
    events.push_back(j["phigate"]["event"]);
    EXPECT_EQ(b.find(r.request.body_digest), std::string::npos);
    EXPECT_EQ(b.find("marker-c0ffee"), std::string::npos);
    EXPECT_EQ(b.find("<!channel>"), std::string::npos) << "Slack mention not escaped";
  }
  EXPECT_EQ(events, (std::vector<std::string>{"created", "voted", "approved", "consumed", "created", "rejected"}));
  for (const auto& ct : rx.content_types()) EXPECT_EQ(ct, "application/json");

  json created = json::parse(bodies[0]);
  EXPECT_EQ(created["phigate"]["id"], r.id);
  EXPECT_EQ(created["phigate"]["requester"], "alice");
  EXPECT_EQ(created["phigate"]["approvals_required"], 2);
  EXPECT_EQ(created["phigate"]["url"], "https://cp.example:9443/v1/approvals/" + r.id);
  EXPECT_NE(created["text"].get<std::string>().find("Approval requested by alice"), std::string::npos);
  bool has_summary = false;
  for (const auto& f : created["attachments"][0]["fields"])
    if (f["title"] == "Summary (masked)") {
      has_summary = true;
      EXPECT_EQ(f["value"], "&lt;!channel&gt; please approve &lt;https://evil.example|docs&gt; &amp; thanks");
    }
  EXPECT_TRUE(has_summary);
  json approved = json::parse(bodies[2]);
  EXPECT_EQ(approved["phigate"]["actor"], "carol");
  EXPECT_EQ(approved["phigate"]["approvals"], 2);
  EXPECT_EQ(approved["phigate"]["grant_expires_at"], t0 + 2 + 1800);
  json rejected = json::parse(bodies[5]);
  EXPECT_EQ(rejected["phigate"]["reason"], "use the extract");
  EXPECT_NE(rejected["text"].get<std::string>().find("Rejected " + q.id + " by carol: use the extract"),
            std::string::npos);

  const auto c = hook->counters();
  EXPECT_EQ(c.queued, 6u);
  EXPECT_EQ(c.sent, 6u);
  EXPECT_EQ(c.failed, 0u);
  EXPECT_EQ(c.dropped, 0u);
}

TEST_F(ApprovalWebhook, StalledReceiverNeverBlocksDecisionsAndDropsAreCounted) {
  receiver rx;
  rx.close_gate();
  auto hook = must_start(config_for(rx.url(), 2, 10s));
  ASSERT_TRUE(hook);
  store_->set_listener(hook->listener());

  must(store_->create(test::sample_request(), t0));  // taken by the worker, then stuck
  // Wait until the worker holds it at the receiver, so the queue is empty and the counts exact.
  for (int i = 0; i < 5000 && rx.entered() == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(rx.entered(), 1);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) must(store_->create(test::sample_request(), t0 + 1 + i));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, 2s) << "decisions waited for the webhook";
  auto c = hook->counters();
  EXPECT_EQ(c.queued, 3u);   // the one in flight + a full queue of 2
  EXPECT_EQ(c.dropped, 3u);
  rx.open_gate();
  ASSERT_TRUE(hook->wait_idle(10s));
  c = hook->counters();
  EXPECT_EQ(c.sent, 3u);
  EXPECT_EQ(rx.bodies().size(), 3u);
}

TEST_F(ApprovalWebhook, FailuresAreCountedNotRetried) {
  receiver rx(500);
  auto hook = must_start(config_for(rx.url(), 256, 2s));
  ASSERT_TRUE(hook);
  store_->set_listener(hook->listener());
  must(store_->create(test::sample_request(), t0));
  ASSERT_TRUE(hook->wait_idle(10s));
  EXPECT_EQ(hook->counters().failed, 1u);
  EXPECT_EQ(hook->counters().sent, 0u);

  // Nobody listening: a connection error, counted, and the store is unaffected.
  std::string dead_url;
  {
    receiver gone;
    dead_url = gone.url();
  }
  auto dead = must_start(config_for(dead_url, 256, 1s));
  store_->set_listener(dead->listener());
  auto r = must(store_->create(test::sample_request(), t0 + 1));
  must(store_->approve(r.id, bob, t0 + 2));
  ASSERT_TRUE(dead->wait_idle(10s));
  EXPECT_EQ(dead->counters().failed, 2u);
  EXPECT_EQ(must(store_->get(r.id)).state, approval_state::approved);
  store_->set_listener({});
}

TEST_F(ApprovalWebhook, QueuedMessagesAtShutdownAreCountedAsDropped) {
  receiver rx;
  rx.close_gate();
  auto hook = must_start(config_for(rx.url(), 8, 5s));
  ASSERT_TRUE(hook);
  approval_event e{approval_event_kind::created, "alice", {}};
  e.record.request = test::sample_request();
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(hook->notify(e));
  for (int i = 0; i < 5000 && rx.entered() == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(rx.entered(), 1);
  std::thread stopper([&] { hook->stop(); });
  std::this_thread::sleep_for(50ms);
  rx.open_gate();  // the delivery in flight completes; the three queued ones are dropped
  stopper.join();
  const auto c = hook->counters();
  EXPECT_EQ(c.queued, 4u);
  EXPECT_EQ(c.sent, 1u);
  EXPECT_EQ(c.dropped, 3u);
  EXPECT_FALSE(hook->notify(e));  // stopped
  EXPECT_EQ(hook->counters().dropped, 4u);
  EXPECT_EQ(rx.bodies().size(), 1u);
}

TEST(ApprovalWebhookConfig, RefusesBadUrls) {
  for (const char* url : {"", "hooks.slack.com/x", "ftp://host/x", "http://", "file:///etc/passwd"})
    EXPECT_TRUE(std::holds_alternative<std::string>(approval_webhook::start(config_for(url)))) << url;
  EXPECT_TRUE(std::holds_alternative<std::string>(approval_webhook::start(config_for("http://h/x", 0))));
}

TEST(ApprovalWebhookPayload, EveryKindHasAText) {
  approval_event e;
  e.record.id = "0123456789abcdef0123456789abcdef";
  e.record.request = test::sample_request();
  e.actor = "bob";
  for (auto k : {approval_event_kind::created, approval_event_kind::voted, approval_event_kind::approved,
                 approval_event_kind::rejected, approval_event_kind::revoked, approval_event_kind::consumed}) {
    e.kind = k;
    json j = json::parse(webhook_payload(e));
    EXPECT_NE(j["text"].get<std::string>().find(e.record.id), std::string::npos) << approval_event_kind_name(k);
    EXPECT_EQ(j["phigate"]["event"], approval_event_kind_name(k));
    EXPECT_FALSE(j["phigate"].contains("body_digest"));
  }
}

}  // namespace
}  // namespace phigate::approvals
