#include "controlplane/audit/syslog_forwarder.hh"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <new>
#include <optional>

namespace phigate::audit {

namespace {

constexpr int severity_info = 6;
constexpr size_t hostname_max = 255;  // RFC 5424 section 6.2.4
constexpr size_t app_name_max = 48;   // RFC 5424 section 6.2.5
// 9999-12-31T23:59:59.999Z: the last instant with a four-digit year (RFC 3339 date-fullyear).
constexpr int64_t last_timestamp_ms = 253402300799999;
// Worker wake-up period while idle or blocked: bounds how late it notices a dead connection,
// a stop request, or records ready to leave the resend window.
constexpr int64_t worker_tick_ms = 50;
// How often, at most, a busy worker looks at connection health and TCP acknowledgements (a poll
// and an ioctl): per record would triple the system calls.
constexpr int64_t health_every_ms = 10;

int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool printable_ascii(char c) { return c >= 33 && c <= 126; }

bool valid_header_field(const std::string& s, size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), printable_ascii);
}

void append_header_field(std::string& out, const std::string& s, size_t max) {
  if (s.empty()) {
    out += '-';
    return;
  }
  const size_t n = std::min(s.size(), max);
  for (size_t i = 0; i < n; ++i) out += printable_ascii(s[i]) ? s[i] : '_';
}

void append_timestamp(std::string& out, int64_t time_ms) {
  if (time_ms < 0 || time_ms > last_timestamp_ms) {
    out += '-';
    return;
  }
  const std::time_t secs = std::time_t(time_ms / 1000);
  std::tm tm{};
  if (gmtime_r(&secs, &tm) == nullptr) {
    out += '-';
    return;
  }
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                              tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(time_ms % 1000));
  out.append(buf, size_t(n));
}

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

std::string errno_text(int e) {
  char buf[128];
  // GNU strerror_r: returns a pointer to the message (maybe a static string, maybe buf).
  return strerror_r(e, buf, sizeof buf);
}

// The OpenSSL error queue as one line (and empties it, so later errors are not misattributed).
std::string tls_error_text() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

bool is_ip_literal(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

struct ssl_ctx_free {
  void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_free>;

std::variant<ssl_ctx_ptr, std::string> make_tls_context(const syslog_config& c) {
  ERR_clear_error();
  ssl_ctx_ptr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return "syslog: cannot create a TLS context: " + tls_error_text();
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  // Partial writes let a large record go out record by record without the worker holding the
  // whole frame hostage to one SSL_write; a moving buffer is allowed because the frame string's
  // storage may change between retries of the same bytes.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (!c.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), c.ca_file.c_str(), nullptr) != 1)
      return "syslog: cannot load ca_file " + c.ca_file + ": " + tls_error_text();
  } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
    return "syslog: cannot load the system trust store: " + tls_error_text();
  }
  return ctx;
}

std::optional<std::string> validate(const syslog_config& c) {
  if (c.host.empty()) return "syslog: host is empty";
  if (!std::all_of(c.host.begin(), c.host.end(), printable_ascii))
    return "syslog: host contains a space or a non-printable character";
  if (c.port == 0) return "syslog: port must be non-zero";
  if (c.facility < 0 || c.facility > 23) return "syslog: facility must be 0..23";
  if (!valid_header_field(c.hostname, hostname_max))
    return "syslog: hostname must be 1..255 printable US-ASCII characters without spaces";
  if (!valid_header_field(c.app_name, app_name_max))
    return "syslog: app_name must be 1..48 printable US-ASCII characters without spaces";
  if (c.queue_capacity == 0) return "syslog: queue_capacity must be positive";
  if (c.reconnect_ms <= 0) return "syslog: reconnect_ms must be positive";
  return std::nullopt;
}

}  // namespace

std::string syslog_frame(const syslog_config& c, const std::string& json_record, int64_t time_ms) {
  std::string msg;
  msg.reserve(64 + c.hostname.size() + c.app_name.size() + json_record.size());
  msg += '<';
  append_number(msg, uint64_t(std::clamp(c.facility, 0, 23) * 8 + severity_info));
  msg += ">1 ";
  append_timestamp(msg, time_ms);
  msg += ' ';
  append_header_field(msg, c.hostname, hostname_max);
  msg += ' ';
  append_header_field(msg, c.app_name, app_name_max);
  msg += " - audit - ";  // PROCID nil, MSGID, STRUCTURED-DATA nil
  msg += json_record;

  std::string frame;
  frame.reserve(msg.size() + 24);
  append_number(frame, msg.size());
  frame += ' ';
  frame += msg;
  return frame;
}

