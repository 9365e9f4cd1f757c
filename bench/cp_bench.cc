// Control plane crypto benchmarks (issue 4 section 7): JWT verification per algorithm (what a
// token cache miss costs), token cache hits, and the signed, hash-chained audit log.
//
// Benchmarks:
//   jwt_verify/<alg>       jwt_verify() of one valid token: header, key selection, signature,
//                          claims (no cache). RS256 and PS256 with one RSA-2048 key, ES256 with
//                          P-256, EdDSA with Ed25519.
//   openssl_verify/<alg>   baseline: EVP_DigestVerifyInit_ex + EVP_DigestVerify of the same signing
//                          input with the same key and padding (what jwt_verify cannot avoid)
//   token_miss/<alg>       the miss path as a caller runs it: token_cache::find (miss), jwt_verify,
//                          token_cache::insert; 64 tokens rotate through an 8-entry cache (one
//                          8-way set), so every lookup misses (checked: hits must stay 0)
//   token_hit/<alg>        token_cache::find of 256 cached tokens in rotation (4096-entry cache):
//                          SHA-256 of the token text, one set probe, constant-time compare
//   audit_writer/<fs>/sync:each   audit_writer::append, durable per record (write + fdatasync),
//                          checkpoint every 1000 records; fs = tmpfs (/dev/shm) or disk (/var/tmp)
//   audit_writer/<fs>/sync:64     group commit: append(..., sync = false), sync() every 64 records
//   audit_writer/tmpfs/sync:none  never synced before close: the format + signing work alone
//   audit_batch/<fs>/batch:B/fsync:F
//                          a reference writer assembled from audit_format.hh (canonical JSON,
//                          chain hash, record line; Ed25519 checkpoint every 1000 records), one
//                          write() per B records and, when F, one fdatasync per write. Not the
//                          shipped API: batch:1/fsync:1 is per-record durability as the header of
//                          audit_log.hh promises it, batch:64 what batching write() too would buy.
//                          Setup checks its output with audit_verify.
//   audit_uplink/<fs>/batch:B
//                          the shipped control-plane-mode path, both ends on this one thread:
//                          B decision events in a worker ring -> event_uplink::pump (records
//                          encoded as audit_record lines) -> parse_line + decode_audit_record ->
//                          audit_sink::accept (append, one fdatasync, Ed25519 checkpoint every
//                          1000) -> event_uplink::on_ack (pop, durable). In the appliance the two
//                          halves run in two processes, so this is their summed CPU cost per record.
//   sha256/<bytes>         auth::sha256 of a token-sized text (the cache key)
//   ed25519_sign           one checkpoint signature (EVP_DigestSign)
// Tokens are signed at setup with OpenSSL directly (tests/controlplane/auth/jose_test_util.hh),
// never with the code under test. Records carry the fields of issue 4 section 5 (no PHI).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "controlplane/audit/audit_format.hh"
#include "controlplane/audit/audit_key.hh"
#include "controlplane/audit/audit_log.hh"
#include "controlplane/audit/audit_sink.hh"
#include "controlplane/audit/event_uplink.hh"
#include "controlplane/audit/audit_verify.hh"
#include "controlplane/auth/crypto_util.hh"
#include "controlplane/auth/jwk.hh"
#include "controlplane/auth/jwt.hh"
#include "controlplane/auth/token_cache.hh"
#include "tests/controlplane/auth/jose_test_util.hh"

