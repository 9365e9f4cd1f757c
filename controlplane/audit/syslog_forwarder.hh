#pragma once
// Forwards durable audit records to a remote collector as RFC 5424 syslog messages over TCP
// (optionally TLS), with RFC 6587 octet-counting framing, so the audit log also lives off the
// appliance (issue 4 section 5).
//
// Delivery is at least once. The collector protocol has no acknowledgement, so a record written
// to the socket is not known to be received: the peer may close with it unread in its receive
// buffer. The worker therefore keeps every record written on the current connection in a resend
// window until the peer's TCP stack has acknowledged its bytes (SIOCOUTQ) and the connection
// then stayed healthy for syslog_confirm_ms (a collector that closes with unread data answers
// with a reset within a round trip). When the connection fails, the window and the record being
// written are sent again, in order, on the next connection, before anything newer. Collectors
// dedupe on the record's ("lcore", "lcore_seq") or, for recordings, "session". The window holds at most queue_capacity records: when it is full,
// the oldest acknowledged record leaves early, and when none is acknowledged sending pauses (the
// collector is not reading) so the queue fills and enqueue() starts dropping. Memory is therefore
// bounded by twice queue_capacity records.
//
// Never blocks the caller: enqueue() takes a mutex that is only held for O(1) queue operations
// (never across I/O) and drops the record, counting it, when queue_capacity records are waiting.
// Record contents never appear in errors: those name the host, the step and the system or TLS
// reason only.
//
// Thread safety: enqueue(), counters(), last_error() and wait_idle() may be called from any
// thread; the destructor must not race with other calls. One worker thread per forwarder owns
// the socket; it blocks SIGPIPE for itself (a collector closing mid-write must not kill
// phigate-dp) and may block in name resolution (getaddrinfo), which the destructor then waits for.
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

namespace phigate::audit {

// How long a record's bytes must have been acknowledged by the collector's TCP stack, with the
// connection still up, before it leaves the resend window.
inline constexpr int64_t syslog_confirm_ms = 1000;
// Bound on connecting and on the TLS handshake, per attempt.
inline constexpr int64_t syslog_connect_timeout_ms = 5000;
// Ceiling of the exponential reconnect backoff (unless reconnect_ms itself is larger).
inline constexpr int64_t syslog_backoff_cap_ms = 30000;
// How long the destructor keeps trying to write what is still queued.
inline constexpr int64_t syslog_stop_flush_ms = 1000;

struct syslog_config {
  std::string host;        // collector: DNS name or IP literal
  uint16_t port = 6514;
  bool tls = false;        // TLS 1.2+ with peer verification (chain and host name or IP)
  std::string ca_file;     // PEM trust anchors when tls; empty = the system store
  std::string hostname = "phigate";     // HOSTNAME field: 1..255 printable US-ASCII, no space
  std::string app_name = "phigate-dp";  // APP-NAME field: 1..48 printable US-ASCII, no space
  int facility = 13;                    // 0..23; 13 = log audit. Records use severity 6 (info).
  size_t queue_capacity = 65536;        // records waiting (and bound of the resend window)
  int64_t reconnect_ms = 1000;          // first backoff; doubles per failure up to the cap
};

struct syslog_counters {
  uint64_t queued = 0;    // accepted by enqueue()
  uint64_t sent = 0;      // records written completely for the first time
  uint64_t dropped = 0;   // queue full, out of memory, or not (re)written when the destructor gave up
  uint64_t connects = 0;  // connections established (TCP, and the TLS handshake when tls)
  uint64_t failures = 0;  // failed connection attempts plus established connections lost
  uint64_t resent = 0;    // complete writes of records already sent once (after a lost connection)
};

// The framed message for one record: "<len> <PRI>1 TIMESTAMP HOSTNAME APP-NAME - audit - MSG",
// where len counts the octets after the space, PRI = facility * 8 + 6, TIMESTAMP is UTC with
// milliseconds ("2026-11-28T02:50:42.123Z", or "-" when time_ms is before 1970 or after 9999),
// and MSG is the record JSON verbatim. HOSTNAME and APP-NAME are "-" when empty, truncated to
// 255 and 48 octets, and bytes outside printable US-ASCII become '_' (start() rejects such
// configurations; this keeps a frame well-formed whatever it is given). Pure, any thread.
std::string syslog_frame(const syslog_config& c, const std::string& json_record, int64_t time_ms);

class syslog_forwarder {
 public:
  // Validates the configuration (and, when tls, loads the trust anchors), then starts the worker,
  // which connects in the background: a collector that is down at start is not an error.
  static std::variant<std::unique_ptr<syslog_forwarder>, std::string> start(syslog_config c);
  // Tries for up to syslog_stop_flush_ms to write what is queued (reconnecting if needed); what
  // is still unsent then is counted as dropped. Closes the connection cleanly.
  ~syslog_forwarder();
  syslog_forwarder(const syslog_forwarder&) = delete;
  syslog_forwarder& operator=(const syslog_forwarder&) = delete;

  // Queues one record (a JSON object text) stamped with time_ms (unix milliseconds). Never blocks
  // on the network; false when the record was dropped (queue full or out of memory), counted.
  bool enqueue(const std::string& json_record, int64_t time_ms) noexcept;

  syslog_counters counters() const;
  // The last connection or TLS error ("" when none yet); for the owner's status output.
  std::string last_error() const;
  // Waits until nothing is queued or waiting to be resent and no write is in progress (records in
  // the resend window count as written). False on timeout. For tests and orderly shutdown.
  bool wait_idle(std::chrono::milliseconds timeout);


 private:
  struct state;  // the worker's connection, frame in progress, resend window (in the .cc)
  struct item {
    std::string record;
    int64_t time_ms = 0;
  };
  explicit syslog_forwarder(syslog_config c);
  void run();

  const syslog_config config_;
  std::unique_ptr<state> st_;  // owned by the worker thread while it runs

  mutable std::mutex mu_;
  std::condition_variable wake_;     // worker: work arrived or stop
  std::condition_variable idle_cv_;  // wait_idle(): the worker became idle
  std::deque<item> queue_;
  syslog_counters counters_;
  std::string last_error_;
  bool busy_ = false;  // the worker holds records not yet written (in progress or to resend)
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace phigate::audit
