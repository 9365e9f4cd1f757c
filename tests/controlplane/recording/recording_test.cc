// Unit tests of session recordings: key files, the writer's cap and truncation marker, header
// redaction (in every segmentation), sealing, and the reader's refusal of every kind of damage.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "controlplane/auth/crypto_util.hh"
#include "controlplane/recording/header_redactor.hh"
#include "controlplane/recording/recording_file.hh"
#include "controlplane/recording/recording_key.hh"
#include "controlplane/recording/recording_reader.hh"
#include "controlplane/recording/recording_writer.hh"
#include "tests/support/segmentation.hh"

namespace phigate::recording {
namespace {

using dir = recording_direction;

std::array<uint8_t, 32> key_bytes(uint8_t seed) {
  std::array<uint8_t, 32> k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = uint8_t(seed * 31 + i * 7);
  return k;
}

recording_key test_key(uint8_t seed = 1) { return recording_key(key_bytes(seed)); }

std::span<const uint8_t> bytes_of(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

class temp_dir {
 public:
  temp_dir() {
    std::string base = (access("/dev/shm", W_OK) == 0) ? "/dev/shm" : "/tmp";
    std::string tmpl = base + "/phigate-rec-test-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~temp_dir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_)) out.push_back(e.path().filename().string());
    return out;
  }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& data, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, data.data(), data.size()), ssize_t(data.size()));
  ::close(fd);
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

recording_meta test_meta(const std::string& id = "sess-1") {
  recording_meta m;
  m.session_id = id;
  m.flow = {"10.1.2.3", 50000, "fd00::9", 8000};
  m.start_unix_ns = 1714564800123456789;
  m.request_ids = {"req-1"};
  return m;
}

recording decrypt_ok(const std::string& file, const recording_key& key) {
  auto r = recording_decrypt(bytes_of(file), key);
  if (auto* e = std::get_if<recording_error>(&r)) {
    ADD_FAILURE() << "decrypt failed: " << e->reason;
    return {};
  }
  return std::get<recording>(std::move(r));
}

std::string seal_ok(const recording_writer& w, const recording_key& key) {
  auto s = w.seal(key);
  if (auto* e = std::get_if<recording_error>(&s)) {
    ADD_FAILURE() << "seal failed: " << e->reason;
    return {};
  }
  return std::get<std::string>(std::move(s));
}

recording_error_kind decrypt_error(const std::string& file, const recording_key& key, std::string* reason = nullptr) {
  auto r = recording_decrypt(bytes_of(file), key);
  if (std::holds_alternative<recording>(r)) {
    ADD_FAILURE() << "decrypt unexpectedly succeeded";
    return recording_error_kind::invalid_argument;
  }
  if (reason) *reason = std::get<recording_error>(r).reason;
  return std::get<recording_error>(r).kind;
}

void expect_same(const recording& a, const recording& b) {
  EXPECT_EQ(a.meta.session_id, b.meta.session_id);
  EXPECT_EQ(a.meta.flow.client_addr, b.meta.flow.client_addr);
  EXPECT_EQ(a.meta.flow.client_port, b.meta.flow.client_port);
  EXPECT_EQ(a.meta.flow.server_addr, b.meta.flow.server_addr);
  EXPECT_EQ(a.meta.flow.server_port, b.meta.flow.server_port);
  EXPECT_EQ(a.meta.start_unix_ns, b.meta.start_unix_ns);
  EXPECT_EQ(a.meta.request_ids, b.meta.request_ids);
  EXPECT_EQ(a.max_bytes, b.max_bytes);
  EXPECT_EQ(a.rejected_masks, b.rejected_masks);
  EXPECT_EQ(a.truncation.truncated, b.truncation.truncated);
  EXPECT_EQ(a.truncation.cap, b.truncation.cap);
  EXPECT_EQ(a.truncation.at_t_ns, b.truncation.at_t_ns);
  EXPECT_EQ(a.truncation.bytes_dropped, b.truncation.bytes_dropped);
  EXPECT_EQ(a.truncation.events_dropped, b.truncation.events_dropped);
  ASSERT_EQ(a.events.size(), b.events.size());
  for (size_t i = 0; i < a.events.size(); ++i) {
    const auto &x = a.events[i], &y = b.events[i];
    EXPECT_EQ(x.t_ns, y.t_ns) << i;
    EXPECT_EQ(x.direction, y.direction) << i;
    EXPECT_EQ(x.bytes, y.bytes) << i;
    ASSERT_EQ(x.masks.size(), y.masks.size()) << i;
    for (size_t k = 0; k < x.masks.size(); ++k) {
      EXPECT_EQ(x.masks[k].offset, y.masks[k].offset);
      EXPECT_EQ(x.masks[k].length, y.masks[k].length);
      EXPECT_EQ(x.masks[k].entity, y.masks[k].entity);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Keys

TEST(RecordingKey, IdIsDerivedAndDistinguishesKeys) {
  EXPECT_EQ(test_key(1).id_hex(), test_key(1).id_hex());
  EXPECT_NE(test_key(1).id_hex(), test_key(2).id_hex());
  EXPECT_EQ(test_key(1).id_hex().size(), 16u);
  // The id is not a prefix of the key itself.
  EXPECT_NE(test_key(1).id_hex(), auth::hex_encode(std::string_view(reinterpret_cast<const char*>(key_bytes(1).data()), 8)));
}

TEST(RecordingKey, KeygenWritesPrivateFileAndNeverOverwrites) {
  temp_dir d;
  auto id = recording_keygen(d / "k");
  ASSERT_TRUE(std::holds_alternative<std::string>(id)) << std::get<recording_error>(id).reason;
  struct stat st {};
  ASSERT_EQ(::stat((d / "k").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  auto loaded = recording_key_load(d / "k");
  ASSERT_TRUE(std::holds_alternative<recording_key>(loaded));
  EXPECT_EQ(std::get<recording_key>(loaded).id_hex(), std::get<std::string>(id));

  const std::string before = read_file(d / "k");
  auto again = recording_keygen(d / "k");
  ASSERT_TRUE(std::holds_alternative<recording_error>(again));
  EXPECT_EQ(std::get<recording_error>(again).kind, recording_error_kind::exists);
  EXPECT_EQ(read_file(d / "k"), before);

  // Two fresh keys differ.
  auto other = recording_keygen(d / "k2");
  ASSERT_TRUE(std::holds_alternative<std::string>(other));
  EXPECT_NE(std::get<std::string>(other), std::get<std::string>(id));
}

TEST(RecordingKey, LoadRefusesGroupOrWorldAccessibleFiles) {
  temp_dir d;
  const auto k = key_bytes(3);
  const std::string raw(reinterpret_cast<const char*>(k.data()), k.size());
  for (mode_t mode : {0640, 0604, 0644, 0660, 0606, 0610, 0601, 0666}) {
    write_file(d / "k", raw, mode);
    auto r = recording_key_load(d / "k");
    ASSERT_TRUE(std::holds_alternative<recording_error>(r)) << std::oct << mode;
    EXPECT_EQ(std::get<recording_error>(r).kind, recording_error_kind::key);
    EXPECT_NE(std::get<recording_error>(r).reason.find("chmod 600"), std::string::npos);
    std::filesystem::remove(d / "k");
  }
  for (mode_t mode : {0600, 0400}) {
    write_file(d / "k", raw, mode);
    auto r = recording_key_load(d / "k");
    ASSERT_TRUE(std::holds_alternative<recording_key>(r)) << std::oct << mode;
    EXPECT_EQ(std::get<recording_key>(r).id_hex(), test_key(3).id_hex());
    std::filesystem::remove(d / "k");
  }
}

TEST(RecordingKey, LoadRefusesWrongSizeMissingAndNonRegular) {
  temp_dir d;
  for (size_t n : {0, 31, 33, 64}) {
    write_file(d / "k", std::string(n, 'k'), 0600);
    auto r = recording_key_load(d / "k");
    ASSERT_TRUE(std::holds_alternative<recording_error>(r)) << n;
    EXPECT_NE(std::get<recording_error>(r).reason.find("exactly 32 bytes"), std::string::npos);
  }
  // A 64-hex-digit text key is 64 or 65 bytes: refused, not misread.
  EXPECT_TRUE(std::holds_alternative<recording_error>(recording_key_load(d / "missing")));
  ASSERT_EQ(::mkdir((d / "sub").c_str(), 0700), 0);
  EXPECT_TRUE(std::holds_alternative<recording_error>(recording_key_load(d / "sub")));
}

// ---------------------------------------------------------------------------------------------
// Round trip

TEST(RecordingRoundTrip, BinaryBytesEmptyEventsMasksAndMetadata) {
  const auto key = test_key();
  recording_writer w(test_meta(), 5'000'000'000, {});
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(char(i));
  w.append(5'000'000'000, dir::request, std::string_view("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  w.append(5'000'100'000, dir::response, std::string_view());  // empty event
  const recording_mask_span masks[] = {{10, 4, "ssn"}, {200, 56, "mrn"}};
  w.append(5'012'345'678, dir::response, bytes_of(all), masks);
  w.append(5'012'345'678, dir::request, std::string_view());
  w.add_request_id("req-2");
  const std::string file = seal_ok(w, key);

  recording r = decrypt_ok(file, key);
  expect_same(r, w.current());
  EXPECT_EQ(r.format_version, 1u);
  EXPECT_EQ(r.key_id, key.id_hex());
  ASSERT_EQ(r.events.size(), 4u);
  EXPECT_EQ(r.events[0].t_ns, 0);
  EXPECT_EQ(r.events[1].t_ns, 100'000);
  EXPECT_EQ(r.events[1].bytes, "");
  EXPECT_EQ(r.events[2].t_ns, 12'345'678);
  EXPECT_EQ(r.events[2].bytes, all);
  ASSERT_EQ(r.events[2].masks.size(), 2u);
  EXPECT_EQ(r.events[2].masks[1].entity, "mrn");
  EXPECT_EQ(r.meta.request_ids, (std::vector<std::string>{"req-1", "req-2"}));
  EXPECT_EQ(r.meta.flow.server_addr, "fd00::9");
  EXPECT_EQ(r.max_bytes, 1u << 20);
}

TEST(RecordingRoundTrip, ManyEvents) {
  const auto key = test_key();
  recording_writer w(test_meta("many"), 0, {});
  std::mt19937 rng(7);
  int64_t t = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string chunk(rng() % 200, '\0');
    for (char& c : chunk) c = char(rng());
    std::vector<recording_mask_span> m;
    if (chunk.size() > 10) m.push_back({uint32_t(rng() % (chunk.size() - 5)), 5, "phone"});
    t += rng() % 100000;
    w.append(t, i % 3 == 0 ? dir::request : dir::response, bytes_of(chunk), m);
  }
  EXPECT_FALSE(w.current().truncation.truncated);
  EXPECT_EQ(w.current().events.size(), 5000u);
  recording r = decrypt_ok(seal_ok(w, key), key);
  expect_same(r, w.current());
}

TEST(RecordingRoundTrip, FinishWritesPrivateAtomicFileAndReturnsItsDigest) {
  temp_dir d;
  const auto key = test_key();
  recording_writer w(test_meta("sess-42"), 0, {});
  w.append(1, dir::response, std::string_view("marker-c0ffee-plaintext"));
  auto out = w.finish(key, d.path());
  ASSERT_TRUE(std::holds_alternative<recording_written>(out)) << std::get<recording_error>(out).reason;
  const auto& written = std::get<recording_written>(out);
  EXPECT_EQ(written.path, d / "sess-42.rec");
  EXPECT_EQ(d.entries(), std::vector<std::string>{"sess-42.rec"});  // no temp file left

  struct stat st {};
  ASSERT_EQ(::stat(written.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string file = read_file(written.path);
  EXPECT_EQ(written.file_bytes, file.size());
  EXPECT_EQ(written.sha256_hex, auth::hex_encode(auth::as_chars(auth::sha256(file))));
  EXPECT_EQ(file.find("marker-c0ffee"), std::string::npos) << "plaintext on disk";
  EXPECT_EQ(file.find("sess-42"), std::string::npos) << "metadata is encrypted too";

  auto r = recording_read(written.path, key);
  ASSERT_TRUE(std::holds_alternative<recording>(r)) << std::get<recording_error>(r).reason;
  EXPECT_EQ(std::get<recording>(r).events.at(0).bytes, "marker-c0ffee-plaintext");

  // Finished: memory released, further appends ignored, no second file.
  EXPECT_TRUE(w.finished());
  EXPECT_TRUE(w.current().events.empty());
  w.append(2, dir::response, std::string_view("late"));
  EXPECT_TRUE(w.current().events.empty());
  auto again = w.finish(key, d.path());
  ASSERT_TRUE(std::holds_alternative<recording_error>(again));
}

TEST(RecordingRoundTrip, FinishNeverReplacesAnExistingRecording) {
  temp_dir d;
  const auto key = test_key();
  write_file(d / "dup.rec", "earlier recording", 0600);
  recording_writer w(test_meta("dup"), 0, {});
  w.append(1, dir::response, std::string_view("x"));
  auto out = w.finish(key, d.path());
  ASSERT_TRUE(std::holds_alternative<recording_error>(out));
  EXPECT_EQ(std::get<recording_error>(out).kind, recording_error_kind::exists);
  EXPECT_EQ(read_file(d / "dup.rec"), "earlier recording");
  EXPECT_EQ(d.entries(), std::vector<std::string>{"dup.rec"});
  EXPECT_FALSE(w.finished());
  // Retry elsewhere works: the events were kept.
  temp_dir d2;
  auto retry = w.finish(key, d2.path());
  ASSERT_TRUE(std::holds_alternative<recording_written>(retry));
}

TEST(RecordingRoundTrip, FinishRejectsUnsafeSessionIdsAndMissingDirectories) {
  const auto key = test_key();
  temp_dir d;
  for (const char* id : {"", "../escape", "a/b", ".hidden", "-dash", "sp ace", "x\n"}) {
    recording_writer w(test_meta(id), 0, {});
    auto out = w.finish(key, d.path());
    ASSERT_TRUE(std::holds_alternative<recording_error>(out)) << id;
    EXPECT_EQ(std::get<recording_error>(out).kind, recording_error_kind::invalid_argument);
  }
  EXPECT_TRUE(d.entries().empty());
  EXPECT_TRUE(recording_session_id_valid("a.b_c-D9"));
  EXPECT_FALSE(recording_session_id_valid(std::string(129, 'a')));

  recording_writer w(test_meta("ok"), 0, {});
  auto out = w.finish(key, d / "does-not-exist");
  ASSERT_TRUE(std::holds_alternative<recording_error>(out));
  EXPECT_EQ(std::get<recording_error>(out).kind, recording_error_kind::io);
}

TEST(RecordingRoundTrip, EachSealUsesAFreshNonce) {
  const auto key = test_key();
  recording_writer w(test_meta(), 0, {});
  w.append(0, dir::response, std::string_view("same content"));
  const std::string a = seal_ok(w, key), b = seal_ok(w, key);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a.substr(0, recording_header_bytes), b.substr(0, recording_header_bytes));
  EXPECT_NE(a.substr(recording_header_bytes, recording_nonce_bytes), b.substr(recording_header_bytes, recording_nonce_bytes));
  EXPECT_NE(a.substr(recording_header_bytes + recording_nonce_bytes), b.substr(recording_header_bytes + recording_nonce_bytes));
  expect_same(decrypt_ok(a, key), decrypt_ok(b, key));
}

// The layout in recording_file.hh, checked with OpenSSL directly rather than through
// recording_open: header as AAD, then nonce, ciphertext, tag.
TEST(RecordingFormat, LayoutIsAes256GcmWithTheHeaderAsAad) {
  const auto key = test_key(9);
  const std::array<uint8_t, 12> nonce = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const std::string doc = "{\"hello\":1}";
  auto sealed = recording_seal_with_nonce(doc, key, nonce);
  ASSERT_TRUE(std::holds_alternative<std::string>(sealed));
  const std::string& f = std::get<std::string>(sealed);
  ASSERT_EQ(f.size(), 48 + doc.size());
  EXPECT_EQ(f.substr(0, 8), std::string("PHIGREC\0", 8));
  EXPECT_EQ(f.substr(8, 4), std::string("\x00\x01\x00\x00", 4));
  EXPECT_EQ(f.substr(12, 8), std::string(reinterpret_cast<const char*>(key.id().data()), 8));
  EXPECT_EQ(f.substr(20, 12), std::string(reinterpret_cast<const char*>(nonce.data()), 12));

  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ASSERT_NE(ctx, nullptr);
  const auto* u = reinterpret_cast<const unsigned char*>(f.data());
  std::string plain(doc.size(), '\0');
  int n = 0;
  ASSERT_EQ(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key_bytes(9).data(), nonce.data()), 1);
  ASSERT_EQ(EVP_DecryptUpdate(ctx, nullptr, &n, u, 20), 1);
  ASSERT_EQ(EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(plain.data()), &n, u + 32, int(doc.size())), 1);
  ASSERT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, const_cast<unsigned char*>(u + 32 + doc.size())), 1);
  EXPECT_EQ(EVP_DecryptFinal_ex(ctx, nullptr, &n), 1);
  EVP_CIPHER_CTX_free(ctx);
  EXPECT_EQ(plain, doc);
}

// ---------------------------------------------------------------------------------------------
// Cap and truncation marker

TEST(RecordingCap, CutsAtTheByteCapAndCountsEverythingAfter) {
  recording_limits lim;
  lim.max_bytes = 100;
  recording_writer w(test_meta(), 0, lim);
  w.append(10, dir::request, std::string(60, 'a'));
  const recording_mask_span masks[] = {{10, 20, "ssn"}, {35, 10, "phone"}, {45, 5, "mrn"}};
  w.append(20, dir::response, std::string(60, 'b'), masks);  // 40 fit: [10,30) whole, [35,40) cut, [45,50) gone
  w.append(30, dir::response, std::string(25, 'c'));
  w.append(40, dir::request, std::string_view());
  const recording& c = w.current();
  EXPECT_EQ(w.stored_bytes(), 100u);
  ASSERT_EQ(c.events.size(), 2u);
  EXPECT_EQ(c.events[1].bytes, std::string(40, 'b'));
  ASSERT_EQ(c.events[1].masks.size(), 2u);
  EXPECT_EQ(c.events[1].masks[0].length, 20u);
  EXPECT_EQ(c.events[1].masks[1].offset, 35u);
  EXPECT_EQ(c.events[1].masks[1].length, 5u);
  EXPECT_TRUE(c.truncation.truncated);
  EXPECT_EQ(c.truncation.cap, "max_bytes");
  EXPECT_EQ(c.truncation.at_t_ns, 20);
  EXPECT_EQ(c.truncation.bytes_dropped, 20u + 25u);
  EXPECT_EQ(c.truncation.events_dropped, 3u);

  const auto key = test_key();
  expect_same(decrypt_ok(seal_ok(w, key), key), c);
}

TEST(RecordingCap, DefaultCapIsOneMebibyteAndAppendNeverFails) {
  recording_writer w(test_meta(), 0, {});
  const std::string chunk(64 * 1024, 'z');
  for (int i = 0; i < 40; ++i) w.append(i, dir::response, chunk);  // 2.5 MiB offered
  EXPECT_EQ(w.stored_bytes(), 1u << 20);
  EXPECT_EQ(w.current().events.size(), 16u);
  EXPECT_EQ(w.current().truncation.bytes_dropped, 40u * chunk.size() - (1u << 20));
  EXPECT_EQ(w.current().truncation.events_dropped, 24u);
  EXPECT_EQ(w.current().truncation.at_t_ns, 16);
}

TEST(RecordingCap, EventAndMaskCaps) {
  recording_limits lim;
  lim.max_events = 3;
  recording_writer w(test_meta(), 0, lim);
  for (int i = 0; i < 5; ++i) w.append(i, dir::response, std::string_view("xy"));
  EXPECT_EQ(w.current().events.size(), 3u);
  EXPECT_EQ(w.current().truncation.cap, "max_events");
  EXPECT_EQ(w.current().truncation.events_dropped, 2u);
  EXPECT_EQ(w.current().truncation.bytes_dropped, 4u);

  recording_limits lm;
  lm.max_masks = 2;
  recording_writer m(test_meta(), 0, lm);
  const recording_mask_span one[] = {{0, 1, "ssn"}};
  const recording_mask_span two[] = {{0, 1, "ssn"}, {1, 1, "ssn"}};
  m.append(0, dir::response, std::string_view("ab"), one);
  m.append(1, dir::response, std::string_view("cd"), two);  // would make 3: dropped whole
  m.append(2, dir::response, std::string_view("ef"));
  EXPECT_EQ(m.current().events.size(), 1u);
  EXPECT_EQ(m.current().truncation.cap, "max_masks");
  EXPECT_EQ(m.current().truncation.events_dropped, 2u);
}

TEST(RecordingWriter, ClampsTimeAndRejectsBadSpans) {
  recording_writer w(test_meta(), 1000, {});
  const recording_mask_span bad[] = {{0, 0, "ssn"}, {3, 2, "ssn"}, {5, 1, "ssn"}, {0xffffffff, 2, "ssn"},
                                     {1, 1, "bad entity!"}, {0, 1, "ok_entity"}};
  w.append(500, dir::response, std::string_view("abcd"), bad);  // before the start
  w.append(3000, dir::response, std::string_view("e"));
  w.append(2000, dir::response, std::string_view("f"));  // clock went back
  const recording& c = w.current();
  EXPECT_EQ(c.events[0].t_ns, 0);
  EXPECT_EQ(c.events[1].t_ns, 2000);
  EXPECT_EQ(c.events[2].t_ns, 2000);
  EXPECT_EQ(c.rejected_masks, 4u);
  ASSERT_EQ(c.events[0].masks.size(), 2u);  // sorted by offset
  EXPECT_EQ(c.events[0].masks[0].entity, "ok_entity");
  EXPECT_EQ(c.events[0].masks[1].entity, "unknown");
  const auto key = test_key();
  expect_same(decrypt_ok(seal_ok(w, key), key), c);
}

// ---------------------------------------------------------------------------------------------
// Header redaction

std::string redact_whole(std::string_view in, std::span<const std::string> extra = {}) {
  header_redactor r(extra);
  std::string out;
  r.feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(in.data()), in.size()), out);
  return out;
}

TEST(HeaderRedactor, Table) {
  struct row {
    const char* in;
    const char* out;
  };
  const row rows[] = {
      {"Authorization: Bearer abc.def\r\n", "Authorization: [redacted]\r\n"},
      {"authorization:Basic dXNlcjpw\r\n", "authorization:[redacted]\r\n"},
      {"PROXY-AUTHORIZATION: Basic xyz\r\n", "PROXY-AUTHORIZATION: [redacted]\r\n"},
      {"X-Api-Key: sk-1234567890\r\n", "X-Api-Key: [redacted]\r\n"},
      {"Cookie: a=1; b=2\r\n", "Cookie: [redacted]\r\n"},
      {"Authorization :  x\t\r\n", "Authorization :  [redacted]\r\n"},        // OWS before the colon
      {"Authorization:\r\n", "Authorization:[redacted]\r\n"},                  // empty value: no length hint
      {"Authorization: a\rb\r\n", "Authorization: [redacted]\r\n"},            // lone CR is value
      {"Authorization: a\nHost: h\n", "Authorization: [redacted]\nHost: h\n"},  // bare LF
      {"Cookie: a\r\n b=2\r\n\tc=3\r\nHost: h\r\n", "Cookie: [redacted]\r\n [redacted]\r\n\t[redacted]\r\nHost: h\r\n"},
      {"Host: h\r\n x\r\n", "Host: h\r\n x\r\n"},                       // continuation of a harmless header
      {"X-Api-Key-Id: 7\r\nCookies: 1\r\n", "X-Api-Key-Id: 7\r\nCookies: 1\r\n"},  // exact names only
      {"GET http://h:80/authorization: HTTP/1.1\r\n", "GET http://h:80/authorization: HTTP/1.1\r\n"},
      {"Authorization: tail-without-newline", "Authorization: [redacted]"},
      {"Authorization: x\r", "Authorization: [redacted]"},  // a held CR that never gets its LF
  };
  for (const row& r : rows) EXPECT_EQ(redact_whole(r.in), r.out) << r.in;
}

TEST(HeaderRedactor, ExtraNamesAndKeepAliveRequests) {
  const std::vector<std::string> extra = {"Api-Key"};
  EXPECT_EQ(redact_whole("api-key: azure-secret\r\n", extra), "api-key: [redacted]\r\n");
  EXPECT_EQ(redact_whole("api-key: azure-secret\r\n"), "api-key: azure-secret\r\n");
  const std::string two =
      "POST /a HTTP/1.1\r\nAuthorization: one\r\nContent-Length: 2\r\n\r\n{}"
      "POST /b HTTP/1.1\r\nAuthorization: two\r\n\r\n";
  EXPECT_EQ(redact_whole(two),
            "POST /a HTTP/1.1\r\nAuthorization: [redacted]\r\nContent-Length: 2\r\n\r\n{}"
            "POST /b HTTP/1.1\r\nAuthorization: [redacted]\r\n\r\n");
}

TEST(HeaderRedactor, SameOutputInEverySegmentation) {
  const std::string in =
      "POST /v1/chat HTTP/1.1\r\nHost: llm\r\nAUTHORIZATION: Bearer sk-SECRET\r\nCookie: s=SECRET2\r\n"
      "\tSECRET3\r\nX-Api-Key:SECRET4\r\nContent-Length: 2\r\n\r\n{}";
  const std::string expect = redact_whole(in);
  EXPECT_EQ(expect.find("SECRET"), std::string::npos);
  for (const auto& seg : test::all_segmentations(in.size())) {
    header_redactor r;
    std::string out;
    test::feed_segmented(in, seg, [&](std::span<uint8_t> piece) { r.feed(piece, out); });
    ASSERT_EQ(out, expect) << test::describe(seg);
  }
}

// The writer redacts request chunks itself; responses are recorded as forwarded.
TEST(HeaderRedactor, WriterRedactsRequestsAcrossChunksAndMovesMasks) {
  recording_writer w(test_meta(), 0, {});
  w.append(0, dir::request, std::string_view("POST / HTTP/1.1\r\nAuthorization: Bearer sk-SEC"));
  // "RET\r\n" ends the value; the mask covers "***" in the body after it.
  const std::string second = "RET\r\nContent-Length: 9\r\n\r\n{\"a\":***}";
  const recording_mask_span m[] = {{uint32_t(second.find("***")), 3, "ssn"}, {0, 3, "ssn"}};
  w.append(1, dir::request, second, m);
  w.append(2, dir::response, std::string_view("HTTP/1.1 200 OK\r\nSet-Cookie: x\r\nAuthorization: y\r\n\r\n"));
  const recording& c = w.current();
  ASSERT_EQ(c.events.size(), 3u);
  EXPECT_EQ(c.events[0].bytes, "POST / HTTP/1.1\r\nAuthorization: [redacted]");
  EXPECT_EQ(c.events[1].bytes, "\r\nContent-Length: 9\r\n\r\n{\"a\":***}");
  ASSERT_EQ(c.events[1].masks.size(), 1u);  // the span inside the removed value went with it
  EXPECT_EQ(c.events[1].bytes.substr(c.events[1].masks[0].offset, c.events[1].masks[0].length), "***");
  EXPECT_EQ(c.events[1].masks[0].entity, "ssn");
  EXPECT_EQ(c.events[2].bytes, "HTTP/1.1 200 OK\r\nSet-Cookie: x\r\nAuthorization: y\r\n\r\n");
}

TEST(HeaderRedactor, MaskStraddlingARedactedValueKeepsItsVisibleBytes) {
  recording_writer w(test_meta(), 0, {});
  const std::string in = "Host: abc\r\nCookie: zz\r\nX: 1\r\n";
  // [6, 21): "abc\r\nCookie: zz" -> only its surviving bytes "abc\r\nCookie: ".
  const recording_mask_span m[] = {{6, 15, "other"}, {19, 5, "x"}};
  w.append(0, dir::request, in, m);
  const recorded_event& e = w.current().events.at(0);
  EXPECT_EQ(e.bytes, "Host: abc\r\nCookie: [redacted]\r\nX: 1\r\n");
  ASSERT_EQ(e.masks.size(), 2u);
  EXPECT_EQ(e.bytes.substr(e.masks[0].offset, e.masks[0].length), "abc\r\nCookie: ");
  // [19, 24) = "zz\r\nX": "zz" removed, CR re-emitted after the marker, "\nX" kept.
  EXPECT_EQ(e.bytes.substr(e.masks[1].offset, e.masks[1].length), "\nX");
}

// ---------------------------------------------------------------------------------------------
// Tampering: every region, every byte

struct sealed_fixture {
  recording_key key = test_key(5);
  std::string file;
  sealed_fixture() {
    recording_writer w(test_meta("tamper"), 0, {});
    const recording_mask_span m[] = {{4, 3, "ssn"}};
    w.append(0, dir::request, std::string_view("GET / HTTP/1.1\r\n\r\n"));
    w.append(7, dir::response, std::string_view("SSN ***-**-**** end"), m);
    file = std::get<std::string>(w.seal(key));
  }
};

TEST(RecordingTamper, EveryRegionIsRefusedWithItsReason) {
  sealed_fixture f;
  const size_t ct = recording_header_bytes + recording_nonce_bytes;
  const size_t tag = f.file.size() - recording_tag_bytes;
  struct region {
    const char* name;
    size_t pos;
    recording_error_kind kind;
  };
  const region regions[] = {
      {"magic", 0, recording_error_kind::not_a_recording},
      {"magic end", 7, recording_error_kind::not_a_recording},
      {"version", 9, recording_error_kind::unsupported_version},
      {"reserved (AAD)", 10, recording_error_kind::authentication_failed},
      {"reserved (AAD)", 11, recording_error_kind::authentication_failed},
      {"key id (AAD)", 12, recording_error_kind::wrong_key},
      {"key id (AAD)", 19, recording_error_kind::wrong_key},
      {"nonce", 20, recording_error_kind::authentication_failed},
      {"nonce", 31, recording_error_kind::authentication_failed},
      {"ciphertext first", ct, recording_error_kind::authentication_failed},
      {"ciphertext middle", (ct + tag) / 2, recording_error_kind::authentication_failed},
      {"ciphertext last", tag - 1, recording_error_kind::authentication_failed},
      {"tag first", tag, recording_error_kind::authentication_failed},
      {"tag last", f.file.size() - 1, recording_error_kind::authentication_failed},
  };
  for (const region& r : regions) {
    std::string bad = f.file;
    bad[r.pos] = char(bad[r.pos] ^ 0x01);
    std::string reason;
    EXPECT_EQ(decrypt_error(bad, f.key, &reason), r.kind) << r.name;
    if (r.kind == recording_error_kind::authentication_failed) {
      EXPECT_EQ(reason.rfind("authentication failed", 0), 0u) << reason;
    }
  }
  // The unmodified file still opens: the failures above are the modifications'.
  EXPECT_EQ(decrypt_ok(f.file, f.key).events.size(), 2u);
}

TEST(RecordingTamper, EveryBitFlipAnywhereIsRefused) {
  sealed_fixture f;
  for (size_t i = 0; i < f.file.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = f.file;
      bad[i] = char(bad[i] ^ (1 << bit));
      ASSERT_TRUE(std::holds_alternative<recording_error>(recording_decrypt(bytes_of(bad), f.key)))
          << "byte " << i << " bit " << bit;
    }
}

TEST(RecordingTamper, EveryTruncationAndExtensionIsRefused) {
  sealed_fixture f;
  for (size_t n = 0; n < f.file.size(); ++n) {
    const auto kind = decrypt_error(f.file.substr(0, n), f.key);
    if (n < recording_magic.size())
      EXPECT_EQ(kind, recording_error_kind::not_a_recording) << n;
    else if (n < recording_overhead_bytes)
      EXPECT_EQ(kind, recording_error_kind::truncated) << n;
    else
      EXPECT_EQ(kind, recording_error_kind::authentication_failed) << n;
  }
  EXPECT_EQ(decrypt_error(f.file + '\0', f.key), recording_error_kind::authentication_failed);
  // Swapping in another file's tail (same key): still refused.
  sealed_fixture g;
  std::string spliced = f.file.substr(0, 32) + g.file.substr(32);
  EXPECT_TRUE(std::holds_alternative<recording_error>(recording_decrypt(bytes_of(spliced), f.key)));
}

TEST(RecordingTamper, WrongKeyIsRefusedAndNamesBothKeyIds) {
  sealed_fixture f;
  const auto other = test_key(6);
  std::string reason;
  EXPECT_EQ(decrypt_error(f.file, other, &reason), recording_error_kind::wrong_key);
  EXPECT_NE(reason.find("wrong key"), std::string::npos);
  EXPECT_NE(reason.find(f.key.id_hex()), std::string::npos);
  EXPECT_NE(reason.find(other.id_hex()), std::string::npos);
  auto peek = recording_peek(bytes_of(f.file));
  ASSERT_TRUE(std::holds_alternative<recording_header_info>(peek));
  EXPECT_EQ(std::get<recording_header_info>(peek).key_id, f.key.id_hex());
}

TEST(RecordingTamper, FileOnDiskModifiedIsRefusedByPath) {
  temp_dir d;
  sealed_fixture f;
  std::string bad = f.file;
  bad[40] = char(bad[40] ^ 0x80);
  write_file(d / "x.rec", bad, 0600);
  auto r = recording_read(d / "x.rec", f.key);
  ASSERT_TRUE(std::holds_alternative<recording_error>(r));
  EXPECT_NE(std::get<recording_error>(r).reason.find("x.rec: authentication failed"), std::string::npos);
  EXPECT_EQ(std::get<recording_error>(recording_read(d / "missing.rec", f.key)).kind, recording_error_kind::io);
}

// ---------------------------------------------------------------------------------------------
// Authenticated but malformed documents (only a key holder can make these): refused, not trusted.

TEST(RecordingParse, RejectsInconsistentDocuments) {
  const auto key = test_key();
  const std::string ok_events = R"("events":[{"t_ns":5,"dir":"response","data":"YWJj","masks":[[0,2,"ssn"]]}])";
  const std::string head =
      R"({"format":"phigate-recording","version":1,"session_id":"s","flow":{"client_addr":"a","client_port":1,"server_addr":"b","server_port":2},"start_unix_ns":0,"request_ids":[],"max_bytes":10,"rejected_masks":0,)";
  auto open = [&](const std::string& doc) { return recording_decrypt(bytes_of(std::get<std::string>(recording_seal(doc, key))), key); };

  ASSERT_TRUE(std::holds_alternative<recording>(open(head + ok_events + R"(,"truncated":null})")));
  const std::string bad_docs[] = {
      head + R"("events":[{"t_ns":5,"dir":"response","data":"YWJj","masks":[[2,2,"ssn"]]}],"truncated":null})",
      head + R"("events":[{"t_ns":5,"dir":"response","data":"YWJj","masks":[[0,0,"ssn"]]}],"truncated":null})",
      head + R"("events":[{"t_ns":5,"dir":"sideways","data":"YWJj","masks":[]}],"truncated":null})",
      head + R"("events":[{"t_ns":5,"dir":"response","data":"YWJj!","masks":[]}],"truncated":null})",
      head + R"("events":[{"t_ns":5,"dir":"response","data":"","masks":[]},{"t_ns":4,"dir":"response","data":"","masks":[]}],"truncated":null})",
      head + R"("events":[{"t_ns":-1,"dir":"response","data":"","masks":[]}],"truncated":null})",
      head + ok_events + "}",
      head + ok_events + R"(,"truncated":{"cap":"max_bytes"}})",
      R"({"format":"other","version":1})",
      "[1,2,3]",
      "not json",
      std::string(100, '[') + std::string(100, ']'),
  };
  for (const std::string& doc : bad_docs) {
    auto r = open(doc);
    ASSERT_TRUE(std::holds_alternative<recording_error>(r)) << doc;
    EXPECT_EQ(std::get<recording_error>(r).kind, recording_error_kind::malformed) << doc;
  }
}

}  // namespace
}  // namespace phigate::recording