namespace phigate::bench {
namespace {

using nlohmann::json;

constexpr int64_t kNowS = 1'800'000'000;  // injected time: tokens valid for an hour around it
constexpr int64_t kNowMs = kNowS * 1000;  // constant: checkpoints come from the record count only
constexpr size_t kTokensPerAlg = 256;
constexpr size_t kMissTokens = 64;
constexpr size_t kRecords = 64;
constexpr auth::jws_alg kAlgs[] = {auth::jws_alg::rs256, auth::jws_alg::ps256, auth::jws_alg::es256,
                                   auth::jws_alg::eddsa};

struct environment {
  auth::pkey_ptr rsa, ec, ed;
  auth::jwk_set keys;
  auth::jwt_policy policy;
  std::vector<std::string> tokens[auth::jws_alg_count];
  auth::pkey_ptr audit_key;
  std::vector<json> records;
  size_t record_bytes = 0;  // canonical size of records[0]
  std::string tmpfs_dir, disk_dir;
};
environment* g_env = nullptr;

const char* kid_of(auth::jws_alg a) {
  switch (a) {
    case auth::jws_alg::rs256:
    case auth::jws_alg::ps256: return "rsa-1";
    case auth::jws_alg::es256: return "ec-1";
    case auth::jws_alg::eddsa: return "ed-1";
  }
  return "";
}

EVP_PKEY* key_of(const environment& e, auth::jws_alg a) {
  switch (a) {
    case auth::jws_alg::rs256:
    case auth::jws_alg::ps256: return e.rsa.get();
    case auth::jws_alg::es256: return e.ec.get();
    case auth::jws_alg::eddsa: return e.ed.get();
  }
  return nullptr;
}

// A token as an OIDC provider issues it for client credentials / an interactive user.
std::string make_token(const environment& e, auth::jws_alg a, size_t i) {
  const json header = {{"alg", auth::jws_alg_name(a)}, {"typ", "JWT"}, {"kid", kid_of(a)}};
  char jti[32];
  std::snprintf(jti, sizeof jti, "%016llx", static_cast<unsigned long long>(i) * 0x9E3779B97F4A7C15ull);
  const json payload = {{"iss", e.policy.issuer},
                        {"aud", json::array({e.policy.audience, "account"})},
                        {"sub", "user-" + std::to_string(10000 + i)},
                        {"groups", json::array({"clinicians", "ml-users", "cardiology"})},
                        {"email", "user" + std::to_string(i) + "@hospital.example.org"},
                        {"iat", kNowS - 60},
                        {"nbf", kNowS - 60},
                        {"exp", kNowS + 3600},
                        {"jti", jti},
                        {"azp", "phigate-cli"},
                        {"scope", "openid profile email"}};
  return test::sign_compact(key_of(e, a), a, header.dump(), payload.dump());
}

// The records of issue 4 section 5: decision and response-end records with counts and offsets of
// findings by entity, never values.
json make_record(size_t i) {
  json findings = json::object();
  if (i % 3 != 0) findings["ssn"] = {{"count", 1 + i % 2}, {"offsets", json::array({120 + i, 512 + i})}};
  if (i % 2 == 0) findings["phone"] = {{"count", 1}, {"offsets", json::array({800 + i})}};
  return {{"type", i % 2 ? "response_end" : "decision"},
          {"time_ms", kNowMs + static_cast<int64_t>(i)},
          {"subject", "user-" + std::to_string(10000 + i % 17)},
          {"groups", json::array({"clinicians", "ml-users"})},
          {"client", "10.1." + std::to_string(i % 256) + ".7:5" + std::to_string(1000 + i)},
          {"method", "POST"},
          {"path", "/v1/chat/completions"},
          {"model", "gpt-4o"},
          {"decision", "allow"},
          {"rule", "clinicians-chat"},
          {"approval_id", nullptr},
          {"status", 200},
          {"bytes_in", 1400 + i},
          {"bytes_out", 10000 + 37 * i},
          {"findings", findings},
          {"recording_digest", std::string(64, "0123456789abcdef"[i % 16])}};
}

std::optional<std::string> ed25519_sign(EVP_PKEY* key, std::string_view msg) {
  auth::md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key, nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) != 1)
    return std::nullopt;
  sig.resize(len);
  return sig;
}

// ---------------------------------------------------------------- tokens

