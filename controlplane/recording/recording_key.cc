#include "controlplane/recording/recording_key.hh"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "controlplane/auth/crypto_util.hh"

namespace phigate::recording {

namespace {

constexpr std::string_view key_id_label = "phigate-recording-key-id-v1";

recording_error sys_error(recording_error_kind kind, const std::string& path, const char* what) {
  return {kind, path + ": " + what + ": " + std::strerror(errno)};
}

// The directory entry of a new file is durable only once its directory is fsynced.
void fsync_parent_dir(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

recording_key::recording_key(std::span<const uint8_t, recording_key_bytes> bytes) {
  std::memcpy(key_.data(), bytes.data(), key_.size());
  std::array<char, key_id_label.size() + recording_key_bytes> input{};
  std::memcpy(input.data(), key_id_label.data(), key_id_label.size());
  std::memcpy(input.data() + key_id_label.size(), key_.data(), key_.size());
  auth::sha256_digest d = auth::sha256(std::string_view(input.data(), input.size()));
  std::memcpy(id_.data(), d.data(), id_.size());
  OPENSSL_cleanse(input.data(), input.size());
  OPENSSL_cleanse(d.data(), d.size());
}

recording_key::~recording_key() { OPENSSL_cleanse(key_.data(), key_.size()); }

std::string recording_key::id_hex() const {
  return auth::hex_encode(std::string_view(reinterpret_cast<const char*>(id_.data()), id_.size()));
}

std::variant<recording_key, recording_error> recording_key_load(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sys_error(recording_error_kind::key, path, "cannot open key file");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    recording_error e = sys_error(recording_error_kind::key, path, "cannot stat key file");
    ::close(fd);
    return e;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return recording_error{recording_error_kind::key, path + ": key file is not a regular file"};
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return recording_error{recording_error_kind::key,
                           path + ": key file is accessible by group or others (chmod 600)"};
  }
  if (st.st_size != static_cast<off_t>(recording_key_bytes)) {
    ::close(fd);
    return recording_error{recording_error_kind::key, path + ": key file must hold exactly 32 bytes, found " +
                                                          std::to_string(static_cast<long long>(st.st_size))};
  }
  std::array<uint8_t, recording_key_bytes> raw{};
  size_t off = 0;
  while (off < raw.size()) {
    ssize_t n = ::read(fd, raw.data() + off, raw.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  if (off != raw.size()) {
    OPENSSL_cleanse(raw.data(), raw.size());
    return recording_error{recording_error_kind::key, path + ": short read of the key file"};
  }
  recording_key key(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return key;
}

std::variant<std::string, recording_error> recording_keygen(const std::string& path) {
  std::array<uint8_t, recording_key_bytes> raw{};
  if (RAND_priv_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    auth::openssl_clear_errors();
    return recording_error{recording_error_kind::io, "random number generator failed"};
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    OPENSSL_cleanse(raw.data(), raw.size());
    return sys_error(errno == EEXIST ? recording_error_kind::exists : recording_error_kind::io, path,
                     "cannot create key file");
  }
  size_t off = 0;
  bool ok = true;
  while (off < raw.size()) {
    ssize_t n = ::write(fd, raw.data() + off, raw.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    off += static_cast<size_t>(n);
  }
  if (ok && ::fsync(fd) != 0) ok = false;
  const int saved = errno;
  ::close(fd);
  if (!ok) {
    OPENSSL_cleanse(raw.data(), raw.size());
    ::unlink(path.c_str());
    errno = saved;
    return sys_error(recording_error_kind::io, path, "cannot write key file");
  }
  fsync_parent_dir(path);
  recording_key key(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return key.id_hex();
}

}  // namespace phigate::recording
