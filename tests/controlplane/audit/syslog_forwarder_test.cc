// RFC 5424 / RFC 6587 forwarding of audit records: the exact frame (PRI, version, UTC timestamp
// with milliseconds, header fields, octet count in bytes), configuration validation, delivery to
// a collector on loopback that this test owns (plain TCP and TLS with a certificate generated
// here), at-least-once across a collector that drops the connection with records unread and
// comes back, reconnection after a clean close, queue overflow accounting, the destructor's
// flush, and refusal of an untrusted or wrong-host certificate.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controlplane/audit/syslog_forwarder.hh"

namespace phigate::audit {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr int64_t t_2026_11_28_02_50_42_123 = 1795834242123;  // date -u -d 2026-11-28T02:50:42Z +%s

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5s) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::string record(int seq, size_t pad = 0) {
  json j = {{"seq", seq}, {"kind", "decision"}, {"path", "/v1/chat/completions"}};
  if (pad) j["pad"] = std::string(pad, 'x');
  return j.dump();
}

// The fields of one RFC 5424 message (without its octet count).
struct syslog_message {
  std::string pri_version, timestamp, hostname, app_name, procid, msgid, sd, msg;
};

syslog_message split_message(const std::string& m) {
  syslog_message out;
  std::string* fields[] = {&out.pri_version, &out.timestamp, &out.hostname, &out.app_name,
                           &out.procid,      &out.msgid,     &out.sd};
  size_t pos = 0;
  for (std::string* f : fields) {
    const size_t sp = m.find(' ', pos);
    if (sp == std::string::npos) return {};
    *f = m.substr(pos, sp - pos);
    pos = sp + 1;
  }
  out.msg = m.substr(pos);
  return out;
}

std::string message_of(const std::string& frame) { return frame.substr(frame.find(' ') + 1); }

int seq_of(const std::string& message) {
  const json j = json::parse(split_message(message).msg, nullptr, false);
  return j.is_object() && j.contains("seq") ? j["seq"].get<int>() : -1;
}

// Splits off complete octet-counted frames ("<len> <msg>") from the front of `buf`.
// Returns false on a malformed count.
bool take_frames(std::string& buf, std::vector<std::string>& out) {
  for (;;) {
    const size_t sp = buf.find(' ');
    if (sp == std::string::npos) return buf.size() <= 10;
    const std::string count = buf.substr(0, sp);
    if (count.empty() || count.size() > 10 || count[0] == '0' ||
        count.find_first_not_of("0123456789") != std::string::npos)
      return false;
    const size_t len = std::stoul(count);
    if (buf.size() < sp + 1 + len) return true;
    out.push_back(buf.substr(sp + 1, len));
    buf.erase(0, sp + 1 + len);
  }
}

// A syslog collector on 127.0.0.1 owned by the test: one connection at a time (a new one replaces
// the old), frames parsed per connection, optionally TLS. Commands run on its own thread, which
// owns every socket, and are acknowledged before the call returns.
class collector {
 public:
  explicit collector(uint16_t port = 0, SSL_CTX* tls = nullptr) : tls_(tls) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(listen_fd_, 8) == 0;
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~collector() {
    stop_ = true;
    thread_.join();
    close_connection();
    ::close(listen_fd_);
  }

  bool ok() const { return ok_; }
  uint16_t port() const { return port_; }
  std::vector<std::string> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  std::vector<int> seqs() const {
    std::vector<int> out;
    for (const auto& m : messages()) out.push_back(seq_of(m));
    return out;
  }
  bool wait_messages(size_t n, std::chrono::milliseconds timeout = 5s) const {
    return eventually([&] { return messages().size() >= n; }, timeout);
  }
  int connections() const { return connections_; }
  int handshake_failures() const { return handshake_failures_; }
  bool framing_error() const { return framing_error_; }

  // Stops reading: what arrives stays unread in the kernel's receive buffer.
  void pause_reading() { command(cmd::pause); }
  // Closes the current connection (a reset when data is unread, else a FIN); keeps listening.
  void close_connection_now() { command(cmd::close); }

 private:
  enum class cmd { none, pause, close };

  void command(cmd c) {
    {
      std::lock_guard lock(mu_);
      cmd_ = c;
    }
    ASSERT_TRUE(eventually([&] {
      std::lock_guard lock(mu_);
      return cmd_ == cmd::none;
    }));
  }

