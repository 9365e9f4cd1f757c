#include "controlplane/audit/audit_log.hh"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "controlplane/audit/audit_verify.hh"

namespace phigate::audit {

namespace {

std::string sys_error(const std::string& path, const char* what) {
  return path + ": " + what + ": " + std::strerror(errno);
}

bool is_ed25519_private(EVP_PKEY* key) {
  size_t len = 0;
  bool ok = key != nullptr && EVP_PKEY_is_a(key, "ED25519") == 1 &&
            EVP_PKEY_get_raw_private_key(key, nullptr, &len) == 1 && len == 32;
  auth::openssl_clear_errors();
  return ok;
}

std::optional<std::string> ed25519_sign(EVP_PKEY* key, std::string_view msg) {
  auth::md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  size_t len = sig.size();
  bool ok = ctx && EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key, nullptr) == 1 &&
            EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) == 1 &&
            len == 64;
  auth::openssl_clear_errors();
  if (!ok) return std::nullopt;
  return sig;
}

// A new directory entry is durable only once the directory itself is synced.
void sync_parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

std::variant<std::unique_ptr<audit_writer>, audit_error> audit_writer::open(const std::string& path,
                                                                            auth::pkey_ptr signing_key,
                                                                            const audit_writer_options& options) {
  if (!is_ed25519_private(signing_key.get())) return audit_error{path + ": signing key is not an Ed25519 private key"};
  if (options.checkpoint_every_records == 0 || options.checkpoint_every_records > audit_max_records_per_checkpoint)
    return audit_error{"checkpoint_every_records must be 1..1000"};
  if (options.checkpoint_every_ms <= 0) return audit_error{"checkpoint_every_ms must be positive"};

  std::unique_ptr<audit_writer> w(new audit_writer());
  w->path_ = path;
  w->options_ = options;
  w->key_ = std::move(signing_key);

  bool created = true;
  w->fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (w->fd_ < 0 && errno == EEXIST) {
    created = false;
    w->fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  }
  if (w->fd_ < 0) return audit_error{sys_error(path, "cannot open")};
  if (::flock(w->fd_, LOCK_EX | LOCK_NB) != 0) return audit_error{sys_error(path, "cannot lock (another writer?)")};
  if (created) sync_parent_dir(path);

  struct stat st {};
  if (::fstat(w->fd_, &st) != 0) return audit_error{sys_error(path, "cannot stat")};
  if (!S_ISREG(st.st_mode)) return audit_error{path + ": not a regular file"};
  if (st.st_size == 0) return w;

  audit_verify_options vopt;
  vopt.allow_unsigned_tail = true;
  audit_report rep = audit_verify(path, w->key_.get(), vopt);
  if (rep.fault != audit_fault::none)
    return audit_error{path + ": existing log is not intact: line " + std::to_string(rep.line) + ": " +
                       std::string(audit_fault_name(rep.fault)) + (rep.detail.empty() ? "" : " (" + rep.detail + ")")};
  // The file verified must be the one we hold open and locked.
  struct stat again {};
  if (::stat(path.c_str(), &again) != 0 || again.st_ino != st.st_ino || again.st_dev != st.st_dev)
    return audit_error{path + ": replaced while opening"};
  auto head = auth::hex_decode(rep.head_hash);
  if (!head || head->size() != w->head_.size()) return audit_error{path + ": internal error reading the chain head"};
  std::memcpy(w->head_.data(), head->data(), w->head_.size());
  w->records_ = rep.records;
  w->pending_ = rep.unsigned_records;
  w->pending_age_unknown_ = w->pending_ > 0;
  w->last_line_is_checkpoint_ = w->pending_ == 0 && rep.checkpoints > 0;
  w->last_checkpoint_ms_ = rep.last_checkpoint_ms;
  w->any_line_ = true;
  return w;
}

audit_writer::~audit_writer() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<audit_error> audit_writer::usable() const {
  if (closed_) return audit_error{path_ + ": writer is closed"};
  if (failed_) return audit_error{path_ + ": writer failed earlier; the log needs an operator"};
  return std::nullopt;
}

std::optional<audit_error> audit_writer::write_line(std::string line, bool sync) {
  line += '\n';
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(fd_, line.data() + off, line.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failed_ = true;
      return audit_error{sys_error(path_, "write failed")};
    }
    off += size_t(n);
  }
  any_line_ = true;
  unsynced_ = true;
  if (!sync) return std::nullopt;
  return this->sync();
}

std::optional<audit_error> audit_writer::sync() {
  if (fd_ < 0 || !unsynced_) return std::nullopt;
  ++syncs_;
  if (::fdatasync(fd_) != 0) {
    failed_ = true;
    return audit_error{sys_error(path_, "fdatasync failed")};
  }
  unsynced_ = false;
  return std::nullopt;
}

std::variant<uint64_t, audit_error> audit_writer::append(const nlohmann::json& record, int64_t now_ms, bool sync) {
  if (auto e = usable()) return *e;
  const uint64_t seq = records_ + 1;
  if (!record.is_object()) return audit_error{"record for seq " + std::to_string(seq) + " is not a JSON object"};
  auto canonical = canonical_json(record);
  if (!canonical) return audit_error{"record for seq " + std::to_string(seq) + " nests too deep or is not UTF-8"};
  if (canonical->size() > audit_max_record_bytes)
    return audit_error{"record for seq " + std::to_string(seq) + " is larger than 64 KiB"};
  const auth::sha256_digest hash = record_hash(head_, *canonical, seq);
  if (auto e = write_line(record_line(seq, auth::hex_encode(auth::as_chars(head_)), *canonical,
                                      auth::hex_encode(auth::as_chars(hash))),
                              sync))
    return *e;
  head_ = hash;
  records_ = seq;
  if (pending_++ == 0) first_pending_ms_ = now_ms;
  last_line_is_checkpoint_ = false;
  (void)checkpoint_if_due(now_ms);  // a failure poisons the writer; the record itself is durable
  return seq;
}

std::optional<audit_error> audit_writer::checkpoint(int64_t now_ms) {
  if (auto e = usable()) return e;
  if (last_line_is_checkpoint_) return std::nullopt;
  const int64_t time_ms = std::max(now_ms, last_checkpoint_ms_);
  const std::string body = checkpoint_body(records_, auth::hex_encode(auth::as_chars(head_)), time_ms);
  auto sig = ed25519_sign(key_.get(), body);
  if (!sig) return audit_error{path_ + ": signing the checkpoint at seq " + std::to_string(records_) + " failed"};
  if (auto e = write_line(checkpoint_line(records_, body, auth::base64_encode(*sig)))) return e;
  pending_ = 0;
  pending_age_unknown_ = false;
  last_line_is_checkpoint_ = true;
  last_checkpoint_ms_ = time_ms;
  return std::nullopt;
}

std::optional<audit_error> audit_writer::checkpoint_if_due(int64_t now_ms) {
  if (auto e = usable()) return e;
  if (pending_ == 0) return std::nullopt;
  if (pending_ >= options_.checkpoint_every_records || pending_age_unknown_ ||
      now_ms - first_pending_ms_ >= options_.checkpoint_every_ms)
    return checkpoint(now_ms);
  return std::nullopt;
}

std::optional<audit_error> audit_writer::close(int64_t now_ms) {
  if (auto e = usable()) return e;
  auto e = checkpoint(now_ms);
  closed_ = true;
  if (fd_ >= 0 && ::close(fd_) != 0 && !e) e = audit_error{sys_error(path_, "close failed")};
  fd_ = -1;
  return e;
}

}  // namespace phigate::audit
