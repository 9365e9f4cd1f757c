#include "controlplane/audit/audit_verify.hh"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>

#include <nlohmann/json.hpp>

namespace phigate::audit {

namespace {

using json = nlohmann::json;

constexpr std::string_view fault_names[] = {
    "none",           "unreadable",      "empty",           "line_too_long",      "partial_line",
    "malformed_line", "noncanonical_line", "bad_seq",       "bad_prev",           "bad_hash",
    "checkpoint_count", "checkpoint_hash", "checkpoint_time", "bad_signature",    "checkpoint_missing",
    "unsigned_tail",  "truncated",
};
static_assert(std::size(fault_names) == size_t(audit_fault::truncated) + 1);

bool ed25519_verify(EVP_PKEY* key, std::string_view msg, std::string_view sig) {
  auth::md_ctx_ptr ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key, nullptr) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) == 1;
  auth::openssl_clear_errors();
  return ok;
}

// A lowercase 64-digit hex string decoded into a digest.
bool hash_member(const json& j, const char* name, std::string& hex, auth::sha256_digest& out) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return false;
  hex = it->get<std::string>();
  if (hex.size() != 64) return false;
  auto raw = auth::hex_decode(hex);
  if (!raw) return false;
  std::memcpy(out.data(), raw->data(), out.size());
  return true;
}

bool unsigned_member(const json& j, const char* name, uint64_t& out) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_unsigned()) return false;
  out = it->get<uint64_t>();
  return true;
}

// Checks one line at a time; stops at the first fault. Holds only the chain state.
class chain_checker {
 public:
  chain_checker(EVP_PKEY* key, const audit_verify_options& options) : key_(key), options_(options) {}

  bool failed() const noexcept { return report_.fault != audit_fault::none; }

  // `text` is one complete line without its '\n'.
  void line(std::string_view text) {
    if (failed()) return;
    if (text.size() > audit_max_line_bytes) return fail(audit_fault::line_too_long);
    // Records nest at most audit_max_json_depth inside the line object.
    if (!json_depth_within(text, audit_max_json_depth + 1)) return fail(audit_fault::malformed_line, "nesting");
    json j = json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(audit_fault::malformed_line, "not a JSON object");
    if (j.size() == 4 && j.contains("seq") && j.contains("prev") && j.contains("rec") && j.contains("hash"))
      record(j, text);
    else if (j.size() == 3 && j.contains("seq") && j.contains("checkpoint") && j.contains("sig"))
      checkpoint(j, text);
    else
      fail(audit_fault::malformed_line, "neither a record nor a checkpoint");
    if (!failed()) ++report_.lines;
  }

  void line_too_long() { fail(audit_fault::line_too_long); }

  void fail_unreadable(const std::string& why) {
    if (!failed()) fail(audit_fault::unreadable, why);
  }

  audit_report finish(bool partial_last_line) {
    if (!failed()) {
      if (partial_last_line) {
        fail(audit_fault::partial_line);
      } else if (report_.lines == 0) {
        fail(audit_fault::empty);
      } else if (options_.expect_min_records > report_.records) {
        fail(audit_fault::truncated, "expected at least " + std::to_string(options_.expect_min_records) +
                                         " records, found " + std::to_string(report_.records));
      } else if (report_.records > report_.signed_records && !options_.allow_unsigned_tail) {
        report_.fault = audit_fault::unsigned_tail;
        report_.line = first_unsigned_line_;
        report_.detail = std::to_string(report_.records - report_.signed_records) +
                         " records after the last checkpoint (seq " + std::to_string(report_.signed_records + 1) +
                         ".." + std::to_string(report_.records) + ")";
      }
    }
    report_.unsigned_records = report_.records - report_.signed_records;
    report_.head_hash = auth::hex_encode(auth::as_chars(head_));
    report_.signatures_checked = key_ != nullptr;
    return std::move(report_);
  }

 private:
  void fail(audit_fault f, std::string detail = {}) {
    report_.fault = f;
    report_.line = report_.lines + 1;
    report_.detail = std::move(detail);
  }

  void record(const json& j, std::string_view text) {
    uint64_t seq = 0;
    std::string prev_hex, hash_hex;
    auth::sha256_digest prev{}, hash{};
    const auto rec = j.find("rec");
    if (!unsigned_member(j, "seq", seq) || !hash_member(j, "prev", prev_hex, prev) ||
        !hash_member(j, "hash", hash_hex, hash) || !rec->is_object())
      return fail(audit_fault::malformed_line, "record members of the wrong type");
    auto canonical = canonical_json(*rec);
    if (!canonical) return fail(audit_fault::malformed_line, "record not encodable");
    if (record_line(seq, prev_hex, *canonical, hash_hex) != text) return fail(audit_fault::noncanonical_line);
    if (seq != report_.records + 1)
      return fail(audit_fault::bad_seq,
                  "expected seq " + std::to_string(report_.records + 1) + ", found " + std::to_string(seq));
    if (prev != head_) return fail(audit_fault::bad_prev, "seq " + std::to_string(seq));
    if (record_hash(prev, *canonical, seq) != hash) return fail(audit_fault::bad_hash, "seq " + std::to_string(seq));
    head_ = hash;
    ++report_.records;
    if (first_unsigned_line_ == 0) first_unsigned_line_ = report_.lines + 1;
    if (options_.max_records_between_checkpoints != 0 &&
        report_.records - report_.signed_records > options_.max_records_between_checkpoints)
      return fail(audit_fault::checkpoint_missing,
                  "no checkpoint after seq " + std::to_string(report_.signed_records) + " within " +
                      std::to_string(options_.max_records_between_checkpoints) + " records");
  }