// Worker-owned: touched only by the worker thread, except stop_at_ms (set by the destructor).
struct syslog_forwarder::state {
  enum class io { done, again_read, again_write, failed };

  struct written_frame {
    std::string frame;
    uint64_t wire_end = 0;     // connection byte count once the frame was handed to the kernel
    int64_t acked_at = -1;     // when the peer's TCP stack had acknowledged all of it
  };

  const syslog_config& cfg;
  ssl_ctx_ptr tls_ctx;  // null without tls
  std::atomic<int64_t> stop_at_ms{INT64_MAX};

  int fd = -1;
  SSL* ssl = nullptr;
  uint64_t wire_written = 0;  // bytes (TLS: ciphertext) handed to the kernel on this connection
  int64_t last_health_ms = 0;

  std::deque<written_frame> window;  // written on this connection, not yet confirmed; oldest first
  size_t window_acked = 0;           // window[0, window_acked) have acked_at set
  struct retry_frame {
    std::string frame;
    bool written_before = false;  // completed once already (counted as sent, not again)
  };
  std::deque<retry_frame> retry;     // to write on the next connection first, oldest first
  std::string current;               // the frame being written
  size_t current_off = 0;
  bool current_is_resend = false;    // already counted as sent by an earlier complete write
  bool tls_write_pending = false;    // SSL_write must be retried with the same bytes

  int64_t backoff_ms;
  int64_t next_attempt_ms = 0;

  explicit state(const syslog_config& c) : cfg(c), backoff_ms(c.reconnect_ms) {}
  ~state() { drop_connection(); }

  bool connected() const { return fd >= 0; }

  // The deadline of a blocking step: its own bound, cut short once a stop was requested.
  int64_t bounded(int64_t own_deadline) const { return std::min(own_deadline, stop_at_ms.load()); }

  // Waits for `events` on fd in worker_tick_ms slices; false at the deadline.
  bool wait_fd(short events, int64_t deadline) const {
    for (;;) {
      const int64_t left = bounded(deadline) - mono_ms();
      if (left <= 0) return false;
      pollfd p{fd, events, 0};
      const int r = ::poll(&p, 1, int(std::min(left, worker_tick_ms)));
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
  }

  void drop_connection() {
    if (ssl) SSL_free(ssl);
    ssl = nullptr;
    if (fd >= 0) ::close(fd);
    fd = -1;
    tls_write_pending = false;
  }

  // Orderly end: close_notify, half-close, and close. Unread input (a TLS session ticket) is
  // drained first, since closing over unread data sends a reset, and a reset makes the collector's
  // kernel discard what it has not yet handed to the collector.
  void close_gracefully() {
    if (!connected()) return;
    char buf[4096];
    if (ssl) {
      if (!tls_write_pending) {
        while (SSL_read(ssl, buf, sizeof buf) > 0) {
        }
        SSL_shutdown(ssl);
      }
    }
    while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
    ::shutdown(fd, SHUT_WR);
    drop_connection();
  }

  // Connects to the first address that answers, then handshakes when tls. On failure returns the
  // reason and leaves no connection.
  std::optional<std::string> connect() {
    const int64_t deadline = mono_ms() + syslog_connect_timeout_ms;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(cfg.port);
    const int gai = ::getaddrinfo(cfg.host.c_str(), port.c_str(), &hints, &res);
    if (gai != 0) return "resolve " + cfg.host + ": " + ::gai_strerror(gai);
    std::string error = "connect " + cfg.host + ":" + port + ": no address";
    for (addrinfo* ai = res; ai && fd < 0; ai = ai->ai_next) {
      fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        error = "socket: " + errno_text(errno);
        continue;
      }
      int err = 0;
      if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        err = errno;
        if (err == EINPROGRESS) {
          if (!wait_fd(POLLOUT, deadline)) {
            err = ETIMEDOUT;
          } else {
            socklen_t len = sizeof err;
            if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
          }
        }
      }
      if (err != 0) {
        error = "connect " + cfg.host + ":" + port + ": " + errno_text(err);
        drop_connection();
      }
    }
    ::freeaddrinfo(res);
    if (fd < 0) return error;

