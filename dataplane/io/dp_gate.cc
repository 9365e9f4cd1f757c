#include "dataplane/io/dp_gate.hh"

#include <fcntl.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <unordered_map>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "controlplane/audit/audit_key.hh"
#include "controlplane/audit/audit_log.hh"
#include "controlplane/audit/event_drain.hh"
#include "controlplane/audit/event_uplink.hh"
#include "controlplane/audit/syslog_forwarder.hh"
#include "controlplane/auth/crypto_util.hh"
#include "controlplane/auth/jwk.hh"
#include "controlplane/auth/jwt.hh"
#include "controlplane/auth/token_cache.hh"
#include "controlplane/ipc/ipc_contract.hh"
#include "controlplane/ipc/secret_store.hh"
#include "controlplane/recording/recording_key.hh"
#include "controlplane/recording/recording_writer.hh"
#include "dataplane/gate/record_ring.hh"
#include "dataplane/gate/request_gate.hh"

namespace phigate::io {

namespace {

using ipc::read_file;

int64_t unix_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

void sha256(const uint8_t* d, size_t n, uint8_t out[32]) { SHA256(d, n, out); }
bool random_bytes(uint8_t* out, size_t n) { return RAND_bytes(out, static_cast<int>(n)) == 1; }

struct grant_entry {
  std::string id, subject, route;
  uint8_t digest[32] = {};
  int64_t expires_s = 0;
  bool one_time = true;
  // Set by the first worker that lets a one-time grant through. Shared by every worker, and by
  // every later snapshot that still lists this id (publish() carries it over), so a grant is used
  // once across workers and across snapshot swaps, before the control plane drops it.
  std::shared_ptr<std::atomic<bool>> used = std::make_shared<std::atomic<bool>>(false);
};

// Everything a worker reads, immutable once published.
struct dp_state {
  uint64_t generation = 0;
  std::unique_ptr<const policy::snapshot> policy;
  gate::credential_store credentials;
  std::vector<gate::resolved_profile> profiles;  // the policy's masking profiles, against the db
  gate::gate_snapshot view;  // points into this object
  bool identity = false;
  auth::jwk_set keys;
  auth::jwt_policy jwt;
  std::vector<grant_entry> grants;
};

}  // namespace

// One worker's token verification: cache hit without allocation; a miss verifies the JWS. The
// cache is cleared when the snapshot (and so perhaps the keys) changes.
struct worker_identity {
  const std::atomic<const dp_state*>* state = nullptr;
  auth::token_cache cache;
  uint64_t cache_generation = 0;
  std::vector<std::string_view> groups;
  explicit worker_identity(size_t capacity) : cache(capacity, 300) { groups.reserve(256); }