  void checkpoint(const json& j, std::string_view text) {
    uint64_t seq = 0, count = 0;
    std::string last_hex;
    auth::sha256_digest last{};
    const auto cp = j.find("checkpoint");
    const auto sig_it = j.find("sig");
    if (!unsigned_member(j, "seq", seq) || !cp->is_object() || cp->size() != 3 || !unsigned_member(*cp, "count", count) ||
        !hash_member(*cp, "last_hash", last_hex, last) || !cp->contains("time") || !(*cp)["time"].is_number_integer() ||
        !sig_it->is_string())
      return fail(audit_fault::malformed_line, "checkpoint members of the wrong type");
    const int64_t time_ms = (*cp)["time"].get<int64_t>();
    const std::string& sig_b64 = sig_it->get_ref<const std::string&>();
    auto sig = auth::base64_decode(sig_b64);
    if (!sig || sig->size() != 64) return fail(audit_fault::malformed_line, "signature is not 64 bytes of base64");
    const std::string body = checkpoint_body(count, last_hex, time_ms);
    if (checkpoint_line(seq, body, sig_b64) != text) return fail(audit_fault::noncanonical_line);
    if (seq != report_.records)
      return fail(audit_fault::bad_seq,
                  "checkpoint: expected seq " + std::to_string(report_.records) + ", found " + std::to_string(seq));
    if (count != report_.records)
      return fail(audit_fault::checkpoint_count,
                  "checkpoint count " + std::to_string(count) + ", records " + std::to_string(report_.records));
    if (last != head_) return fail(audit_fault::checkpoint_hash, "checkpoint at seq " + std::to_string(seq));
    if (report_.checkpoints > 0 && time_ms < report_.last_checkpoint_ms)
      return fail(audit_fault::checkpoint_time, "checkpoint at seq " + std::to_string(seq));
    if (key_ != nullptr && !ed25519_verify(key_, body, *sig))
      return fail(audit_fault::bad_signature, "checkpoint at seq " + std::to_string(seq));
    ++report_.checkpoints;
    report_.signed_records = report_.records;
    report_.last_checkpoint_ms = time_ms;
    first_unsigned_line_ = 0;
  }

  EVP_PKEY* key_;
  audit_verify_options options_;
  audit_report report_;
  auth::sha256_digest head_{};  // genesis: all zeros
  uint64_t first_unsigned_line_ = 0;
};

// Splits chunks into lines; a line longer than the limit is a fault without being buffered.
class line_splitter {
 public:
  explicit line_splitter(chain_checker& checker) : checker_(checker) {}

  void feed(std::string_view chunk) {
    while (!chunk.empty() && !checker_.failed()) {
      size_t nl = chunk.find('\n');
      std::string_view piece = chunk.substr(0, nl);
      if (pending_.size() + piece.size() > audit_max_line_bytes) {
        checker_.line_too_long();
        return;
      }
      if (nl == std::string_view::npos) {
        pending_.append(piece);
        return;
      }
      if (pending_.empty()) {
        checker_.line(piece);
      } else {
        pending_.append(piece);
        checker_.line(pending_);
        pending_.clear();
      }
      chunk.remove_prefix(nl + 1);
    }
  }

  bool partial() const noexcept { return !pending_.empty(); }

 private:
  chain_checker& checker_;
  std::string pending_;
};

}  // namespace

std::string_view audit_fault_name(audit_fault f) noexcept {
  return size_t(f) < std::size(fault_names) ? fault_names[size_t(f)] : std::string_view("unknown");
}

audit_report audit_verify_text(std::string_view log_text, EVP_PKEY* public_key, const audit_verify_options& options) {
  chain_checker checker(public_key, options);
  line_splitter splitter(checker);
  splitter.feed(log_text);
  return checker.finish(splitter.partial());
}

audit_report audit_verify(const std::string& path, EVP_PKEY* public_key, const audit_verify_options& options) {
  chain_checker checker(public_key, options);
  line_splitter splitter(checker);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    checker.fail_unreadable(std::string("open: ") + std::strerror(errno));
    return checker.finish(false);
  }
  static constexpr size_t chunk_bytes = 64 * 1024;
  std::string buf(chunk_bytes, '\0');
  while (!checker.failed()) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      checker.fail_unreadable(std::string("read: ") + std::strerror(errno));
      break;
    }
    if (n == 0) break;
    splitter.feed(std::string_view(buf.data(), size_t(n)));
  }
  ::close(fd);
  return checker.finish(splitter.partial());
}

}  // namespace phigate::audit