    // A collector that vanishes without a reset (host down, cable out) would otherwise leave
    // records unacknowledged for the kernel's default of 15 minutes of retransmissions.
    const int one = 1, idle_s = 30, interval_s = 10, count = 3;
    const unsigned user_timeout_ms = 60000;
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof interval_s);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);

    if (tls_ctx) {
      if (auto e = handshake(deadline)) {
        drop_connection();
        return e;
      }
    }
    // The handshake's bytes count too: SIOCOUTQ covers everything this socket sent.
    wire_written = ssl ? BIO_number_written(SSL_get_wbio(ssl)) : 0;
    last_health_ms = mono_ms();
    return std::nullopt;
  }

  std::optional<std::string> handshake(int64_t deadline) {
    ERR_clear_error();
    ssl = SSL_new(tls_ctx.get());
    if (!ssl || SSL_set_fd(ssl, fd) != 1) return "TLS setup: " + tls_error_text();
    if (is_ip_literal(cfg.host)) {
      // SSL_set1_host() matches DNS names only; an IP literal must match an IP SAN.
      if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), cfg.host.c_str()) != 1)
        return "TLS setup: " + tls_error_text();
    } else if (SSL_set_tlsext_host_name(ssl, cfg.host.c_str()) != 1 || SSL_set1_host(ssl, cfg.host.c_str()) != 1) {
      return "TLS setup: " + tls_error_text();
    }
    for (;;) {
      const int r = SSL_connect(ssl);
      if (r == 1) return std::nullopt;
      const int e = SSL_get_error(ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (!wait_fd(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
          return "TLS handshake with " + cfg.host + ": timed out";
        continue;
      }
      const long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK)
        return "TLS handshake with " + cfg.host + ": certificate verification failed: " +
               X509_verify_cert_error_string(verify);
      if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        return "TLS handshake with " + cfg.host + ": " + (errno ? errno_text(errno) : "connection closed");
      return "TLS handshake with " + cfg.host + ": " + tls_error_text();
    }
  }

  // Is the connection still up? A syslog collector never talks back, so anything readable is an
  // end of stream, a reset, or TLS housekeeping (session tickets), which is read and discarded.
  std::optional<std::string> check_health() {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0) return std::nullopt;
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      return "connection to " + cfg.host + " lost: " + (err ? errno_text(err) : "hang-up");
    }
    if (p.revents & POLLRDHUP) return "connection to " + cfg.host + " closed by the collector";
    if (!(p.revents & POLLIN)) return std::nullopt;
    char buf[4096];
    if (ssl) {
      if (tls_write_pending) return std::nullopt;  // reading now could disturb the pending record
      for (;;) {
        ERR_clear_error();
        const int r = SSL_read(ssl, buf, sizeof buf);
        if (r > 0) continue;
        const int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return std::nullopt;
        if (e == SSL_ERROR_ZERO_RETURN) return "connection to " + cfg.host + " closed by the collector";
        return "connection to " + cfg.host + " lost: " + tls_error_text();
      }
    }
    for (;;) {
      const ssize_t r = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r > 0) continue;
      if (r == 0) return "connection to " + cfg.host + " closed by the collector";
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
      return "connection to " + cfg.host + " lost: " + errno_text(errno);
    }
  }

  // Marks window frames whose bytes the peer's TCP stack acknowledged, and retires those that
  // stayed acknowledged for syslog_confirm_ms on a connection still up.
  void update_window(int64_t now) {
    int unsent = 0;
    if (::ioctl(fd, SIOCOUTQ, &unsent) == 0 && unsent >= 0) {
      const uint64_t acked = wire_written - std::min<uint64_t>(wire_written, uint64_t(unsent));
      while (window_acked < window.size() && window[window_acked].wire_end <= acked) {
        window[window_acked].acked_at = now;
        ++window_acked;
      }
    }
    while (window_acked > 0 && now - window.front().acked_at >= syslog_confirm_ms) retire_front();
  }

  void retire_front() {
    window.pop_front();
    if (window_acked > 0) --window_acked;
  }

  // The connection failed: everything written on it that is not confirmed goes out again, first.
  void fail_connection() {
    drop_connection();
    if (!current.empty()) {
      retry.push_front({std::move(current), current_is_resend});
      current.clear();
      current_off = 0;
    }
    while (!window.empty()) {
      retry.push_front({std::move(window.back().frame), true});
      window.pop_back();
    }
    window_acked = 0;
  }

  io write_some() {
    const char* data = current.data() + current_off;
    const size_t len = current.size() - current_off;
    if (ssl) {
      ERR_clear_error();
      const int r = SSL_write(ssl, data, int(std::min<size_t>(len, INT_MAX)));
      if (r > 0) {
        tls_write_pending = false;
        current_off += size_t(r);
        wire_written = BIO_number_written(SSL_get_wbio(ssl));
        return io::done;
      }
      const int e = SSL_get_error(ssl, r);
      if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
        tls_write_pending = true;
        return e == SSL_ERROR_WANT_READ ? io::again_read : io::again_write;
      }
      last_io_error = "write to " + cfg.host + ": " +
                      (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 ? errno_text(errno) : tls_error_text());
      return io::failed;
    }
    for (;;) {
      const ssize_t r = ::send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (r >= 0) {
        current_off += size_t(r);
        wire_written += uint64_t(r);
        return io::done;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return io::again_write;
      last_io_error = "write to " + cfg.host + ": " + errno_text(errno);
      return io::failed;
    }
  }

  std::string last_io_error;
};