  gate::identity fill(const auth::verified_token& t) {
    groups.clear();
    for (const auto& g : t.groups) {
      if (groups.size() == groups.capacity()) break;
      groups.push_back(g);
    }
    gate::identity id;
    id.verified = true;
    id.subject = t.subject;
    id.groups = groups.data();
    id.group_count = static_cast<uint32_t>(groups.size());
    return id;
  }
  static gate::identity verify(void* ctx, std::string_view token, int64_t now_s) {
    auto& w = *static_cast<worker_identity*>(ctx);
    const dp_state* st = w.state->load(std::memory_order_acquire);
    gate::identity id;
    if (st == nullptr || !st->identity) {
      id.error = "no_identity_provider";
      return id;
    }
    if (st->generation != w.cache_generation) {
      w.cache.clear();
      w.cache_generation = st->generation;
    }
    if (const auth::verified_token* t = w.cache.find(token, now_s)) return w.fill(*t);
    auto r = auth::jwt_verify(token, st->keys, st->jwt, now_s);
    if (auto* err = std::get_if<auth::jwt_error>(&r)) {
      id.error = auth::jwt_error_name(*err);
      return id;
    }
    w.cache.insert(token, std::move(std::get<auth::verified_token>(r)), now_s);
    if (const auth::verified_token* t = w.cache.find(token, now_s)) return w.fill(*t);
    id.error = "cache";
    return id;
  }
};

// Grants are checked against the snapshot; a one-time grant is claimed with one atomic exchange
// on its shared flag (lock-free, no allocation), so exactly one request across all workers gets
// it; the control plane then consumes it durably (grant_used) and drops it from later snapshots.
struct worker_grants {
  const std::atomic<const dp_state*>* state = nullptr;
  static std::string_view check(void* ctx, std::string_view id, std::string_view subject, std::string_view route,
                                const uint8_t digest[32], int64_t now_s) {
    auto& w = *static_cast<worker_grants*>(ctx);
    const dp_state* st = w.state->load(std::memory_order_acquire);
    if (st == nullptr) return "unknown";
    for (const grant_entry& g : st->grants) {
      if (g.id != id) continue;
      if (now_s >= g.expires_s) return "expired";
      if (g.subject != subject) return "subject_mismatch";
      if (g.route != route) return "route_mismatch";
      if (std::memcmp(g.digest, digest, 32) != 0) return "digest_mismatch";
      if (g.one_time && g.used->exchange(true, std::memory_order_acq_rel)) return "consumed";
      return {};
    }
    return "unknown";
  }
};

// One worker's recording tap: copies what leaves into its ring (dropped and counted when full).
struct worker_recorder {
  std::unique_ptr<gate::record_ring> ring;
  std::atomic<uint64_t> dropped{0};
  static void push(worker_recorder& w, const gate::record_header& h, const uint8_t* p) {
    if (!w.ring->push(h, p)) w.dropped.fetch_add(1, std::memory_order_relaxed);
  }
  static void on_bytes(void* ctx, uint64_t conn, bool response, uint64_t off, const uint8_t* b, uint32_t n, uint64_t now) {
    gate::record_header h{};
    h.kind = gate::record_kind::bytes;
    h.response = response;
    h.len = n;
    h.conn_id = conn;
    h.stream_off = off;
    h.t_ns = now;
    push(*static_cast<worker_recorder*>(ctx), h, b);
  }
  static void on_span(void* ctx, uint64_t conn, uint64_t off, uint32_t len, uint32_t pattern, uint32_t db,
                      uint64_t now) {
    gate::record_header h{};
    h.kind = gate::record_kind::span;
    h.len = len;
    h.pattern = pattern;
    h.db = db;
    h.conn_id = conn;
    h.stream_off = off;
    h.t_ns = now;
    push(*static_cast<worker_recorder*>(ctx), h, nullptr);
  }
  static void on_end(void* ctx, uint64_t conn, uint64_t now) {
    gate::record_header h{};
    h.kind = gate::record_kind::end;
    h.conn_id = conn;
    h.t_ns = now;
    push(*static_cast<worker_recorder*>(ctx), h, nullptr);
  }
};

// A connection being recorded (drain thread only).
struct open_recording {
  std::unique_ptr<recording::recording_writer> writer;
  uint64_t recorded[2] = {0, 0};  // [request, response] stream bytes already appended
  struct span { uint64_t off; uint32_t len; uint32_t pattern; uint32_t db; };
  std::vector<span> spans;        // response findings not yet attached to bytes
  uint64_t gaps = 0;              // bytes lost to a full ring
};

struct dp_gate {
  dp_config cfg;
  dp_patterns* patterns = nullptr;
  std::function<int64_t(unsigned, int)> open_bodies;
  std::function<void(int, uint32_t)> retire_slot;
  // A snapshot naming a new pattern database waits here until the previous swap settled (no
  // body open on the database before the current one); a newer one replaces it.
  std::optional<ipc::snapshot> pending;
  uint64_t patterns_refused = 0, patterns_waits = 0;
  std::atomic<const dp_state*> state{nullptr};
  std::atomic<const gate::gate_snapshot*> view{nullptr};
  std::vector<std::unique_ptr<dp_state>> live;  // the current state and retired ones not yet freed
  struct retired {
    const dp_state* st;
    std::vector<uint64_t> seen;  // worker quiescent counters at retirement
  };
  std::vector<retired> retiring;
  std::vector<std::unique_ptr<std::atomic<uint64_t>>> quiescent;
  std::vector<std::unique_ptr<worker_identity>> ids;
  std::vector<std::unique_ptr<worker_grants>> grants;
  std::vector<std::unique_ptr<gate::request_gate>> gates;
  // Exactly one of these consumes the audit rings: the local log (drain), or the uplink to
  // phigate-cp, which keeps the log and acknowledges each record once durable.
  std::unique_ptr<audit::audit_writer> audit;
  std::unique_ptr<audit::event_drain> drain;
  std::unique_ptr<audit::event_uplink> uplink;
  std::thread drainer;
  std::atomic<bool> stop{false};
  std::atomic<bool> stop_final{false};  // uplink: after the last acknowledgements were awaited
  std::atomic<bool> drain_failed{false};
  // Uplink state shared between the main thread (control socket) and the drain thread (owner of
  // the uplink). link_epoch changes with every connect and disconnect: lines encoded for an
  // older connection are dropped and the uplink sends everything unacknowledged again.
  std::atomic<bool> audit_up{false};     // a control plane is connected (read by the gates)
  std::atomic<uint64_t> link_epoch{0};
  std::mutex uplink_mu;
  std::string uplink_out;                // audit_record lines for the current connection
  std::vector<ipc::audit_ack> acks;      // received, for the drain thread
  std::string cp_audit_error;            // the control plane's last refusal (main thread)
  // Wakes the main thread's poll when the drain thread has lines to send, so a held request's
  // record leaves at once instead of at the next poll timeout.
  int wake_fd = -1;
  std::atomic<uint64_t> up_acked{0}, up_sent{0}, up_resent{0}, up_owner_dropped{0}, up_backlog{0}, up_refusals{0};
  session::request_hold_config hold;
  // Control socket.
  int listen_fd = -1, peer_fd = -1;
  ipc::line_reader reader;
  std::mutex outbox_mu;
  std::deque<std::string> outbox;  // lines for the control plane (approval requests, grant use)
  std::string pending_write;
  uint64_t snapshots_applied = 0, snapshots_refused = 0, outbox_dropped = 0;
  // Recordings.
  std::vector<std::unique_ptr<worker_recorder>> recorders;
  std::optional<recording::recording_key> rec_key;
  std::unordered_map<uint64_t, open_recording> recordings;  // key: worker << 56 | conn id
  std::unordered_map<uint64_t, nlohmann::json> flows;       // request facts by the same key
  int64_t wall_offset_ns = 0;
  uint64_t boot_nonce = 0;
  std::atomic<uint64_t> recordings_written{0}, recordings_failed{0};
  std::unique_ptr<audit::syslog_forwarder> syslog;  // durable records also go off the appliance
};

namespace {
void forward_record(dp_gate& g, const nlohmann::json& rec) {
  if (!g.syslog) return;
  g.syslog->enqueue(rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), unix_ms());
}
}  // namespace

void dp_gate_deleter::operator()(dp_gate* g) const {
  if (g == nullptr) return;
  if (g->listen_fd >= 0) {
    ::close(g->listen_fd);
    ::unlink(g->cfg.control_socket.c_str());
  }
  if (g->peer_fd >= 0) ::close(g->peer_fd);
  if (g->wake_fd >= 0) ::close(g->wake_fd);
  delete g;
}

