#pragma once
// Test-only: an httplib server on 127.0.0.1 (any free port) serving canned responses per path,
// with the misbehaviours the OIDC client must survive (slow answers, endless drips, oversized
// and chunked bodies, redirects), and a hit counter per path.
//
// One catch-all handler reads the canned table under a mutex, so responses can change while the
// server runs (httplib's handler lists must not change after listening starts). The listener runs
// on its own thread from construction to destruction; destruction waits for handlers in progress.
#include <httplib.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace phigate::test {

struct canned_response {
  int status = 200;
  std::string body;
  std::string location;      // sent as Location when non-empty
  int delay_ms = 0;          // before the status line
  bool chunked = false;      // body sent with chunked transfer encoding, no Content-Length
  int drip_ms = 0;           // chunked only: one byte per drip_ms
};

class canned_server {
 public:
  explicit canned_server(std::unique_ptr<httplib::Server> srv = std::make_unique<httplib::Server>())
      : srv_(std::move(srv)) {
    srv_->Get(".*", [this](const httplib::Request& req, httplib::Response& res) { serve(req, res); });
    port_ = srv_->bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("canned_server: cannot bind 127.0.0.1");
    thread_ = std::thread([this] { srv_->listen_after_bind(); });
    // stop() is a no-op until the listener runs, so a server destroyed at once would hang.
    while (!srv_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~canned_server() {
    srv_->stop();
    thread_.join();
  }
  canned_server(const canned_server&) = delete;
  canned_server& operator=(const canned_server&) = delete;

  int port() const { return port_; }
  std::string origin(const std::string& scheme = "http", const std::string& host = "127.0.0.1") const {
    return scheme + "://" + host + ":" + std::to_string(port_);
  }

  void set(const std::string& path, canned_response r) {
    std::lock_guard lk(mu_);
    routes_[path] = std::move(r);
  }
  void set(const std::string& path, int status, std::string body) {
    canned_response r;
    r.status = status;
    r.body = std::move(body);
    set(path, std::move(r));
  }
  int hits(const std::string& path) const {
    std::lock_guard lk(mu_);
    auto it = hits_.find(path);
    return it == hits_.end() ? 0 : it->second;
  }

 private:
  void serve(const httplib::Request& req, httplib::Response& res) {
    canned_response r;
    {
      std::lock_guard lk(mu_);
      ++hits_[req.path];
      auto it = routes_.find(req.path);
      if (it == routes_.end()) {
        res.status = 404;
        return;
      }
      r = it->second;
    }
    if (r.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(r.delay_ms));
    res.status = r.status;
    if (!r.location.empty()) res.set_header("Location", r.location);
    if (!r.chunked) {
      res.set_content(r.body, "application/json");
      return;
    }
    auto body = std::make_shared<std::string>(std::move(r.body));
    int drip_ms = r.drip_ms;
    res.set_chunked_content_provider("application/json", [body, drip_ms](size_t offset, httplib::DataSink& sink) {
      if (offset >= body->size()) {
        sink.done();
        return true;
      }
      size_t n = drip_ms > 0 ? 1 : std::min<size_t>(body->size() - offset, 64 * 1024);
      if (drip_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(drip_ms));
      return sink.write(body->data() + offset, n);
    });
  }

  std::unique_ptr<httplib::Server> srv_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, canned_response> routes_;
  std::map<std::string, int> hits_;
  std::thread thread_;
};

}  // namespace phigate::test