void bm_jwt_verify(benchmark::State& state, auth::jws_alg a) {
  const environment& e = *g_env;
  const std::string& token = e.tokens[static_cast<size_t>(a)][0];
  uint64_t bad = 0;
  for (auto _ : state) {
    auto r = auth::jwt_verify(token, e.keys, e.policy, kNowS);
    if (!std::holds_alternative<auth::verified_token>(r)) ++bad;
    benchmark::DoNotOptimize(r);
  }
  if (bad) {
    state.SkipWithError("jwt_verify refused a valid token");
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["verifies_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["token_bytes"] = static_cast<double>(token.size());
}

// Same-run baseline: the signature check alone, as OpenSSL 3 does it for one token (context,
// init with provider fetch, padding parameters, verify), on the token's signing input. What
// jwt_verify adds on top is base64url, JSON and claims.
void bm_openssl_verify(benchmark::State& state, auth::jws_alg a) {
  const environment& e = *g_env;
  const std::string& token = e.tokens[static_cast<size_t>(a)][0];
  const std::string input = token.substr(0, token.rfind('.'));
  EVP_PKEY* key = key_of(e, a);
  // DER for ECDSA (what EVP_DigestVerify takes), raw otherwise: signed here, not decoded from the token.
  std::string sig;
  {
    auth::md_ctx_ptr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    size_t len = 0;
    const char* md = a == auth::jws_alg::eddsa ? nullptr : "SHA256";
    bool ok = ctx && EVP_DigestSignInit_ex(ctx.get(), &pctx, md, nullptr, nullptr, key, nullptr) == 1;
    if (ok && a == auth::jws_alg::ps256)
      ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1;
    const auto* in = reinterpret_cast<const unsigned char*>(input.data());
    ok = ok && EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) == 1;
    sig.resize(len);
    ok = ok && EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) == 1;
    if (!ok) {
      state.SkipWithError("signing the baseline signature failed");
      return;
    }
    sig.resize(len);
  }
  uint64_t bad = 0;
  for (auto _ : state) {
    auth::md_ctx_ptr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    const char* md = a == auth::jws_alg::eddsa ? nullptr : "SHA256";
    bool ok = ctx && EVP_DigestVerifyInit_ex(ctx.get(), &pctx, md, nullptr, nullptr, key, nullptr) == 1;
    if (ok && a == auth::jws_alg::ps256)
      ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", nullptr) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1;
    ok = ok && EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                                reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    if (!ok) ++bad;
  }
  if (bad) {
    state.SkipWithError("EVP_DigestVerify refused the baseline signature");
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void bm_token_miss(benchmark::State& state, auth::jws_alg a) {
  const environment& e = *g_env;
  const std::vector<std::string>& tokens = e.tokens[static_cast<size_t>(a)];
  auth::token_cache cache(auth::token_cache::ways, 3600);
  size_t i = 0;
  uint64_t bad = 0;
  for (auto _ : state) {
    const std::string& t = tokens[i];
    i = i + 1 == kMissTokens ? 0 : i + 1;
    if (cache.find(t, kNowS) != nullptr) continue;  // counted below; never expected
    auto r = auth::jwt_verify(t, e.keys, e.policy, kNowS);
    if (auto* v = std::get_if<auth::verified_token>(&r))
      cache.insert(t, std::move(*v), kNowS);
    else
      ++bad;
  }
  if (bad || cache.stats().hits != 0) {
    state.SkipWithError(bad ? "jwt_verify refused a valid token" : "the miss benchmark hit the cache");
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["verifies_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void bm_token_hit(benchmark::State& state, auth::jws_alg a) {
  const environment& e = *g_env;
  const std::vector<std::string>& tokens = e.tokens[static_cast<size_t>(a)];
  auth::token_cache cache(4096, 3600);
  for (const std::string& t : tokens) {
    auto r = auth::jwt_verify(t, e.keys, e.policy, kNowS);
    if (!std::holds_alternative<auth::verified_token>(r)) {
      state.SkipWithError("jwt_verify refused a valid token");
      return;
    }
    cache.insert(t, std::move(std::get<auth::verified_token>(r)), kNowS);
  }
  size_t i = 0;
  uint64_t misses = 0;
  for (auto _ : state) {
    const auth::verified_token* v = cache.find(tokens[i], kNowS);
    i = (i + 1) % kTokensPerAlg;
    if (v == nullptr) ++misses;
    benchmark::DoNotOptimize(v);
  }
  if (misses) {
    state.SkipWithError("a cached token missed");
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["token_bytes"] = static_cast<double>(tokens[0].size());
}

// ---------------------------------------------------------------- audit

const std::string& dir_of(const environment& e, bool disk) { return disk ? e.disk_dir : e.tmpfs_dir; }

std::string next_log_path(const std::string& dir) {
  static int n = 0;
  return dir + "/audit-" + std::to_string(++n) + ".log";
}

// sync_every: 1 = append() durable per record (the default); B > 1 = group commit, append(...,
// sync = false) and one sync() per B records; 0 = never synced before close (no durability: the
// upper bound of the format and signing work).
void bm_audit_writer(benchmark::State& state, bool disk, size_t sync_every) {
  const environment& e = *g_env;
  const std::string path = next_log_path(dir_of(e, disk));
  audit::audit_writer_options opt;
  opt.checkpoint_every_records = 1000;
  auto opened = audit::audit_writer::open(path, auth::pkey_share(e.audit_key.get()), opt);
  if (auto* err = std::get_if<audit::audit_error>(&opened)) {
    state.SkipWithError(err->reason.c_str());
    return;
  }
  auto& w = *std::get<std::unique_ptr<audit::audit_writer>>(opened);
  size_t i = 0, unsynced = 0;
  bool failed = false;
  for (auto _ : state) {
    if (!std::holds_alternative<uint64_t>(w.append(e.records[i], kNowMs, sync_every == 1))) {
      failed = true;
      break;
    }
    i = (i + 1) % kRecords;
    if (sync_every > 1 && ++unsynced == sync_every) {
      unsynced = 0;
      if (w.sync()) {
        failed = true;
        break;
      }
    }
  }
  const uint64_t records = w.records();
  const std::optional<audit::audit_error> closed = w.close(kNowMs);
  ::unlink(path.c_str());
  if (failed || closed) {
    state.SkipWithError("audit_writer failed");
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(records));
  state.counters["records_per_s"] = benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  state.counters["checkpoints"] = static_cast<double>(records / 1000);
}

void bm_audit_uplink(benchmark::State& state, bool disk, uint32_t batch) {
  const environment& e = *g_env;
  const std::string path = next_log_path(dir_of(e, disk));
  auto opened = audit::audit_writer::open(path, auth::pkey_share(e.audit_key.get()));
  if (auto* err = std::get_if<audit::audit_error>(&opened)) {
    state.SkipWithError(err->reason.c_str());
    return;
  }
  auto& w = *std::get<std::unique_ptr<audit::audit_writer>>(opened);
  audit::audit_sink sink(&w);
  gate::event_ring ring(batch);
  audit::event_uplink up({&ring}, nullptr, "0123456789abcdef", "");
  gate::audit_event proto{};
  proto.kind = gate::event_kind::decision;
  proto.result = gate::outcome::allowed;
  proto.family = 4;
  std::strcpy(proto.method, "POST");
  std::strcpy(proto.path, "/v1/chat/completions");
  std::strcpy(proto.model, "clinical-7b");
  std::strcpy(proto.subject, "dr-alice");
  std::strcpy(proto.groups, "clinicians,oncology");
  std::strcpy(proto.rule_id, "clinicians");
  std::strcpy(proto.route_id, "chat");
  uint64_t seq = 0, acked = 0;
  bool failed = false;
  std::string lines;
  std::vector<ipc::audit_record> recs;
  for (auto _ : state) {
    for (uint32_t i = 0; i < batch; ++i) {
      gate::audit_event* ev = ring.claim();
      *ev = proto;
      ev->seq = ++seq;
      ev->conn_id = seq;
      ring.publish();
    }
    lines.clear();
    recs.clear();
    up.pump(lines, batch);
    for (size_t at = 0; at < lines.size();) {
      const size_t nl = lines.find('\n', at);
      auto j = ipc::parse_line(std::string_view(lines).substr(at, nl - at));
      at = nl + 1;
      auto r = ipc::decode_audit_record(std::move(std::get<nlohmann::json>(j)));
      recs.push_back(std::move(std::get<ipc::audit_record>(r)));
    }
    const ipc::audit_ack ack = sink.accept(std::move(recs), kNowMs);
    acked += up.on_ack(ack);
    if (!ack.error.empty() || ring.durable.load() != seq) {
      failed = true;
      break;
    }
  }
  const std::optional<audit::audit_error> closed = w.close(kNowMs);
  ::unlink(path.c_str());
  if (failed || closed) {
    state.SkipWithError("audit uplink failed");
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(acked));
  state.counters["records_per_s"] = benchmark::Counter(static_cast<double>(acked), benchmark::Counter::kIsRate);
}

// A writer that batches lines: same bytes as audit_writer (checked at setup), fewer syscalls.
class batch_writer {
 public:
  batch_writer(const std::string& path, EVP_PKEY* key, size_t batch, bool fsync)
      : key_(key), batch_(batch), fsync_(fsync) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  }
  ~batch_writer() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0 && !failed_; }
  bool append(const json& record, int64_t now_ms) {
    const std::optional<std::string> canon = audit::canonical_json(record);
    if (!canon) return failed_ = true, false;
    const std::string prev_hex = auth::hex_encode(auth::as_chars(head_));
    ++seq_;
    head_ = audit::record_hash(head_, *canon, seq_);
    buf_ += audit::record_line(seq_, prev_hex, *canon, auth::hex_encode(auth::as_chars(head_)));
    buf_ += '\n';
    if (++pending_ >= 1000) checkpoint(now_ms);
    if (++in_batch_ >= batch_) flush();
    return !failed_;
  }
  void checkpoint(int64_t now_ms) {
    if (pending_ == 0) return;
    const std::string body = audit::checkpoint_body(seq_, auth::hex_encode(auth::as_chars(head_)), now_ms);
    const std::optional<std::string> sig = ed25519_sign(key_, body);
    if (!sig) {
      failed_ = true;
      return;
    }
    buf_ += audit::checkpoint_line(seq_, body, auth::base64_encode(*sig));
    buf_ += '\n';
    pending_ = 0;
  }
  void flush() {
    for (size_t off = 0; off < buf_.size() && !failed_;) {
      const ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
      if (n <= 0) failed_ = true;
      else off += static_cast<size_t>(n);
    }
    if (fsync_ && ::fdatasync(fd_) != 0) failed_ = true;
    buf_.clear();
    in_batch_ = 0;
  }
  uint64_t records() const { return seq_; }

 private:
  int fd_ = -1;
  EVP_PKEY* key_;
  size_t batch_;
  bool fsync_;
  auth::sha256_digest head_{};
  uint64_t seq_ = 0, pending_ = 0;
  size_t in_batch_ = 0;
  std::string buf_;
  bool failed_ = false;
};

void bm_audit_batch(benchmark::State& state, bool disk, size_t batch, bool fsync) {
  const environment& e = *g_env;
  const std::string path = next_log_path(dir_of(e, disk));
  batch_writer w(path, e.audit_key.get(), batch, fsync);
  size_t i = 0;
  for (auto _ : state) {
    if (!w.append(e.records[i], kNowMs)) break;
    i = (i + 1) % kRecords;
  }
  w.checkpoint(kNowMs);
  w.flush();
  const bool ok = w.ok();
  const uint64_t records = w.records();
  ::unlink(path.c_str());
  if (!ok) {
    state.SkipWithError("batch writer failed");
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(records));
  state.counters["records_per_s"] = benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
}

// The token cache's key: SHA-256 of the whole token text (what a hit costs besides the probe).
void bm_sha256(benchmark::State& state, size_t n) {
  const std::string text(n, 'e');
  for (auto _ : state) {
    auth::sha256_digest d = auth::sha256(text);
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

void bm_ed25519_sign(benchmark::State& state) {
  const environment& e = *g_env;
  const std::string body = audit::checkpoint_body(123456, audit::audit_genesis_hex, kNowMs);
  uint64_t bad = 0;
  for (auto _ : state) {
    auto sig = ed25519_sign(e.audit_key.get(), body);
    if (!sig) ++bad;
    benchmark::DoNotOptimize(sig);
  }
  if (bad) state.SkipWithError("Ed25519 signing failed");
}

// ---------------------------------------------------------------- setup

std::string make_dir(const char* base) {
  std::string t = std::string(base) + "/phigate-cp-bench-XXXXXX";
  return ::mkdtemp(t.data()) ? t : std::string();
}

// Writes `n` records with the batch model and with audit_writer and checks both with audit_verify.
std::string check_audit_formats(const environment& e) {
  const std::string model_path = e.tmpfs_dir + "/check-model.log";
  {
    batch_writer w(model_path, e.audit_key.get(), 64, true);
    for (size_t i = 0; i < 2500; ++i) w.append(e.records[i % kRecords], kNowMs);
    w.checkpoint(kNowMs);
    w.flush();
    if (!w.ok()) return "batch model could not write " + model_path;
  }
  const std::string shipped_path = e.tmpfs_dir + "/check-shipped.log";
  {
    auto opened = audit::audit_writer::open(shipped_path, auth::pkey_share(e.audit_key.get()));
    if (auto* err = std::get_if<audit::audit_error>(&opened)) return err->reason;
    auto& w = *std::get<std::unique_ptr<audit::audit_writer>>(opened);
    for (size_t i = 0; i < 2500; ++i)
      if (!std::holds_alternative<uint64_t>(w.append(e.records[i % kRecords], kNowMs))) return "audit_writer append failed";
    if (w.close(kNowMs)) return "audit_writer close failed";
  }
  std::string why;
  for (const std::string& p : {model_path, shipped_path}) {
    const audit::audit_report r = audit::audit_verify(p, e.audit_key.get());
    if (!r.intact() || r.records != 2500 || r.checkpoints != 3)
      why = p + ": " + std::string(audit::audit_fault_name(r.fault)) + " at line " + std::to_string(r.line) + " (" +
            std::to_string(r.records) + " records, " + std::to_string(r.checkpoints) + " checkpoints)";
    ::unlink(p.c_str());
  }
  return why;
}

std::string environment_build(environment& e) {
  try {
    e.rsa = test::generate("RSA", 2048);
    e.ec = test::generate("EC");
    e.ed = test::generate("ED25519");
  } catch (const std::exception& x) {
    return x.what();
  }
  const std::string jwks = test::jwks_of({test::public_jwk(e.rsa.get(), "rsa-1"), test::public_jwk(e.ec.get(), "ec-1", "ES256"),
                                          test::public_jwk(e.ed.get(), "ed-1", "EdDSA")});
  auto parsed = auth::jwks_parse(jwks);
  if (auto* err = std::get_if<auth::jwk_error>(&parsed)) return "jwks: " + err->where + ": " + err->reason;
  e.keys = std::move(std::get<auth::jwk_set>(parsed));
  e.policy.issuer = "https://idp.hospital.example.org/realms/clinical";
  e.policy.audience = "phigate";
  if (auto why = auth::jwt_policy_check(e.policy)) return "policy: " + *why;
  try {
    for (const auth::jws_alg a : kAlgs)
      for (size_t i = 0; i < kTokensPerAlg; ++i) e.tokens[static_cast<size_t>(a)].push_back(make_token(e, a, i));
  } catch (const std::exception& x) {
    return std::string("signing test tokens: ") + x.what();
  }
  for (const auth::jws_alg a : kAlgs) {
    auto r = auth::jwt_verify(e.tokens[static_cast<size_t>(a)][0], e.keys, e.policy, kNowS);
    if (auto* err = std::get_if<auth::jwt_error>(&r))
      return std::string(auth::jws_alg_name(a)) + " token refused: " + std::string(auth::jwt_error_name(*err));
  }
  auto key = audit::audit_key_generate();
  if (auto* err = std::get_if<audit::audit_error>(&key)) return err->reason;
  e.audit_key = std::move(std::get<auth::pkey_ptr>(key));
  for (size_t i = 0; i < kRecords; ++i) e.records.push_back(make_record(i));
  e.record_bytes = audit::canonical_json(e.records[0]).value_or("").size();
  e.tmpfs_dir = make_dir("/dev/shm");
  e.disk_dir = make_dir("/var/tmp");
  if (e.tmpfs_dir.empty() || e.disk_dir.empty()) return "cannot create the log directories";
  return check_audit_formats(e);
}

void register_all() {
  for (const auth::jws_alg a : kAlgs) {
    const std::string n(auth::jws_alg_name(a));
    benchmark::RegisterBenchmark(("jwt_verify/" + n).c_str(), bm_jwt_verify, a);
    benchmark::RegisterBenchmark(("openssl_verify/" + n).c_str(), bm_openssl_verify, a);
    benchmark::RegisterBenchmark(("token_miss/" + n).c_str(), bm_token_miss, a);
    benchmark::RegisterBenchmark(("token_hit/" + n).c_str(), bm_token_hit, a);
  }
  for (const bool disk : {false, true})
    for (const size_t sync_every : {size_t{1}, size_t{64}, size_t{0}}) {
      if (disk && sync_every == 0) continue;  // unsynced on disk measures the page cache: tmpfs does
      const std::string n = std::string("audit_writer/") + (disk ? "disk" : "tmpfs") +
                            (sync_every == 1 ? "/sync:each" : sync_every == 0 ? "/sync:none" : "/sync:64");
      benchmark::RegisterBenchmark(n.c_str(), bm_audit_writer, disk, sync_every);
    }
  for (const bool disk : {false, true})
    for (const size_t batch : {size_t{1}, size_t{64}})
      for (const bool fsync : {false, true}) {
        if (disk && !fsync) continue;
        const std::string n = std::string("audit_batch/") + (disk ? "disk" : "tmpfs") + "/batch:" +
                              std::to_string(batch) + "/fsync:" + (fsync ? "1" : "0");
        benchmark::RegisterBenchmark(n.c_str(), bm_audit_batch, disk, batch, fsync);
      }
  for (const bool disk : {false, true})
    for (const uint32_t batch : {1u, 64u, 256u})
      benchmark::RegisterBenchmark((std::string("audit_uplink/") + (disk ? "disk" : "tmpfs") + "/batch:" +
                                    std::to_string(batch)).c_str(),
                                   bm_audit_uplink, disk, batch);
  for (const size_t n : {size_t{565}, size_t{822}, size_t{2048}})
    benchmark::RegisterBenchmark(("sha256/" + std::to_string(n)).c_str(), bm_sha256, n);
  benchmark::RegisterBenchmark("ed25519_sign", bm_ed25519_sign);
}

}  // namespace
}  // namespace phigate::bench

int main(int argc, char** argv) {
  using namespace phigate::bench;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  auto env = std::make_unique<environment>();
  const std::string why = environment_build(*env);
  if (!why.empty()) {
    std::fprintf(stderr, "cp_bench: setup failed: %s\n", why.c_str());
    return 1;
  }
  g_env = env.get();
  benchmark::AddCustomContext("phigate.openssl", OpenSSL_version(OPENSSL_VERSION));
  std::string sizes;
  for (const phigate::auth::jws_alg a : kAlgs)
    sizes += std::string(sizes.empty() ? "" : ", ") + std::string(phigate::auth::jws_alg_name(a)) + " " +
             std::to_string(env->tokens[static_cast<size_t>(a)][0].size()) + " B";
  benchmark::AddCustomContext("phigate.token_bytes", sizes);
  benchmark::AddCustomContext("phigate.audit", "record " + std::to_string(env->record_bytes) +
                                                   " B canonical, checkpoint every 1000 records; logs in " +
                                                   env->tmpfs_dir + " (tmpfs) and " + env->disk_dir + " (disk)");
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  ::rmdir(env->tmpfs_dir.c_str());
  ::rmdir(env->disk_dir.c_str());
  return 0;
}