namespace {

// Builds a state from a snapshot message. Errors name the part and never a value. The policy's
// masking profiles are resolved against the loaded pattern db: an entity the db does not know
// refuses the snapshot (the running one stays), rather than masking other than the author meant.
std::variant<std::unique_ptr<dp_state>, std::string> build_state(const ipc::snapshot& m, const scan::pattern_db* db) {
  auto st = std::make_unique<dp_state>();
  st->generation = m.generation;
  policy::compile_result c = policy::compile(m.policy_text, m.policy_name.empty() ? "policy" : m.policy_name);
  if (!c.error.empty()) return c.error;
  st->policy = std::move(c.snap);
  {
    gate::profile_resolution pr = gate::resolve_profiles(*st->policy, db);
    if (!pr.error.empty()) return (m.policy_name.empty() ? std::string("policy") : m.policy_name) + ": " + pr.error;
    st->profiles = std::move(pr.profiles);
  }
  for (const auto& [name, value] : m.credentials) st->credentials.add(name, value);
  if (!m.jwks_text.empty()) {
    auto k = auth::jwks_parse(m.jwks_text);
    if (auto* e = std::get_if<auth::jwk_error>(&k)) return "jwks: " + e->where + ": " + e->reason;
    st->keys = std::move(std::get<auth::jwk_set>(k));
    st->jwt.issuer = m.issuer;
    st->jwt.audience = m.audience;
    st->jwt.groups_claim = m.groups_claim.empty() ? "groups" : m.groups_claim;
    if (auto e = auth::jwt_policy_check(st->jwt)) return "identity: " + *e;
    st->identity = true;
  }
  for (const ipc::grant& g : m.grants) {
    grant_entry e;
    e.id = g.approval_id;
    e.subject = g.subject;
    e.route = g.route;
    e.expires_s = g.expires_s;
    e.one_time = g.one_time;
    auto raw = auth::hex_decode(g.body_sha256);
    if (!raw || raw->size() != 32) return "grants: body_sha256 of " + g.approval_id + " is not 32 bytes";
    std::memcpy(e.digest, raw->data(), 32);
    st->grants.push_back(std::move(e));
  }
  st->view.policy = st->policy.get();
  st->view.credentials = &st->credentials;
  st->view.generation = st->generation;
  st->view.profiles = st->profiles.data();
  st->view.profile_count = static_cast<uint32_t>(st->profiles.size());
  return st;
}

// The files named in the config, as if the control plane had pushed them.
std::variant<ipc::snapshot, std::string> snapshot_from_files(const dp_config& cfg) {
  ipc::snapshot m;
  m.generation = 1;
  m.policy_name = cfg.policy;
  if (!read_file(cfg.policy, m.policy_text)) return cfg.policy + ": cannot be read";
  auto creds = ipc::load_credentials(cfg.credentials);
  if (auto* e = std::get_if<std::string>(&creds)) return *e;
  m.credentials = std::move(std::get<ipc::credential_map>(creds));
  if (!cfg.jwks_file.empty()) {
    if (!read_file(cfg.jwks_file, m.jwks_text)) return cfg.jwks_file + ": cannot be read";
    m.issuer = cfg.issuer;
    m.audience = cfg.audience;
    m.groups_claim = cfg.groups_claim;
  }
  return m;
}

void publish(dp_gate& g, std::unique_ptr<dp_state> st) {
  const dp_state* old = g.state.load();
  // A one-time grant still listed keeps its flag: a use on the old snapshot counts on the new.
  if (old != nullptr)
    for (grant_entry& e : st->grants)
      for (const grant_entry& o : old->grants)
        if (o.id == e.id && o.one_time && e.one_time) e.used = o.used;
  g.view.store(&st->view, std::memory_order_release);
  g.state.store(st.get(), std::memory_order_release);
  g.live.push_back(std::move(st));
  if (old != nullptr) {
    dp_gate::retired r{old, {}};
    for (const auto& q : g.quiescent) r.seen.push_back(q->load(std::memory_order_acquire));
    g.retiring.push_back(std::move(r));
  }
}

// Frees retired states once every worker has passed two quiescent points since (the first may
// have been in flight when the pointer was swapped).
void reclaim(dp_gate& g) {
  for (auto it = g.retiring.begin(); it != g.retiring.end();) {
    bool passed = true;
    for (size_t w = 0; w < g.quiescent.size(); ++w)
      if (g.quiescent[w]->load(std::memory_order_acquire) < it->seen[w] + 2) passed = false;
    if (!passed) {
      ++it;
      continue;
    }
    const dp_state* dead = it->st;
    g.live.erase(std::remove_if(g.live.begin(), g.live.end(), [&](const auto& p) { return p.get() == dead; }), g.live.end());
    it = g.retiring.erase(it);
  }
}

// "<lcore>-<conn>-<index>" -> conn.
uint64_t conn_of(const std::string& request_id) {
  const size_t a = request_id.find('-'), b = request_id.rfind('-');
  if (a == std::string::npos || b == a) return 0;
  return std::strtoull(request_id.substr(a + 1, b - a - 1).c_str(), nullptr, 10);
}

std::pair<std::string, uint16_t> split_endpoint(const std::string& ep) {
  const size_t c = ep.rfind(':');
  if (c == std::string::npos) return {ep, 0};
  return {ep.substr(0, c), static_cast<uint16_t>(std::strtoul(ep.c_str() + c + 1, nullptr, 10))};
}

void finish_recording(dp_gate& g, uint64_t key, open_recording& r) {
  auto w = r.writer->finish(*g.rec_key, g.cfg.recordings_dir);
  nlohmann::json rec;
  rec["type"] = "recording";
  rec["session"] = r.writer->current().meta.session_id;
  auto fit = g.flows.find(key);
  if (fit != g.flows.end() && fit->second.contains("request_ids")) rec["request_ids"] = fit->second["request_ids"];
  if (auto* e = std::get_if<recording::recording_error>(&w)) {
    ++g.recordings_failed;
    rec["error"] = e->reason;
  } else {
    const auto& ok = std::get<recording::recording_written>(w);
    ++g.recordings_written;
    rec["file"] = ok.path.substr(ok.path.rfind('/') + 1);
    rec["sha256"] = ok.sha256_hex;
    rec["file_bytes"] = ok.file_bytes;
    rec["bytes_lost_to_full_ring"] = r.gaps;
  }
  if (g.uplink) {
    // Sent with the rest; forwarded to syslog by the listener once acknowledged.
    if (!g.uplink->append_record(rec)) std::fprintf(stderr, "phigate-dp: audit: a recording record was dropped (queue full)\n");
  } else if (auto e = g.drain->append_record(rec, unix_ms())) {
    std::fprintf(stderr, "phigate-dp: audit: %s\n", e->c_str());
  } else {
    forward_record(g, rec);
  }
  g.flows.erase(key);
}

// Drains the workers' recording rings into per-connection writers (drain thread).
void pump_recordings(dp_gate& g) {
  for (size_t w = 0; w < g.recorders.size(); ++w) {
    gate::record_ring& ring = *g.recorders[w]->ring;
    gate::record_header h;
    const uint8_t* p = nullptr;
    for (int budget = 4096; budget-- > 0 && ring.peek(h, p);) {
      const uint64_t key = (uint64_t{w} << 56) | h.conn_id;
      auto it = g.recordings.find(key);
      if (h.kind == gate::record_kind::end) {
        if (it != g.recordings.end()) {
          finish_recording(g, key, it->second);
          g.recordings.erase(it);
        }
        g.flows.erase(key);
        ring.pop(h);
        continue;
      }
      if (it == g.recordings.end()) {
        recording::recording_meta meta;
        char id[64];
        std::snprintf(id, sizeof id, "%016llx-%zu-%llu", static_cast<unsigned long long>(g.boot_nonce), w,
                      static_cast<unsigned long long>(h.conn_id));
        meta.session_id = id;
        meta.start_unix_ns = static_cast<int64_t>(h.t_ns) + g.wall_offset_ns;
        if (auto fit = g.flows.find(key); fit != g.flows.end()) {
          std::tie(meta.flow.client_addr, meta.flow.client_port) = split_endpoint(fit->second.value("client", ""));
          std::tie(meta.flow.server_addr, meta.flow.server_port) = split_endpoint(fit->second.value("server", ""));
        }
        recording::recording_limits lim;
        lim.max_bytes = g.cfg.recording_max_bytes;
        open_recording r;
        r.writer = std::make_unique<recording::recording_writer>(meta, static_cast<int64_t>(h.t_ns), lim);
        if (auto fit = g.flows.find(key); fit != g.flows.end() && fit->second.contains("request_ids"))
          for (const auto& id : fit->second["request_ids"]) r.writer->add_request_id(id.get<std::string>());
        it = g.recordings.emplace(key, std::move(r)).first;
      }
      open_recording& r = it->second;
      if (h.kind == gate::record_kind::span) {
        r.spans.push_back({h.stream_off, h.len, h.pattern, h.db});
      } else if (h.kind == gate::record_kind::bytes) {
        const int d = h.response ? 1 : 0;
        uint64_t off = h.stream_off, n = h.len;
        const uint8_t* b = p;
        if (off + n > r.recorded[d]) {
          if (off < r.recorded[d]) {  // a retransmission overlapping what is recorded
            b += r.recorded[d] - off;
            n -= r.recorded[d] - off;
            off = r.recorded[d];
          } else if (off > r.recorded[d]) {
            r.gaps += off - r.recorded[d];
          }
          std::vector<recording::recording_mask_span> masks;
          std::deque<std::string> labels;  // the spans' entity views point into these until append
          if (d == 1) {
            for (const auto& s : r.spans) {
              const uint64_t lo = std::max(s.off, off), hi = std::min(s.off + s.len, off + n);
              if (lo >= hi) continue;
              std::string entity, id;
              if (!g.patterns->names().lookup(s.db, s.pattern, entity, id)) entity = "phi";
              labels.push_back(std::move(entity));
              masks.push_back({static_cast<uint32_t>(lo - off), static_cast<uint32_t>(hi - lo), labels.back()});
            }
            std::erase_if(r.spans, [&](const auto& s) { return s.off + s.len <= off + n; });
          }
          const auto t = static_cast<int64_t>(h.t_ns);
          r.writer->append(t, d ? recording::recording_direction::response : recording::recording_direction::request,
                           std::span<const uint8_t>(b, n), masks);
          r.recorded[d] = off + n;
        }
      }
      ring.pop(h);
    }
  }
}

void queue_line(dp_gate& g, std::string line) {
  std::lock_guard<std::mutex> lock(g.outbox_mu);
  if (g.outbox.size() >= 4096) {
    ++g.outbox_dropped;  // the control plane is away; the audit log still has every record
    g.outbox.pop_front();
  }
  g.outbox.push_back(std::move(line));
}

int control_listen(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ::unlink(path.c_str());
  const mode_t old = ::umask(077);  // the socket carries credentials: owner only
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd, 2) == 0;
  ::umask(old);
  if (!ok) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void finish_snapshot(dp_gate& g, const ipc::snapshot_result& res) {
  if (res.ok) ++g.snapshots_applied;
  else {
    ++g.snapshots_refused;
    std::fprintf(stderr, "phigate-dp: control: snapshot %llu refused, the running one stays: %s\n",
                 static_cast<unsigned long long>(res.generation), res.error.c_str());
  }
  g.pending_write += ipc::encode(res);
}

// Installs the pending snapshot's pattern database and policy together, once every worker runs
// the current database and none has a body left on the one before (dp_patterns::settled).
void try_pending(dp_gate& g) {
  if (!g.pending) return;
  if (!g.open_bodies || !g.patterns->settled(g.open_bodies)) {
    ++g.patterns_waits;
    return;
  }
  ipc::snapshot snap = std::move(*g.pending);
  g.pending.reset();
  ipc::snapshot_result res;
  res.generation = snap.generation;
  std::string why;
  const scan::pattern_db* next = g.patterns->staged(snap.patterns_sha256, why);
  if (next == nullptr) {
    res.error = why;  // replaced by a later patterns message meanwhile
    return finish_snapshot(g, res);
  }
  // The profiles are resolved against the new database before anything changes.
  auto st = build_state(snap, next);
  if (auto* e = std::get_if<std::string>(&st)) {
    res.error = *e;
    return finish_snapshot(g, res);
  }
  if (std::string e = g.patterns->install(snap.patterns_sha256, g.retire_slot); !e.empty()) {
    res.error = e;
    return finish_snapshot(g, res);
  }
  publish(g, std::move(std::get<std::unique_ptr<dp_state>>(st)));
  const pattern_gen* cur = g.patterns->current();
  std::fprintf(stderr, "phigate-dp: pattern database %s (%s, %u patterns) installed as generation %llu\n",
               cur->sha256.substr(0, 12).c_str(), cur->label.c_str(), static_cast<unsigned>(cur->db->patterns().size()),
               static_cast<unsigned long long>(cur->index));
  res.ok = true;
  finish_snapshot(g, res);
}

void handle_line(dp_gate& g, const std::string& line) {
  auto parsed = ipc::parse_line(line);
  if (auto* e = std::get_if<std::string>(&parsed)) {
    std::fprintf(stderr, "phigate-dp: control: refused a message: %s\n", e->c_str());
    return;
  }
  const nlohmann::json& j = std::get<nlohmann::json>(parsed);
  if (j["type"] == ipc::type_audit_ack) {
    auto a = ipc::decode_audit_ack(j);
    if (auto* e = std::get_if<std::string>(&a)) {
      std::fprintf(stderr, "phigate-dp: control: refused an audit_ack: %s\n", e->c_str());
      return;
    }
    ipc::audit_ack& ack = std::get<ipc::audit_ack>(a);
    if (!ack.error.empty()) {
      // Said once per distinct reason: the control plane repeats it with every batch.
      if (ack.error != g.cp_audit_error)
        std::fprintf(stderr, "phigate-dp: audit: the control plane does not make records durable: %s; protected "
                     "requests wait and are refused (fail closed)\n", ack.error.c_str());
      g.cp_audit_error = ack.error;
      g.up_refusals.fetch_add(1, std::memory_order_relaxed);
    } else if (!ack.acks.empty()) {
      g.cp_audit_error.clear();
    }
    if (g.uplink && !ack.acks.empty()) {
      std::lock_guard<std::mutex> lock(g.uplink_mu);
      g.acks.push_back(std::move(ack));
    }
    return;
  }
  if (j["type"] == ipc::type_patterns) {
    auto p = ipc::decode_patterns(j);
    std::string e = std::holds_alternative<std::string>(p) ? "patterns: " + std::get<std::string>(p)
                                                          : g.patterns->stage(std::get<ipc::patterns>(p));
    if (!e.empty()) {
      ++g.patterns_refused;
      std::fprintf(stderr, "phigate-dp: control: pattern database refused, the running one stays: %s\n", e.c_str());
    }
    return;
  }
  if (j["type"] != ipc::type_snapshot) return;  // unknown types are ignored (contract)
  ipc::snapshot_result res;
  auto m = ipc::decode_snapshot(j);
  if (auto* e = std::get_if<std::string>(&m)) {
    res.error = "snapshot: " + *e;
  } else {
    res.generation = std::get<ipc::snapshot>(m).generation;
    ipc::snapshot& snap = std::get<ipc::snapshot>(m);
    const pattern_gen* cur = g.patterns->current();
    if (!snap.patterns_sha256.empty() && snap.patterns_sha256 != cur->sha256) {
      // A new pattern database: installed with this snapshot once the previous swap settled.
      std::string why;
      if (g.patterns->staged(snap.patterns_sha256, why) == nullptr) {
        res.error = why;
      } else {
        if (g.pending) {
          ipc::snapshot_result old;
          old.generation = g.pending->generation;
          old.error = "superseded by snapshot " + std::to_string(snap.generation);
          finish_snapshot(g, old);
        }
        g.pending = std::move(snap);
        try_pending(g);
        return;
      }
    } else {
      auto st = build_state(snap, cur->db.get());
      if (auto* e2 = std::get_if<std::string>(&st)) {
        res.error = *e2;
      } else {
        publish(g, std::move(std::get<std::unique_ptr<dp_state>>(st)));
        res.ok = true;
      }
    }
  }
  finish_snapshot(g, res);
}

}  // namespace

