#include "controlplane/audit/audit_key.hh"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace phigate::audit {

namespace {

constexpr size_t key_file_max_bytes = 64 * 1024;

struct bio_free {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;

std::string sys_error(const std::string& path, const char* what) {
  return path + ": " + what + ": " + std::strerror(errno);
}

// Never prompt on a terminal: an encrypted key simply fails to load.
int no_passphrase(char*, int, int, void*) { return 0; }

bool is_ed25519(EVP_PKEY* key) { return key != nullptr && EVP_PKEY_is_a(key, "ED25519") == 1; }

std::optional<audit_error> write_new_file(const std::string& path, const std::string& data, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return audit_error{sys_error(path, "cannot create")};
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      audit_error e{sys_error(path, "write failed")};
      ::close(fd);
      return e;
    }
    off += size_t(n);
  }
  if (::fsync(fd) != 0) {
    audit_error e{sys_error(path, "fsync failed")};
    ::close(fd);
    return e;
  }
  ::close(fd);
  return std::nullopt;
}

std::variant<std::string, audit_error> read_small_file(const std::string& path, bool private_key) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return audit_error{sys_error(path, "cannot open")};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    audit_error e{sys_error(path, "cannot stat")};
    ::close(fd);
    return e;
  }
  if (!S_ISREG(st.st_mode) || size_t(st.st_size) > key_file_max_bytes) {
    ::close(fd);
    return audit_error{path + ": not a regular file of at most 64 KiB"};
  }
  if (private_key && (st.st_mode & 077) != 0) {
    ::close(fd);
    return audit_error{path + ": private key file is accessible by group or others (chmod 600)"};
  }
  std::string data(size_t(st.st_size), '\0');
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::read(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += size_t(n);
  }
  ::close(fd);
  data.resize(off);
  return data;
}

std::variant<auth::pkey_ptr, audit_error> load(const std::string& path, bool private_key) {
  auto data = read_small_file(path, private_key);
  if (auto* e = std::get_if<audit_error>(&data)) return *e;
  std::string& text = std::get<std::string>(data);
  bio_ptr bio(BIO_new_mem_buf(text.data(), int(text.size())));
  EVP_PKEY* key = nullptr;
  if (bio)
    key = private_key ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr)
                      : PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr);
  bio.reset();
  OPENSSL_cleanse(text.data(), text.size());
  auth::openssl_clear_errors();
  auth::pkey_ptr owned(key);
  if (!owned) return audit_error{path + (private_key ? ": no unencrypted PEM private key" : ": no PEM public key")};
  if (!is_ed25519(owned.get())) return audit_error{path + ": not an Ed25519 key"};
  return owned;
}

}  // namespace

std::variant<auth::pkey_ptr, audit_error> audit_key_generate() {
  auth::pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  auth::openssl_clear_errors();
  if (!key) return audit_error{"Ed25519 key generation failed"};
  return key;
}

std::optional<audit_error> audit_key_write(EVP_PKEY* key, const std::string& private_path,
                                           const std::string& public_path) {
  if (!is_ed25519(key)) return audit_error{"not an Ed25519 key"};
  bio_ptr priv(BIO_new(BIO_s_secmem())), pub(BIO_new(BIO_s_mem()));
  bool ok = priv && pub && PEM_write_bio_PrivateKey(priv.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1 &&
            PEM_write_bio_PUBKEY(pub.get(), key) == 1;
  auth::openssl_clear_errors();
  if (!ok) return audit_error{"cannot encode the key as PEM"};
  auto text = [](BIO* b) {
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    return std::string(p, n > 0 ? size_t(n) : 0);
  };
  std::string priv_pem = text(priv.get());
  auto e = write_new_file(private_path, priv_pem, 0600);
  OPENSSL_cleanse(priv_pem.data(), priv_pem.size());
  if (e) return e;
  return write_new_file(public_path, text(pub.get()), 0644);
}

std::variant<auth::pkey_ptr, audit_error> audit_private_key_load(const std::string& path) { return load(path, true); }

std::variant<auth::pkey_ptr, audit_error> audit_public_key_load(const std::string& path) { return load(path, false); }

std::optional<std::string> audit_key_public_raw(EVP_PKEY* key) {
  if (!is_ed25519(key)) return std::nullopt;
  std::string raw(32, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 || len != 32) {
    auth::openssl_clear_errors();
    return std::nullopt;
  }
  return raw;
}

}  // namespace phigate::audit
