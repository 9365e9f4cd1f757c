#include "controlplane/daemon/dp_link.hh"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace phigate::cp {

namespace {

int connect_unix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

dp_link::dp_link(std::string socket_path, handlers h) : path_(std::move(socket_path)), h_(std::move(h)) {}

dp_link::~dp_link() { stop(); }

void dp_link::start() { thread_ = std::thread([this] { run(); }); }

void dp_link::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void dp_link::run() {
  int fd = -1;
  ipc::line_reader reader;
  // sha256 of the last patterns message written on this connection ("" = none yet).
  std::string sent_patterns;
  while (!stop_.load()) {
    // Also while the dataplane is away: checkpoints stay due every second.
    if (h_.on_idle) h_.on_idle();
    if (fd < 0) {
      fd = connect_unix(path_);
      if (fd < 0) {
        connected_.store(false);
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      connected_.store(true);
      reader = ipc::line_reader{};
      sent_patterns.clear();  // a new dataplane process (or connection) has staged nothing
      want_push_.store(true);  // a (re)started dataplane gets everything at once
    }
    bool lost = false;
    if (want_push_.exchange(false)) {
      const ipc::snapshot s = h_.build();
      const std::shared_ptr<const ipc::patterns> p = h_.patterns ? h_.patterns() : nullptr;
      // A database is megabytes: sent once per connection and change, not with every snapshot.
      if (p && p->sha256 != sent_patterns) {
        if (write_all(fd, ipc::encode(*p))) {
          sent_patterns = p->sha256;
          ++patterns_pushes_;
        } else {
          lost = true;
        }
      }
      if (!lost) {
        if (write_all(fd, ipc::encode(s))) ++pushes_;
        else lost = true;
      }
    }
    pollfd p{fd, POLLIN, 0};
    if (!lost && ::poll(&p, 1, 100) > 0) {
      char buf[65536];
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0 || !reader.feed(buf, static_cast<size_t>(n))) {
        lost = true;
      } else {
        std::vector<ipc::audit_record> audit;
        while (auto line = reader.next()) {
          auto parsed = ipc::parse_line(*line);
          if (auto* e = std::get_if<std::string>(&parsed)) {
            std::fprintf(stderr, "phigate-cp: dataplane sent an unusable message: %s\n", e->c_str());
            continue;
          }
          const nlohmann::json& j = std::get<nlohmann::json>(parsed);
          const std::string type = j["type"].get<std::string>();
          if (type == ipc::type_audit_record) {
            auto r = ipc::decode_audit_record(std::move(std::get<nlohmann::json>(parsed)));
            if (auto* e = std::get_if<std::string>(&r)) {
              // Never acknowledge past a record that was not written: drop the connection, the
              // dataplane sends everything unacknowledged again (fail closed if it stays bad).
              std::fprintf(stderr, "phigate-cp: dataplane sent an unusable audit record (reconnecting): %s\n",
                           e->c_str());
              lost = true;
              break;
            }
            audit.push_back(std::move(std::get<ipc::audit_record>(r)));
          } else if (type == ipc::type_approval_request) {
            if (h_.on_approval_request) h_.on_approval_request(j);
          } else if (type == ipc::type_grant_used) {
            auto g = ipc::decode_grant_used(j);
            if (auto* gu = std::get_if<ipc::grant_used>(&g); gu && h_.on_grant_used) h_.on_grant_used(*gu);
          } else if (type == ipc::type_snapshot_result) {
            auto r = ipc::decode_snapshot_result(j);
            if (auto* res = std::get_if<ipc::snapshot_result>(&r)) {
              if (res->ok) applied_generation_.store(res->generation);
              else ++refused_;
              if (h_.on_result) h_.on_result(*res);
            }
          }
        }
        if (!audit.empty() && !lost) {
          ipc::audit_ack ack;
          if (h_.on_audit) ack = h_.on_audit(std::move(audit));
          else ack.error = "this control plane does not keep an audit log";
          if (!write_all(fd, ipc::encode(ack))) lost = true;
        }
      }
    }
    if (lost) {
      ::close(fd);
      fd = -1;
      connected_.store(false);
    }
  }
  if (fd >= 0) ::close(fd);
  connected_.store(false);
}

}  // namespace phigate::cp
