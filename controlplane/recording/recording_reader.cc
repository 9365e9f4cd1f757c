#include "controlplane/recording/recording_reader.hh"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace phigate::recording {

namespace {

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

std::variant<std::string, recording_error> recording_file_load(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return recording_error{recording_error_kind::io, path + ": cannot open: " + std::strerror(errno)};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return recording_error{recording_error_kind::io, path + ": not a regular file"};
  }
  if (static_cast<uint64_t>(st.st_size) > recording_max_file_bytes) {
    ::close(fd);
    return recording_error{recording_error_kind::invalid_argument, path + ": larger than 256 MiB, not a recording"};
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::read(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      recording_error e{recording_error_kind::io, path + ": read failed: " + std::strerror(errno)};
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  // A file that shrank while being read is reported as it is (it will fail authentication).
  data.resize(off);
  return data;
}

std::variant<recording, recording_error> recording_decrypt(std::span<const uint8_t> file, const recording_key& key) {
  auto opened = recording_open(file, key);
  if (auto* e = std::get_if<recording_error>(&opened)) return *e;
  std::string& doc = std::get<std::string>(opened);
  auto parsed = recording_parse(doc);
  OPENSSL_cleanse(doc.data(), doc.size());
  if (auto* r = std::get_if<recording>(&parsed)) {
    r->format_version = recording_format_version;
    r->key_id = key.id_hex();
  }
  return parsed;
}

std::variant<recording, recording_error> recording_read(const std::string& path, const recording_key& key) {
  auto loaded = recording_file_load(path);
  if (auto* e = std::get_if<recording_error>(&loaded)) return *e;
  auto r = recording_decrypt(as_bytes(std::get<std::string>(loaded)), key);
  if (auto* e = std::get_if<recording_error>(&r)) e->reason = path + ": " + e->reason;
  return r;
}

}  // namespace phigate::recording