  void close_connection() {
    if (ssl_) SSL_free(ssl_);
    ssl_ = nullptr;
    if (conn_fd_ >= 0) ::close(conn_fd_);
    conn_fd_ = -1;
    buf_.clear();
  }

  void accept_one() {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    close_connection();
    ++connections_;
    conn_fd_ = fd;
    if (tls_) {
      timeval tv{2, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      ssl_ = SSL_new(tls_);
      SSL_set_fd(ssl_, fd);
      if (SSL_accept(ssl_) != 1) {
        ERR_clear_error();
        ++handshake_failures_;
        close_connection();
        return;
      }
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }

  void read_available() {
    char chunk[16384];
    for (;;) {
      ssize_t n;
      if (ssl_) {
        n = SSL_read(ssl_, chunk, sizeof chunk);
        if (n <= 0) {
          const int e = SSL_get_error(ssl_, int(n));
          ERR_clear_error();
          if (e == SSL_ERROR_WANT_READ) break;
          close_connection();
          return;
        }
      } else {
        n = ::recv(conn_fd_, chunk, sizeof chunk, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
          close_connection();
          return;
        }
      }
      buf_.append(chunk, size_t(n));
      std::vector<std::string> frames;
      if (!take_frames(buf_, frames)) framing_error_ = true;
      std::lock_guard lock(mu_);
      messages_.insert(messages_.end(), frames.begin(), frames.end());
    }
  }

  void run() {
    bool paused = false;
    while (!stop_) {
      {
        std::lock_guard lock(mu_);
        if (cmd_ == cmd::pause) paused = true;
        if (cmd_ == cmd::close) close_connection();
        cmd_ = cmd::none;
      }
      pollfd p[2] = {{listen_fd_, POLLIN, 0}, {conn_fd_, short(paused ? 0 : POLLIN), 0}};
      if (::poll(p, conn_fd_ >= 0 ? 2 : 1, 5) <= 0) continue;
      if (p[0].revents & POLLIN) {
        accept_one();
        paused = false;
        continue;
      }
      if (conn_fd_ >= 0 && p[1].revents) read_available();
    }
  }

  SSL_CTX* tls_;
  int listen_fd_ = -1;
  int conn_fd_ = -1;
  SSL* ssl_ = nullptr;
  uint16_t port_ = 0;
  bool ok_ = false;
  std::string buf_;  // collector thread only
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> handshake_failures_{0};
  std::atomic<bool> framing_error_{false};
  mutable std::mutex mu_;
  cmd cmd_ = cmd::none;
  std::vector<std::string> messages_;
  std::thread thread_;
};

std::unique_ptr<syslog_forwarder> must_start(syslog_config c) {
  auto r = syslog_forwarder::start(std::move(c));
  if (auto* e = std::get_if<std::string>(&r)) {
    ADD_FAILURE() << *e;
    return nullptr;
  }
  return std::move(std::get<std::unique_ptr<syslog_forwarder>>(r));
}

syslog_config local_config(uint16_t port) {
  syslog_config c;
  c.host = "127.0.0.1";
  c.port = port;
  c.reconnect_ms = 20;
  return c;
}

// ---- frame format ----

TEST(SyslogFrame, ExactFormatWithOctetCount) {
  const std::string rec = R"({"seq":7,"decision":"allow"})";
  const std::string msg = R"(<110>1 2026-11-28T02:50:42.123Z phigate phigate-dp - audit - {"seq":7,"decision":"allow"})";
  EXPECT_EQ(syslog_frame(syslog_config{}, rec, t_2026_11_28_02_50_42_123), std::to_string(msg.size()) + " " + msg);
}

TEST(SyslogFrame, PriorityIsFacilityTimesEightPlusInfo) {
  syslog_config c;
  for (auto [facility, pri] : {std::pair{0, "<6>1 "}, std::pair{1, "<14>1 "}, std::pair{13, "<110>1 "},
                               std::pair{16, "<134>1 "}, std::pair{23, "<190>1 "}}) {
    c.facility = facility;
    const std::string m = message_of(syslog_frame(c, "{}", 0));
    EXPECT_EQ(m.substr(0, std::string(pri).size()), pri) << "facility " << facility;
  }
}

TEST(SyslogFrame, TimestampIsUtcWithMilliseconds) {
  const syslog_config c;
  auto stamp = [&](int64_t ms) { return split_message(message_of(syslog_frame(c, "{}", ms))).timestamp; };
  EXPECT_EQ(stamp(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(stamp(5), "1970-01-01T00:00:00.005Z");
  EXPECT_EQ(stamp(951868799000 + 999), "2000-02-29T23:59:59.999Z");  // leap day, last millisecond
  EXPECT_EQ(stamp(951868800000), "2000-03-01T00:00:00.000Z");
  EXPECT_EQ(stamp(t_2026_11_28_02_50_42_123), "2026-11-28T02:50:42.123Z");
  EXPECT_EQ(stamp(253402300799999), "9999-12-31T23:59:59.999Z");
  // Not representable as an RFC 3339 four-digit year: the NILVALUE, never a malformed stamp.
  EXPECT_EQ(stamp(-1), "-");
  EXPECT_EQ(stamp(253402300800000), "-");
}

TEST(SyslogFrame, OctetCountCountsBytesNotCharacters) {
  const syslog_config c;
  // Multi-byte UTF-8 (2, 3 and 4 bytes) and a record over 64 KiB.
  for (const std::string& rec : {std::string(R"({"seq":1,"name":"Zoë 漢字 😀"})"), record(2, 70000)}) {
    const std::string f = syslog_frame(c, rec, 0);
    std::string buf = f;
    std::vector<std::string> frames;
    ASSERT_TRUE(take_frames(buf, frames));
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_TRUE(buf.empty()) << "octet count too small";
    EXPECT_EQ(std::stoul(f.substr(0, f.find(' '))), f.size() - f.find(' ') - 1);
    EXPECT_EQ(split_message(frames[0]).msg, rec);
  }
}

TEST(SyslogFrame, HeaderFieldsAreConfiguredAndAlwaysWellFormed) {
  syslog_config c;
  c.hostname = "gw-01.example.org";
  c.app_name = "phigate-dp-2";
  auto m = split_message(message_of(syslog_frame(c, "{}", 0)));
  EXPECT_EQ(m.hostname, "gw-01.example.org");
  EXPECT_EQ(m.app_name, "phigate-dp-2");
  EXPECT_EQ(m.procid, "-");
  EXPECT_EQ(m.msgid, "audit");
  EXPECT_EQ(m.sd, "-");
  // start() rejects these; the pure formatter still never emits a space inside a header field.
  c.hostname = "";
  c.app_name = "a b\x01" + std::string(60, 'z');
  m = split_message(message_of(syslog_frame(c, "{}", 0)));
  EXPECT_EQ(m.hostname, "-");
  EXPECT_EQ(m.app_name, "a_b_" + std::string(44, 'z'));
  EXPECT_EQ(m.msgid, "audit");
}

// ---- configuration ----

TEST(SyslogForwarderStart, RejectsInvalidConfiguration) {
  struct bad {
    const char* what;
    std::function<void(syslog_config&)> edit;
    const char* expect;
  };
  const bad cases[] = {
      {"empty host", [](syslog_config& c) { c.host = ""; }, "host"},
      {"host with space", [](syslog_config& c) { c.host = "a b"; }, "host"},
      {"port 0", [](syslog_config& c) { c.port = 0; }, "port"},
      {"facility 24", [](syslog_config& c) { c.facility = 24; }, "facility"},
      {"facility -1", [](syslog_config& c) { c.facility = -1; }, "facility"},
      {"hostname empty", [](syslog_config& c) { c.hostname = ""; }, "hostname"},
      {"hostname with space", [](syslog_config& c) { c.hostname = "phi gate"; }, "hostname"},
      {"hostname 256", [](syslog_config& c) { c.hostname = std::string(256, 'h'); }, "hostname"},
      {"app_name 49", [](syslog_config& c) { c.app_name = std::string(49, 'a'); }, "app_name"},
      {"app_name non-ASCII", [](syslog_config& c) { c.app_name = "phigate\xc3\xa9"; }, "app_name"},
      {"queue 0", [](syslog_config& c) { c.queue_capacity = 0; }, "queue_capacity"},
      {"reconnect 0", [](syslog_config& c) { c.reconnect_ms = 0; }, "reconnect_ms"},
      {"missing CA file",
       [](syslog_config& c) {
         c.tls = true;
         c.ca_file = "/nonexistent/phigate-ca.pem";
       },
       "ca_file"},
  };
  for (const auto& b : cases) {
    syslog_config c = local_config(6514);
    b.edit(c);
    auto r = syslog_forwarder::start(c);
    ASSERT_TRUE(std::holds_alternative<std::string>(r)) << b.what;
    EXPECT_NE(std::get<std::string>(r).find(b.expect), std::string::npos) << b.what << ": " << std::get<std::string>(r);
  }
  // Boundaries that are valid.
  syslog_config c = local_config(6514);
  c.hostname = std::string(255, 'h');
  c.app_name = std::string(48, 'a');
  c.facility = 23;
  EXPECT_TRUE(std::holds_alternative<std::unique_ptr<syslog_forwarder>>(syslog_forwarder::start(c)));
}

// ---- delivery over TCP ----

TEST(SyslogForwarder, DeliversEachRecordAsOneRfc5424Frame) {
  collector col;
  ASSERT_TRUE(col.ok());
  auto f = must_start(local_config(col.port()));
  ASSERT_TRUE(f);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(f->enqueue(record(i), t_2026_11_28_02_50_42_123 + i));
  ASSERT_TRUE(f->wait_idle(5s));
  ASSERT_TRUE(col.wait_messages(100));
  const auto msgs = col.messages();
  ASSERT_EQ(msgs.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    const auto m = split_message(msgs[i]);
    EXPECT_EQ(m.pri_version, "<110>1");
    char ts[32];
    std::snprintf(ts, sizeof ts, "2026-11-28T02:50:42.%03dZ", 123 + i);
    EXPECT_EQ(m.timestamp, ts);
    EXPECT_EQ(m.hostname, "phigate");
    EXPECT_EQ(m.app_name, "phigate-dp");
    EXPECT_EQ(m.procid, "-");
    EXPECT_EQ(m.msgid, "audit");
    EXPECT_EQ(m.sd, "-");
    EXPECT_EQ(m.msg, record(i)) << "in order, verbatim";
  }
  EXPECT_FALSE(col.framing_error());
  const auto n = f->counters();
  EXPECT_EQ(n.queued, 100u);
  EXPECT_EQ(n.sent, 100u);
  EXPECT_EQ(n.dropped, 0u);
  EXPECT_EQ(n.connects, 1u);
  EXPECT_EQ(n.failures, 0u);
  EXPECT_EQ(n.resent, 0u);
  EXPECT_EQ(col.connections(), 1);
}

TEST(SyslogForwarder, RecordOver64KiBArrivesWhole) {
  collector col;
  auto f = must_start(local_config(col.port()));
  ASSERT_TRUE(f);
  const std::string big = record(1, 300 * 1024);
  ASSERT_TRUE(f->enqueue(big, 0));
  ASSERT_TRUE(f->enqueue(record(2), 0));
  ASSERT_TRUE(col.wait_messages(2));
  EXPECT_EQ(split_message(col.messages()[0]).msg, big);
  EXPECT_EQ(seq_of(col.messages()[1]), 2);
  EXPECT_FALSE(col.framing_error());
}

// Regression for at-least-once: records the collector's kernel had acknowledged but the collector
// never read are lost when it closes (a reset); they must come again on the next connection, in
// order, as must those enqueued while the collector was away.
TEST(SyslogForwarder, ResendsUnconfirmedRecordsAfterCollectorDropsAndReturns) {
  auto col = std::make_unique<collector>();
  const uint16_t port = col->port();
  auto f = must_start(local_config(port));
  ASSERT_TRUE(f);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(f->enqueue(record(i), i));
  ASSERT_TRUE(col->wait_messages(50));

  col->pause_reading();
  for (int i = 50; i < 100; ++i) ASSERT_TRUE(f->enqueue(record(i), i));
  ASSERT_TRUE(f->wait_idle(5s));  // written: the forwarder cannot know they were never read
  // Several health ticks: the collector's kernel has acknowledged them by now, so only the
  // confirmation delay (syslog_confirm_ms) keeps them for resending.
  std::this_thread::sleep_for(200ms);
  const auto first = col->seqs();
  EXPECT_EQ(first.size(), 50u) << "the paused collector read nothing more";
  col.reset();  // closes over unread data, stops listening

  for (int i = 100; i < 150; ++i) ASSERT_TRUE(f->enqueue(record(i), i));
  ASSERT_TRUE(eventually([&] { return f->counters().failures >= 1; }));
  EXPECT_FALSE(f->wait_idle(10ms));

  collector back(port);
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(eventually([&] {
    const auto s = back.seqs();
    return std::set<int>(s.begin(), s.end()).size() >= 100 && std::set<int>(s.begin(), s.end()).count(149);
  }));
  const auto second = back.seqs();
  std::set<int> all(first.begin(), first.end());
  all.insert(second.begin(), second.end());
  for (int i = 0; i < 150; ++i) EXPECT_TRUE(all.count(i)) << "record " << i << " lost";
  for (int i = 50; i < 150; ++i) EXPECT_TRUE(std::count(second.begin(), second.end(), i)) << i;
  EXPECT_TRUE(std::is_sorted(second.begin(), second.end())) << "resent in order, before newer records";
  EXPECT_FALSE(back.framing_error());

  ASSERT_TRUE(f->wait_idle(2s));
  const auto n = f->counters();
  EXPECT_EQ(n.queued, 150u);
  EXPECT_EQ(n.sent, 150u);
  EXPECT_GE(n.resent, 50u);
  EXPECT_EQ(n.dropped, 0u);
  EXPECT_GE(n.connects, 2u);
  EXPECT_GE(n.failures, 1u);
  EXPECT_FALSE(f->last_error().empty());
}

TEST(SyslogForwarder, ReconnectsAfterCleanCloseToTheSameListener) {
  collector col;
  auto f = must_start(local_config(col.port()));
  ASSERT_TRUE(f);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(f->enqueue(record(i), i));
  ASSERT_TRUE(col.wait_messages(10));
  col.close_connection_now();  // everything read: an orderly FIN
  ASSERT_TRUE(eventually([&] { return f->counters().connects >= 2; }));
  EXPECT_GE(f->counters().failures, 1u);
  EXPECT_NE(f->last_error().find("closed by the collector"), std::string::npos) << f->last_error();
  for (int i = 10; i < 20; ++i) ASSERT_TRUE(f->enqueue(record(i), i));
  ASSERT_TRUE(eventually([&] {
    const auto s = col.seqs();
    return std::count(s.begin(), s.end(), 19) == 1;
  }));
  const auto s = col.seqs();
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(std::count(s.begin(), s.end(), i)) << i;
  EXPECT_EQ(col.connections(), 2);
}

TEST(SyslogForwarder, QueueOverflowDropsAndCountsWithoutBlocking) {
  // Bound but not listening: every connection attempt is refused.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);

  syslog_config c = local_config(ntohs(a.sin_port));
  c.queue_capacity = 8;
  auto f = must_start(c);
  ASSERT_TRUE(f);
  int accepted = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) accepted += f->enqueue(record(i), i);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 100ms);
  EXPECT_EQ(accepted, 8);
  ASSERT_TRUE(eventually([&] { return f->counters().failures >= 2; }));
  auto n = f->counters();
  EXPECT_EQ(n.queued, 8u);
  EXPECT_EQ(n.dropped, 12u);
  EXPECT_EQ(n.sent, 0u);
  EXPECT_EQ(n.connects, 0u);
  EXPECT_NE(f->last_error().find("refused"), std::string::npos) << f->last_error();
  EXPECT_FALSE(f->wait_idle(20ms));

  const auto t1 = std::chrono::steady_clock::now();
  f.reset();  // gives up after its flush budget
  const auto took = std::chrono::steady_clock::now() - t1;
  EXPECT_GE(took, std::chrono::milliseconds(syslog_stop_flush_ms - 100));
  EXPECT_LT(took, std::chrono::milliseconds(syslog_stop_flush_ms + 1000));
  ::close(fd);
}

TEST(SyslogForwarder, DestructorFlushesWhatIsQueued) {
  collector col;
  {
    auto f = must_start(local_config(col.port()));
    ASSERT_TRUE(f);
    for (int i = 0; i < 2000; ++i) ASSERT_TRUE(f->enqueue(record(i), i));
  }
  ASSERT_TRUE(col.wait_messages(2000));
  const auto s = col.seqs();
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(s[size_t(i)], i);
}

// ---- TLS ----

struct tls_files {
  std::filesystem::path dir;
  std::string cert, key;
};

// A self-signed P-256 certificate (its own trust anchor) with the given subjectAltName.
tls_files make_cert(const std::filesystem::path& dir, const std::string& tag, const std::string& san) {
  tls_files out{dir, (dir / (tag + ".crt")).string(), (dir / (tag + ".key")).string()};
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  EXPECT_NE(key, nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_gmtime_adj(X509_getm_notBefore(x), -600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(tag.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  const std::pair<int, std::string> exts[] = {{NID_subject_alt_name, san}, {NID_basic_constraints, "critical,CA:TRUE"}};
  for (const auto& [nid, value] : exts) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    EXPECT_NE(e, nullptr);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  }
  EXPECT_GT(X509_sign(x, key, EVP_sha256()), 0);
  FILE* cf = std::fopen(out.cert.c_str(), "w");
  PEM_write_X509(cf, x);
  std::fclose(cf);
  FILE* kf = std::fopen(out.key.c_str(), "w");
  PEM_write_PrivateKey(kf, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(kf);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

class SyslogForwarderTls : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/phigate-syslog-tls-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ip_cert_ = make_cert(dir_, "collector", "IP:127.0.0.1");
    other_cert_ = make_cert(dir_, "other", "IP:127.0.0.1");
    dns_cert_ = make_cert(dir_, "dns", "DNS:collector.example");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static SSL_CTX* server_ctx(const tls_files& f) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    EXPECT_EQ(SSL_CTX_use_certificate_file(ctx, f.cert.c_str(), SSL_FILETYPE_PEM), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx, f.key.c_str(), SSL_FILETYPE_PEM), 1);
    return ctx;
  }

  syslog_config tls_config(uint16_t port, const std::string& ca) {
    syslog_config c = local_config(port);
    c.tls = true;
    c.ca_file = ca;
    return c;
  }

  std::filesystem::path dir_;
  tls_files ip_cert_, other_cert_, dns_cert_;
};

TEST_F(SyslogForwarderTls, DeliversOverTlsToAVerifiedCollector) {
  SSL_CTX* ctx = server_ctx(ip_cert_);
  {
    collector col(0, ctx);
    auto f = must_start(tls_config(col.port(), ip_cert_.cert));
    ASSERT_TRUE(f);
    const std::string big = record(25, 100 * 1024);  // several TLS records, partial writes
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(f->enqueue(i == 25 ? big : record(i), t_2026_11_28_02_50_42_123));
    ASSERT_TRUE(col.wait_messages(50));
    const auto msgs = col.messages();
    for (int i = 0; i < 50; ++i) {
      const auto m = split_message(msgs[size_t(i)]);
      EXPECT_EQ(m.pri_version, "<110>1");
      EXPECT_EQ(m.timestamp, "2026-11-28T02:50:42.123Z");
      EXPECT_EQ(m.msg, i == 25 ? big : record(i));
    }
    EXPECT_FALSE(col.framing_error());
    ASSERT_TRUE(f->wait_idle(2s));
    const auto n = f->counters();
    EXPECT_EQ(n.sent, 50u);
    EXPECT_EQ(n.connects, 1u);
    EXPECT_EQ(n.failures, 0u);
    EXPECT_EQ(col.handshake_failures(), 0);
  }
  SSL_CTX_free(ctx);
}

TEST_F(SyslogForwarderTls, RefusesACollectorNotSignedByTheConfiguredCa) {
  SSL_CTX* ctx = server_ctx(ip_cert_);
  {
    collector col(0, ctx);
    auto f = must_start(tls_config(col.port(), other_cert_.cert));
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->enqueue(record(1), 0));
    ASSERT_TRUE(eventually([&] { return f->counters().failures >= 2; }));
    const auto n = f->counters();
    EXPECT_EQ(n.connects, 0u);
    EXPECT_EQ(n.sent, 0u);
    EXPECT_NE(f->last_error().find("certificate verification failed"), std::string::npos) << f->last_error();
    EXPECT_GE(col.connections(), 1);
    EXPECT_TRUE(col.messages().empty());
    f.reset();
  }
  SSL_CTX_free(ctx);
}

TEST_F(SyslogForwarderTls, RefusesACertificateIssuedForAnotherHost) {
  // Trusted chain, but the certificate names collector.example, not 127.0.0.1.
  SSL_CTX* ctx = server_ctx(dns_cert_);
  {
    collector col(0, ctx);
    auto f = must_start(tls_config(col.port(), dns_cert_.cert));
    ASSERT_TRUE(f);
    ASSERT_TRUE(eventually([&] { return f->counters().failures >= 1; }));
    EXPECT_EQ(f->counters().connects, 0u);
    EXPECT_NE(f->last_error().find("certificate verification failed"), std::string::npos) << f->last_error();
    EXPECT_TRUE(col.messages().empty());
    f.reset();
  }
  SSL_CTX_free(ctx);
}

}  // namespace
}  // namespace phigate::audit
