#pragma once
// Just-in-time approvals: the webhook that announces new requests and decisions to a chat
// channel (Slack incoming-webhook JSON: "text" plus "attachments" fields, and a "phigate"
// object for machines).
//
// Delivery happens off the caller's thread: notify() formats the message and appends it to a
// bounded queue, never blocking and never failing the decision that triggered it; one worker
// thread POSTs queued messages in order, each attempt bounded by the configured timeout. When
// the queue is full the new message is dropped and counted. A webhook outage therefore costs
// announcements, never approvals.
//
// Contents: ids, subjects, route, method, masked path, model, rule, counts, reasons and the
// masked summary (the one thing approvers need to decide). Never the body digest, which for a
// short body is a dictionary oracle for the values in it.
//
// Thread safety: notify(), stop(), counters() and wait_idle() may be called from any thread;
// the destructor must not race with other calls.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>

#include "controlplane/approvals/approval_store.hh"

namespace phigate::approvals {

struct webhook_config {
  std::string url;  // http:// or https://host[:port]/path
  size_t queue_capacity = 256;
  std::chrono::milliseconds timeout{5000};  // connect, read and write, per attempt
  std::string ca_file;    // https: trust anchors (PEM); empty = system store
  bool verify_tls = true;  // false only in tests
  // Optional base of the approvals API that messages link to ("https://cp.example:9443").
  std::string api_base_url;
};

struct webhook_counters {
  uint64_t queued = 0;   // accepted by notify()
  uint64_t sent = 0;     // answered with 2xx
  uint64_t failed = 0;   // no answer or not 2xx (not retried)
  uint64_t dropped = 0;  // queue full, formatting failed, or still queued at shutdown
};

// The Slack-compatible JSON body for one event. Pure; exposed for tests and dry runs.
std::string webhook_payload(const approval_event& event, std::string_view api_base_url = {});

class approval_webhook {
 public:
  // Validates the configuration and starts the worker.
  static std::variant<std::unique_ptr<approval_webhook>, std::string> start(webhook_config config);
  ~approval_webhook();
  approval_webhook(const approval_webhook&) = delete;
  approval_webhook& operator=(const approval_webhook&) = delete;

  // Queues the announcement; false when it was dropped. Never blocks on the network.
  bool notify(const approval_event& event) noexcept;
  // Usable as approval_store's listener: store.set_listener(webhook->listener()).
  approval_listener listener();

  // Stops the worker: the delivery in flight finishes or times out, queued messages are counted
  // as dropped, later notify() calls drop. Idempotent; the destructor calls it.
  void stop();

  webhook_counters counters() const;
  // Waits until the queue is empty and no delivery is in flight; false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout);

 private:
  struct target {
    std::string scheme_host_port;
    std::string path;
  };
  approval_webhook(webhook_config config, target t) : config_(std::move(config)), target_(std::move(t)) {}
  void run();

  const webhook_config config_;
  const target target_;
  mutable std::mutex mu_;
  std::condition_variable wake_;  // worker: a message or stop
  std::condition_variable idle_;  // wait_idle: queue drained
  std::deque<std::string> queue_;
  bool busy_ = false;
  bool stop_ = false;
  webhook_counters counters_;
  std::mutex join_mu_;  // serializes stop()'s join
  std::thread worker_;
};

}  // namespace phigate::approvals