void dp_gate_set_pattern_hooks(dp_gate& g, std::function<int64_t(unsigned w, int slot)> open_bodies,
                               std::function<void(int slot, uint32_t serial)> retiring) {
  g.open_bodies = std::move(open_bodies);
  g.retire_slot = std::move(retiring);
}

dp_gate_ptr dp_gate_create(const dp_config& cfg, dp_patterns* patterns, unsigned workers, std::string& error) {
  dp_gate_ptr g(new dp_gate);
  g->cfg = cfg;
  g->patterns = patterns;
  if (!cfg.policy.empty()) {
    auto m = snapshot_from_files(cfg);
    if (auto* e = std::get_if<std::string>(&m)) {
      error = *e;
      return nullptr;
    }
    auto st = build_state(std::get<ipc::snapshot>(m), patterns->current()->db.get());
    if (auto* e = std::get_if<std::string>(&st)) {
      error = *e;
      return nullptr;
    }
    publish(*g, std::move(std::get<std::unique_ptr<dp_state>>(st)));
  }

  if (!cfg.audit_log.empty()) {
    auto key = audit::audit_private_key_load(cfg.audit_signing_key);
    if (auto* e = std::get_if<audit::audit_error>(&key)) {
      error = cfg.audit_signing_key + ": " + e->reason;
      return nullptr;
    }
    auto w = audit::audit_writer::open(cfg.audit_log, std::move(std::get<auth::pkey_ptr>(key)));
    if (auto* e = std::get_if<audit::audit_error>(&w)) {
      error = e->reason;
      return nullptr;
    }
    g->audit = std::move(std::get<std::unique_ptr<audit::audit_writer>>(w));
  }

  uint8_t probe[16];
  if (RAND_bytes(probe, sizeof probe) != 1) {
    error = "the CSPRNG is not available (approval ids)";
    return nullptr;
  }
  std::vector<gate::event_ring*> rings;
  for (unsigned i = 0; i < workers; ++i) {
    g->quiescent.push_back(std::make_unique<std::atomic<uint64_t>>(0));
    g->ids.push_back(std::make_unique<worker_identity>(cfg.token_cache));
    g->ids.back()->state = &g->state;
    g->grants.push_back(std::make_unique<worker_grants>());
    g->grants.back()->state = &g->state;
    gate::gate_config gc;
    gc.snapshot = &g->view;
    gc.identity = {g->ids.back().get(), worker_identity::verify};
    gc.grants = {g->grants.back().get(), worker_grants::check};
    gc.sha256 = sha256;
    gc.approval_status_base = cfg.approval_status_base;
    gc.ring_capacity = cfg.audit_ring;
    if (cfg.audit_log.empty()) gc.audit_up = &g->audit_up;  // phigate-cp makes records durable
    gc.lcore = static_cast<uint8_t>(i);
    gc.random_bytes = random_bytes;
    g->gates.push_back(std::make_unique<gate::request_gate>(gc));
    rings.push_back(&g->gates.back()->ring());
  }
  if (g->audit) {
    g->drain = std::make_unique<audit::event_drain>(g->audit.get(), rings, &patterns->names(), cfg.event_log);
  } else {
    uint8_t b[8];
    if (RAND_bytes(b, sizeof b) != 1) {
      error = "the CSPRNG is not available (audit boot id)";
      return nullptr;
    }
    g->uplink = std::make_unique<audit::event_uplink>(
        rings, &patterns->names(), auth::hex_encode(std::string_view(reinterpret_cast<const char*>(b), sizeof b)), cfg.event_log);
    if (!g->uplink->event_log_error().empty()) {
      error = g->uplink->event_log_error();
      return nullptr;
    }
  }
  if (!cfg.recordings_dir.empty()) {
    auto k = recording::recording_key_load(cfg.recordings_key);
    if (auto* e = std::get_if<recording::recording_error>(&k)) {
      error = cfg.recordings_key + ": " + e->reason;
      return nullptr;
    }
    g->rec_key.emplace(std::get<recording::recording_key>(k));
    struct stat st{};
    if (::stat(cfg.recordings_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      error = cfg.recordings_dir + ": not a directory";
      return nullptr;
    }
    for (unsigned i = 0; i < workers; ++i) {
      g->recorders.push_back(std::make_unique<worker_recorder>());
      g->recorders.back()->ring = std::make_unique<gate::record_ring>(size_t{8} << 20);
    }
    uint8_t nonce[8];
    RAND_bytes(nonce, sizeof nonce);
    std::memcpy(&g->boot_nonce, nonce, sizeof nonce);
  }
  // Approval requests and grant use go to the control plane (as well as into the audit log).
  if (!cfg.syslog_host.empty()) {
    audit::syslog_config sc;
    sc.host = cfg.syslog_host;
    sc.port = cfg.syslog_port;
    sc.tls = cfg.syslog_tls;
    sc.ca_file = cfg.syslog_ca;
    auto f = audit::syslog_forwarder::start(sc);
    if (auto* e = std::get_if<std::string>(&f)) {
      error = *e;  // already says "syslog: ..."
      return nullptr;
    }
    g->syslog = std::move(std::get<std::unique_ptr<audit::syslog_forwarder>>(f));
  }
  auto listener = [gp = g.get()](const nlohmann::json& rec) {
    forward_record(*gp, rec);
    if (gp->rec_key && rec.value("type", "") == "decision") {
      // Who and where, for the recording's metadata (request ids in order).
      const uint64_t key = (uint64_t{rec.value("lcore", 0u)} << 56) | conn_of(rec.value("request_id", ""));
      nlohmann::json& f = gp->flows[key];
      if (!f.contains("client")) {
        f["client"] = rec.value("client", "");
        f["server"] = rec.value("server", "");
      }
      f["request_ids"].push_back(rec.value("request_id", ""));
      if (auto it = gp->recordings.find(key); it != gp->recordings.end())
        it->second.writer->add_request_id(rec.value("request_id", ""));
    }
    const std::string decision = rec.value("decision", "");
    if (decision == "approval_required") {
      queue_line(*gp, ipc::encode_approval_request(rec));
    } else if (decision == "approval_granted") {
      queue_line(*gp, ipc::encode(ipc::grant_used{rec.value("approval_id", ""), rec.value("subject", ""),
                                                  rec.value("route", ""), rec.value("body_sha256", "")}));
    }
  };
  if (g->drain) g->drain->set_listener(listener);
  else g->uplink->set_listener(listener);
  g->hold.buffers = cfg.hold_buffers;
  g->hold.audit_wait_timeout_ns = uint64_t{cfg.audit_wait_ms} * 1'000'000ULL;
  g->hold.stall_ns = uint64_t{cfg.request_stall_ms} * 1'000'000ULL;
  // Sized once: a later snapshot with a larger body_limit gets bodies cut here (decided as
  // unreadable: block rules still match, see docs/policy.md).
  g->hold.buffer_bytes = cfg.hold_buffer_bytes;
  if (const dp_state* st = g->state.load())
    g->hold.buffer_bytes = std::max(g->hold.buffer_bytes, policy::body_limit(*st->policy) + 17u * 1024);
  if (!cfg.control_socket.empty()) {
    if (g->uplink) {
      g->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (g->wake_fd < 0) {
        error = std::string("eventfd: ") + std::strerror(errno);
        return nullptr;
      }
    }
    g->listen_fd = control_listen(cfg.control_socket);
    if (g->listen_fd < 0) {
      error = cfg.control_socket + ": cannot listen (" + std::strerror(errno) + ")";
      return nullptr;
    }
  }
  return g;
}

session::request_decider dp_gate_decider(dp_gate& g, unsigned worker) { return g.gates.at(worker)->decider(); }
session::request_hold_config dp_gate_hold_config(const dp_gate& g) { return g.hold; }
void dp_gate_set_wall_offset(dp_gate& g, int64_t offset_ns) {
  for (auto& gt : g.gates) gt->set_wall_offset(offset_ns);
  g.wall_offset_ns = offset_ns;
}

session::session_recorder dp_gate_recorder(dp_gate& g, unsigned worker) {
  session::session_recorder r;
  if (!g.rec_key || worker >= g.recorders.size()) return r;
  r.ctx = g.recorders[worker].get();
  r.on_bytes = worker_recorder::on_bytes;
  r.on_span = worker_recorder::on_span;
  r.on_end = worker_recorder::on_end;
  return r;
}
std::atomic<uint64_t>& dp_gate_quiescent_counter(dp_gate& g, unsigned worker) { return *g.quiescent.at(worker); }

namespace {

// One round of the uplink (drain thread): applies acknowledgements, starts over after a
// reconnect, and encodes what the current connection has not been sent yet. Returns how many
// records moved (sent or acknowledged).
size_t uplink_round(dp_gate& g, uint64_t& epoch_seen) {
  audit::event_uplink& up = *g.uplink;
  std::vector<ipc::audit_ack> acks;
  {
    std::lock_guard<std::mutex> lock(g.uplink_mu);
    acks.swap(g.acks);
  }
  size_t moved = 0;
  for (const ipc::audit_ack& a : acks) moved += up.on_ack(a);
  const uint64_t epoch = g.link_epoch.load(std::memory_order_acquire);
  if (epoch != epoch_seen) {
    up.restart();
    epoch_seen = epoch;
  }
  if (g.audit_up.load(std::memory_order_acquire)) {
    std::string out;
    moved += up.pump(out);
    if (!out.empty()) {
      std::lock_guard<std::mutex> lock(g.uplink_mu);
      // Encoded for a connection that has gone since: dropped; the restart resends them.
      if (g.link_epoch.load(std::memory_order_acquire) == epoch) g.uplink_out += out;
    }
    if (!out.empty() && g.wake_fd >= 0) {
      const uint64_t one = 1;
      (void)!::write(g.wake_fd, &one, sizeof one);
    }
  }
  const audit::event_uplink_counters& c = up.counters();
  g.up_acked.store(c.acked, std::memory_order_relaxed);
  g.up_sent.store(c.sent, std::memory_order_relaxed);
  g.up_resent.store(c.resent, std::memory_order_relaxed);
  g.up_owner_dropped.store(c.owner_dropped, std::memory_order_relaxed);
  g.up_backlog.store(up.backlog(), std::memory_order_relaxed);
  return moved;
}

void close_recordings(dp_gate& g) {
  if (!g.rec_key) return;
  pump_recordings(g);
  // Connections still open at shutdown are recorded as far as they went.
  for (auto& [key, r] : g.recordings) finish_recording(g, key, r);
  g.recordings.clear();
}

}  // namespace

void dp_gate_start(dp_gate& g) {
  g.drainer = std::thread([&g] {
    // Poll quickly while records flow (a held request waits for this loop), back off when idle.
    unsigned idle = 0;
    uint64_t epoch_seen = 0;
    bool recordings_closed = false;
    while (true) {
      const bool stopping = g.stop.load(std::memory_order_relaxed);
      size_t moved = 0;
      if (g.uplink) {
        // Stopping: recordings close first so their records still go out, then this keeps
        // serving acknowledgements until dp_gate_stop has waited for them.
        if (g.stop_final.load(std::memory_order_relaxed)) break;
        moved = uplink_round(g, epoch_seen);
        if (stopping && !recordings_closed) {
          close_recordings(g);
          recordings_closed = true;
        }
      } else {
        if (stopping) break;
        const audit::event_drain::result r = g.drain->pump(unix_ms());
        if (r.error && !g.drain_failed.exchange(true))
          std::fprintf(stderr, "phigate-dp: audit: %s; protected requests now wait and are refused (fail closed)\n",
                       r.error->c_str());
        if (auto e = g.drain->tick(unix_ms())) std::fprintf(stderr, "phigate-dp: audit checkpoint: %s\n", e->c_str());
        moved = r.records;
      }
      if (g.rec_key && !recordings_closed) pump_recordings(g);
      idle = moved ? 0 : std::min(idle + 1, 20u);
      std::this_thread::sleep_for(std::chrono::microseconds(idle < 4 ? 50 : 1000));
    }
    if (g.drain) g.drain->pump(unix_ms(), 1u << 20);
    if (!recordings_closed) close_recordings(g);
  });
}

namespace {
// Main thread, on connect and disconnect: the uplink starts over on the new connection.
void link_changed(dp_gate& g, bool up) {
  if (!g.uplink) return;
  {
    std::lock_guard<std::mutex> lock(g.uplink_mu);
    g.uplink_out.clear();
    g.link_epoch.fetch_add(1, std::memory_order_acq_rel);
  }
  g.audit_up.store(up, std::memory_order_release);
  if (!up) g.cp_audit_error.clear();
}
}  // namespace

namespace {
// Main thread: the drain thread's audit_record lines join what goes out on the connection.
void take_uplink_lines(dp_gate& g) {
  if (!g.uplink || g.peer_fd < 0) return;
  std::lock_guard<std::mutex> lock(g.uplink_mu);
  g.pending_write += g.uplink_out;
  g.uplink_out.clear();
}
}  // namespace

void dp_gate_poll(dp_gate& g, int timeout_ms) {
  reclaim(g);
  try_pending(g);
  if (g.listen_fd < 0) {
    if (timeout_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(g.outbox_mu);
    if (g.peer_fd >= 0)
      while (!g.outbox.empty()) {
        g.pending_write += g.outbox.front();
        g.outbox.pop_front();
      }
  }
  take_uplink_lines(g);
  pollfd p[3] = {{g.listen_fd, POLLIN, 0}, {g.wake_fd, POLLIN, 0},
                 {g.peer_fd, static_cast<short>(POLLIN | (g.pending_write.empty() ? 0 : POLLOUT)), 0}};
  if (::poll(p, g.peer_fd >= 0 ? 3 : 2, timeout_ms) <= 0) return;
  if (p[1].revents & POLLIN) {
    uint64_t n = 0;
    (void)!::read(g.wake_fd, &n, sizeof n);
    take_uplink_lines(g);  // written in this same call, below
  }
  if (p[0].revents & POLLIN) {
    const int c = ::accept4(g.listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) {
      // One control plane at a time: a new connection replaces the old one.
      if (g.peer_fd >= 0) ::close(g.peer_fd);
      g.peer_fd = c;
      g.reader = ipc::line_reader{};
      g.pending_write.clear();
      link_changed(g, true);
      return;
    }
  }
  if (g.peer_fd < 0) return;
  bool closed = (p[2].revents & (POLLHUP | POLLERR)) != 0;
  if (p[2].revents & POLLIN) {
    char buf[65536];
    const ssize_t n = ::read(g.peer_fd, buf, sizeof buf);
    if (n <= 0) closed = true;
    else if (!g.reader.feed(buf, static_cast<size_t>(n))) closed = true;
    else
      while (auto line = g.reader.next()) handle_line(g, *line);
  }
  if (!closed && !g.pending_write.empty()) {
    const ssize_t n = ::write(g.peer_fd, g.pending_write.data(), g.pending_write.size());
    if (n > 0) g.pending_write.erase(0, static_cast<size_t>(n));
    else if (n < 0 && errno != EAGAIN) closed = true;
  }
  if (closed) {
    ::close(g.peer_fd);
    g.peer_fd = -1;
    link_changed(g, false);
  }
}

void dp_gate_stop(dp_gate& g) {
  g.stop.store(true);
  if (g.uplink && g.drainer.joinable()) {
    // The workers have stopped and queued their last records; give the control plane up to
    // two seconds to acknowledge them (the records of requests never released do not matter
    // to anyone, but response and recording records do).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // recordings close first
    while (std::chrono::steady_clock::now() < deadline && g.peer_fd >= 0 &&
           g.up_backlog.load(std::memory_order_relaxed) != 0)
      dp_gate_poll(g, 10);
    g.stop_final.store(true);
  }
  if (g.drainer.joinable()) g.drainer.join();
  if (g.audit && !g.audit->failed()) (void)g.audit->close(unix_ms());
  if (g.uplink && g.uplink->backlog() != 0)
    std::fprintf(stderr, "phigate-dp: audit: %llu records were not acknowledged by the control plane at exit\n",
                 static_cast<unsigned long long>(g.uplink->backlog()));
}

std::string dp_gate_stats_json(const dp_gate& g) {
  nlohmann::json j;
  nlohmann::json outcomes = nlohmann::json::object();
  uint64_t verified = 0, refused = 0, anonymous = 0, on_unknown = 0, lost = 0, ring = 0;
  const dp_state* st = g.state.load();
  for (size_t o = 0; o < gate::outcome_count; ++o) {
    uint64_t n = 0;
    for (const auto& gt : g.gates) n += gt->stats().outcomes[o];
    outcomes[gate::outcome_name(static_cast<gate::outcome>(o))] = n;
  }
  for (const auto& gt : g.gates) {
    verified += gt->stats().identity_verified;
    refused += gt->stats().identity_refused;
    anonymous += gt->stats().anonymous;
    on_unknown += gt->stats().policy_on_unknown;
    lost += gt->stats().response_records_lost;
    ring += gt->ring().size();
  }
  j["decisions"] = outcomes;
  j["identity"] = {{"verified", verified}, {"refused", refused}, {"anonymous", anonymous}};
  j["policy_on_unknown"] = on_unknown;
  // Masking profiles: forwards per profile of the current policy ("default": routes without one)
  // and responses served unmasked to callers in a route's unmasked_groups.
  {
    uint64_t fw_unmasked = 0, resp_unmasked = 0;
    nlohmann::json per = nlohmann::json::object();
    for (const auto& gt : g.gates) {
      fw_unmasked += gt->stats().forwards_unmasked;
      resp_unmasked += gt->stats().responses_unmasked;
    }
    for (uint32_t p = 0; p <= policy::policy_max_profiles; ++p) {
      uint64_t n = 0;
      for (const auto& gt : g.gates) n += gt->stats().profile_forwards[p];
      if (n == 0) continue;
      const policy::masking_profile* mp =
          st != nullptr && p < policy::policy_max_profiles ? policy::profile_at(*st->policy, static_cast<int32_t>(p)) : nullptr;
      per[p == policy::policy_max_profiles ? std::string("default") : mp ? mp->name : "#" + std::to_string(p)] = n;
    }
    // Flat members: the control plane's metrics export turns numbers and objects of numbers into
    // series (masking_forwards_by_profile{name="<profile>"}).
    j["masking_forwards_by_profile"] = per;
    j["masking_forwards_unmasked"] = fw_unmasked;
    j["masking_responses_unmasked"] = resp_unmasked;
  }
  if (g.uplink) {
    // Records are durable in phigate-cp's log; `records` counts its acknowledgements.
    j["audit"] = {{"mode", "control_plane"}, {"records", g.up_acked.load()}, {"backlog", ring},
                  {"unacknowledged", g.up_backlog.load()}, {"sent", g.up_sent.load()},
                  {"resent", g.up_resent.load()}, {"refusals", g.up_refusals.load()},
                  {"own_records_dropped", g.up_owner_dropped.load()}, {"response_records_lost", lost},
                  {"failed", !g.cp_audit_error.empty()}};
  } else {
    j["audit"] = {{"mode", "local"}, {"records", g.drain->records()}, {"backlog", ring},
                  {"response_records_lost", lost}, {"failed", g.drain->failed()}};
  }
  j["snapshot"] = {{"generation", st ? st->generation : 0},
                   {"policy_digest", st ? std::string(policy::snapshot_digest(*st->policy)) : ""},
                   {"applied", g.snapshots_applied},
                   {"refused", g.snapshots_refused},
                   {"control_plane_connected", g.peer_fd >= 0},
                   {"outbox_dropped", g.outbox_dropped}};
  {
    const pattern_gen* cur = g.patterns->current();
    j["patterns"] = {{"generation", cur->index}, {"sets", cur->label}, {"sha256", cur->sha256},
                     {"patterns", cur->db->patterns().size()}, {"swaps", g.patterns->swaps()},
                     {"refused", g.patterns_refused}, {"pending", g.pending.has_value()},
                     {"waits", g.patterns_waits}};
  }
  uint64_t rec_dropped = 0;
  for (const auto& r : g.recorders) rec_dropped += r->dropped.load(std::memory_order_relaxed);
  if (g.syslog) {
    const audit::syslog_counters c = g.syslog->counters();
    j["syslog"] = {{"queued", c.queued}, {"sent", c.sent}, {"dropped", c.dropped}, {"connects", c.connects},
                   {"failures", c.failures}, {"resent", c.resent}};
  }
  j["recordings"] = {{"written", g.recordings_written.load()}, {"failed", g.recordings_failed.load()},
                     {"ring_drops", rec_dropped}};
  const std::string s = j.dump();
  return s.substr(1, s.size() - 2);
}

}  // namespace phigate::io