std::variant<std::unique_ptr<syslog_forwarder>, std::string> syslog_forwarder::start(syslog_config c) {
  if (auto e = validate(c)) return *e;
  try {
    ssl_ctx_ptr ctx;
    if (c.tls) {
      auto made = make_tls_context(c);
      if (auto* e = std::get_if<std::string>(&made)) return *e;
      ctx = std::move(std::get<ssl_ctx_ptr>(made));
    }
    std::unique_ptr<syslog_forwarder> f(new syslog_forwarder(std::move(c)));
    f->st_->tls_ctx = std::move(ctx);
    f->worker_ = std::thread([p = f.get()] { p->run(); });
    return f;
  } catch (const std::exception& e) {
    return std::string("syslog: cannot start the forwarder: ") + e.what();
  }
}

syslog_forwarder::syslog_forwarder(syslog_config c)
    : config_(std::move(c)), st_(std::make_unique<state>(config_)) {}

syslog_forwarder::~syslog_forwarder() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    st_->stop_at_ms.store(mono_ms() + syslog_stop_flush_ms);
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

bool syslog_forwarder::enqueue(const std::string& json_record, int64_t time_ms) noexcept {
  try {
    item it{json_record, time_ms};  // copied outside the lock
    std::unique_lock lock(mu_);
    if (stop_ || queue_.size() >= config_.queue_capacity) {
      ++counters_.dropped;
      return false;
    }
    queue_.push_back(std::move(it));
    ++counters_.queued;
    const bool was_empty = queue_.size() == 1;
    lock.unlock();
    if (was_empty) wake_.notify_one();
    return true;
  } catch (...) {  // std::bad_alloc: the record is dropped, never the caller
    std::lock_guard lock(mu_);
    ++counters_.dropped;
    return false;
  }
}

syslog_counters syslog_forwarder::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

std::string syslog_forwarder::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

bool syslog_forwarder::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [&] { return queue_.empty() && !busy_; });
}

