#pragma once
// phigate-cp's side of the dataplane contract (controlplane/ipc): keeps a connection to
// phigate-dp's control socket, pushes a fresh snapshot on connect and whenever push() is called
// (preceded by the pattern database it names when the connection has not carried that one yet),
// and hands the dataplane's messages (approval requests, grant use, snapshot results, audit
// records to acknowledge) to the owner's handlers. Its own thread, which is also the only one
// that runs the handlers; reconnects every half second while the dataplane is away.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "controlplane/ipc/ipc_contract.hh"

namespace phigate::cp {

class dp_link {
 public:
  struct handlers {
    std::function<ipc::snapshot()> build;  // called on the link thread for every push
    // Called on the link thread right after build(), for the same push: the database that
    // snapshot names by patterns_sha256 (the owner picks both from one copy of its material), or
    // null when it names none. Written before the snapshot line unless this connection already
    // carried a database with that sha256. May be empty (never any patterns line).
    std::function<std::shared_ptr<const ipc::patterns>()> patterns;
    std::function<void(const nlohmann::json&)> on_approval_request;
    std::function<void(const ipc::grant_used&)> on_grant_used;
    std::function<void(const ipc::snapshot_result&)> on_result;
    // A batch of audit records (every one in one read from the socket); returns the
    // acknowledgement to send back, only once they are durable (group commit).
    std::function<ipc::audit_ack(std::vector<ipc::audit_record>)> on_audit;
    std::function<void()> on_idle;  // every loop turn (<= 100 ms): checkpoints when due
  };
  dp_link(std::string socket_path, handlers h);
  ~dp_link();
  dp_link(const dp_link&) = delete;
  dp_link& operator=(const dp_link&) = delete;

  void start();
  void stop();
  // Asks for a snapshot push (coalesced; thread-safe).
  void push() noexcept { want_push_.store(true); }

  bool connected() const noexcept { return connected_.load(); }
  uint64_t pushes() const noexcept { return pushes_.load(); }
  uint64_t patterns_pushes() const noexcept { return patterns_pushes_.load(); }
  uint64_t refused() const noexcept { return refused_.load(); }
  uint64_t last_applied_generation() const noexcept { return applied_generation_.load(); }

 private:
  void run();

  std::string path_;
  handlers h_;
  std::thread thread_;
  std::atomic<bool> stop_{false}, want_push_{true}, connected_{false};
  std::atomic<uint64_t> pushes_{0}, patterns_pushes_{0}, refused_{0}, applied_generation_{0};
};

}  // namespace phigate::cp