void syslog_forwarder::run() {
  // The collector closing mid-write raises SIGPIPE in the writing thread: blocked here, the write
  // fails with EPIPE instead of killing the process (OpenSSL's socket BIO uses plain write()).
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);

  state& s = *st_;
  auto note_failure = [&](const std::string& reason) {
    std::lock_guard lock(mu_);
    ++counters_.failures;
    last_error_ = reason;
    busy_ = !s.current.empty() || !s.retry.empty();
  };

  for (;;) {
    const int64_t now = mono_ms();
    const bool stopping = s.stop_at_ms.load() != INT64_MAX;
    if (stopping) {
      bool queue_empty;
      {
        std::lock_guard lock(mu_);
        queue_empty = queue_.empty();
      }
      if ((queue_empty && s.current.empty() && s.retry.empty()) || now >= s.stop_at_ms.load()) break;
    }

    if (!s.connected()) {
      if (now < s.next_attempt_ms) {
        std::unique_lock lock(mu_);
        wake_.wait_for(lock, std::chrono::milliseconds(std::min(s.next_attempt_ms - now, worker_tick_ms)),
                       [&] { return stop_ && !stopping; });
        continue;
      }
      if (auto e = s.connect()) {
        note_failure(*e);
        s.next_attempt_ms = mono_ms() + s.backoff_ms;
        s.backoff_ms = std::min(s.backoff_ms * 2, std::max(syslog_backoff_cap_ms, config_.reconnect_ms));
      } else {
        std::lock_guard lock(mu_);
        ++counters_.connects;
      }
      continue;
    }

    if (now - s.last_health_ms >= health_every_ms) {
      s.last_health_ms = now;
      if (auto e = s.check_health()) {
        s.fail_connection();
        note_failure(*e);
        // Reconnect after the base delay: a collector that accepts and then hangs up at once
        // must not be hammered. Failed attempts after that back off exponentially.
        s.backoff_ms = config_.reconnect_ms;
        s.next_attempt_ms = now + config_.reconnect_ms;
        continue;
      }
      s.update_window(now);
    }

    if (s.current.empty()) {
      if (!s.retry.empty()) {
        s.current = std::move(s.retry.front().frame);
        s.current_is_resend = s.retry.front().written_before;
        s.retry.pop_front();
      } else {
        item it;
        {
          std::unique_lock lock(mu_);
          if (queue_.empty()) {
            busy_ = false;
            idle_cv_.notify_all();
            if (!stopping)
              wake_.wait_for(lock, std::chrono::milliseconds(worker_tick_ms),
                             [&] { return !queue_.empty() || stop_; });
            continue;
          }
          it = std::move(queue_.front());
          queue_.pop_front();
          busy_ = true;
        }
        try {
          s.current = syslog_frame(config_, it.record, it.time_ms);
        } catch (...) {  // std::bad_alloc
          std::lock_guard lock(mu_);
          ++counters_.dropped;
          continue;
        }
        s.current_is_resend = false;
      }
      s.current_off = 0;
    }

    // A window full of frames the collector has not even acknowledged at the TCP level means it
    // is not reading: wait rather than grow. Acknowledged frames can be let go early.
    if (s.current_off == 0 && !s.tls_write_pending && s.window.size() >= config_.queue_capacity) {
      if (s.window_acked > 0) {
        s.retire_front();
      } else {
        s.wait_fd(POLLIN | POLLRDHUP, now + worker_tick_ms);
        s.last_health_ms = 0;  // look again right away
        continue;
      }
    }

    switch (s.write_some()) {
      case state::io::done:
        if (s.current_off == s.current.size()) {
          s.window.push_back({std::move(s.current), s.wire_written, -1});
          s.current.clear();
          s.current_off = 0;
          std::lock_guard lock(mu_);
          ++(s.current_is_resend ? counters_.resent : counters_.sent);
          busy_ = !s.retry.empty() || !queue_.empty();
        }
        break;
      case state::io::again_read:
        s.wait_fd(POLLIN, now + worker_tick_ms);
        s.last_health_ms = 0;
        break;
      case state::io::again_write:
        s.wait_fd(POLLOUT, now + worker_tick_ms);
        s.last_health_ms = 0;
        break;
      case state::io::failed:
        s.fail_connection();
        note_failure(s.last_io_error);
        s.backoff_ms = config_.reconnect_ms;
        s.next_attempt_ms = now + config_.reconnect_ms;
        break;
    }
  }

  s.close_gracefully();
  std::lock_guard lock(mu_);
  counters_.dropped += queue_.size() + s.retry.size() + (s.current.empty() ? 0 : 1);
  queue_.clear();
  s.retry.clear();
  s.current.clear();
  busy_ = false;
  idle_cv_.notify_all();
}

}  // namespace phigate::audit
