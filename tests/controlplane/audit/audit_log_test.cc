// Audit log: a 2500-record signed log verifies; every kind of tampering is detected at the
// right first bad line with the right reason; the writer's checkpoint policy, reopen, locking,
// clamped clock, refusals and write-failure poisoning; key files.
//
// Logs live on /dev/shm when it exists: fdatasync on this machine's disk costs ~6 ms, and the
// bulk tests are about the chain, not the disk. One test writes to the real temporary
// directory so the durable path runs against a disk too.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controlplane/audit/audit_format.hh"
#include "controlplane/audit/audit_key.hh"
#include "controlplane/audit/audit_log.hh"
#include "controlplane/audit/audit_verify.hh"

namespace phigate::audit {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Appears in every record; must never appear in a report or an error.
constexpr const char* marker = "marker-c0ffee";

json record(uint64_t i) {
  return {{"event", "mask"},        {"route", "/v1/chat"}, {"n", i},
          {"flow", i * 7},          {"note", marker},      {"findings", {{"entities", {"ssn", "mrn"}}, {"count", 2}}}};
}

std::string make_temp_dir(const char* base) {
  std::string tmpl = std::string(base) + "/phigate-audit-XXXXXX";
  char* d = ::mkdtemp(tmpl.data());
  return d ? std::string(d) : std::string();
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_all(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

auth::sha256_digest digest_of_hex(const std::string& hex) {
  auth::sha256_digest d{};
  auto raw = auth::hex_decode(hex);
  if (raw && raw->size() == 32) std::memcpy(d.data(), raw->data(), 32);
  return d;
}

// Rebuilds a record line with its hash recomputed, as a forger without the key can.
std::string rehash_record(uint64_t seq, const std::string& prev_hex, const json& rec) {
  std::string canon = *canonical_json(rec);
  auto h = record_hash(digest_of_hex(prev_hex), canon, seq);
  return record_line(seq, prev_hex, canon, auth::hex_encode(auth::as_chars(h)));
}

std::string sign_checkpoint(EVP_PKEY* key, uint64_t count, const std::string& last_hex, int64_t time_ms) {
  std::string body = checkpoint_body(count, last_hex, time_ms);
  auth::md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  size_t len = 64;
  EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key, nullptr);
  EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(body.data()), body.size());
  return checkpoint_line(count, body, auth::base64_encode(sig));
}

auth::pkey_ptr must_key(std::variant<auth::pkey_ptr, audit_error> r) {
  if (auto* e = std::get_if<audit_error>(&r)) ADD_FAILURE() << e->reason;
  return std::holds_alternative<auth::pkey_ptr>(r) ? std::move(std::get<auth::pkey_ptr>(r)) : auth::pkey_ptr{};
}

std::unique_ptr<audit_writer> must_open(const std::string& path, EVP_PKEY* key, const audit_writer_options& o = {}) {
  auto r = audit_writer::open(path, auth::pkey_share(key), o);
  if (auto* e = std::get_if<audit_error>(&r)) {
    ADD_FAILURE() << e->reason;
    return nullptr;
  }
  return std::move(std::get<std::unique_ptr<audit_writer>>(r));
}

class AuditLog : public ::testing::Test {
 protected:
  static constexpr uint64_t total = 2500;
  // Line numbers of the 2500-record log: checkpoints after 1000 and 2000 records and at close.
  static constexpr uint64_t cp1_line = 1001, cp2_line = 2002, last_line = 2503;
  static uint64_t line_of_seq(uint64_t seq) { return seq + (seq > 1000) + (seq > 2000); }

  static void SetUpTestSuite() {
    dir_ = new std::string(make_temp_dir(fs::exists("/dev/shm") ? "/dev/shm" : "/tmp"));
    ASSERT_FALSE(dir_->empty());
    key_ = must_key(audit_key_generate()).release();
    ASSERT_FALSE(audit_key_write(key_, *dir_ + "/audit.key", *dir_ + "/audit.pub").has_value());
    pub_ = must_key(audit_public_key_load(*dir_ + "/audit.pub")).release();

    auto w = must_open(*dir_ + "/base.log", key_);
    ASSERT_NE(w, nullptr);
    // 4 records per millisecond: 2500 records span 625 ms, so only the count rule fires.
    for (uint64_t i = 1; i <= total; ++i) {
      auto seq = w->append(record(i), 1'700'000'000'000 + int64_t(i / 4));
      ASSERT_TRUE(std::holds_alternative<uint64_t>(seq)) << std::get<audit_error>(seq).reason;
      ASSERT_EQ(std::get<uint64_t>(seq), i);
    }
    ASSERT_FALSE(w->close(1'700'000'001'000).has_value());
    base_ = new std::vector<std::string>(read_lines(*dir_ + "/base.log"));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    EVP_PKEY_free(key_);
    EVP_PKEY_free(pub_);
    delete dir_;
    delete base_;
  }

  std::string path(const std::string& name) const { return *dir_ + "/" + name; }

  // Writes `lines` to a fresh file and verifies it with the right public key.
  audit_report verify_lines(const std::vector<std::string>& lines, const audit_verify_options& o = {}) {
    std::string p = path("tampered.log");
    write_all(p, join(lines));
    return verify_file(p, pub_, o);
  }
  static audit_report verify_file(const std::string& p, EVP_PKEY* key, const audit_verify_options& o = {}) {
    audit_report r = audit_verify(p, key, o);
    EXPECT_EQ(r.detail.find(marker), std::string::npos) << "report quotes record contents";
    EXPECT_EQ(r.detail.find("route"), std::string::npos) << "report quotes record contents";
    return r;
  }

  static json rec_of(const std::string& line) { return json::parse(line)["rec"]; }
  static std::string hash_of(const std::string& line) { return json::parse(line)["hash"]; }

  static std::string* dir_;
  static EVP_PKEY* key_;
  static EVP_PKEY* pub_;
  static std::vector<std::string>* base_;
};
std::string* AuditLog::dir_ = nullptr;
EVP_PKEY* AuditLog::key_ = nullptr;
EVP_PKEY* AuditLog::pub_ = nullptr;
std::vector<std::string>* AuditLog::base_ = nullptr;

#define EXPECT_FAULT(report, fault_, line_)                                                              \
  do {                                                                                                   \
    const audit_report& r_ = (report);                                                                   \
    EXPECT_EQ(audit_fault_name(r_.fault), audit_fault_name(fault_)) << "detail: " << r_.detail;          \
    EXPECT_EQ(r_.line, uint64_t(line_));                                                                 \
    EXPECT_FALSE(r_.intact());                                                                           \
  } while (0)

TEST_F(AuditLog, Writes2500RecordsAndVerifiesIntact) {
  ASSERT_EQ(base_->size(), last_line);
  EXPECT_EQ((*base_)[cp1_line - 1].rfind("{\"seq\":1000,\"checkpoint\":{\"count\":1000,", 0), 0u);
  EXPECT_EQ((*base_)[cp2_line - 1].rfind("{\"seq\":2000,\"checkpoint\":{\"count\":2000,", 0), 0u);
  EXPECT_EQ((*base_)[last_line - 1].rfind("{\"seq\":2500,\"checkpoint\":{\"count\":2500,", 0), 0u);
  EXPECT_EQ((*base_)[0].rfind("{\"seq\":1,\"prev\":\"" + std::string(audit_genesis_hex) + "\",\"rec\":{", 0), 0u);
  audit_report r = verify_file(path("base.log"), pub_);
  EXPECT_TRUE(r.intact()) << audit_fault_name(r.fault) << " line " << r.line << " " << r.detail;
  EXPECT_EQ(r.records, total);
  EXPECT_EQ(r.checkpoints, 3u);
  EXPECT_EQ(r.lines, last_line);
  EXPECT_EQ(r.signed_records, total);
  EXPECT_EQ(r.unsigned_records, 0u);
  EXPECT_EQ(r.head_hash, hash_of((*base_)[last_line - 2]));
  // The in-memory entry point agrees.
  audit_report t = audit_verify_text(read_all(path("base.log")), pub_);
  EXPECT_TRUE(t.intact());
  EXPECT_EQ(t.records, total);
}

TEST_F(AuditLog, EditedFieldIsBadHashOnThatLine) {
  auto lines = *base_;
  const uint64_t ln = line_of_seq(1499);
  std::string& l = lines[ln - 1];
  size_t at = l.find("\"n\":1499");
  ASSERT_NE(at, std::string::npos);
  l.replace(at, 8, "\"n\":1498");
  EXPECT_FAULT(verify_lines(lines), audit_fault::bad_hash, ln);
}

TEST_F(AuditLog, EditedFieldWithRecomputedHashIsBadPrevOnTheNextLine) {
  auto lines = *base_;
  const uint64_t ln = line_of_seq(1499);
  json rec = rec_of(lines[ln - 1]);
  rec["route"] = "/v1/other";
  lines[ln - 1] = rehash_record(1499, json::parse(lines[ln - 1])["prev"], rec);
  EXPECT_FAULT(verify_lines(lines), audit_fault::bad_prev, ln + 1);
}

TEST_F(AuditLog, RewrittenSuffixIsCaughtByTheNextCheckpointSignature) {
  // The strongest forger without the key: edit seq 1499, recompute every later hash and fix
  // every later checkpoint's last_hash. Only the signature is left to catch it.
  auto lines = *base_;
  std::string prev = json::parse(lines[line_of_seq(1499) - 1])["prev"];
  for (uint64_t ln = line_of_seq(1499); ln <= last_line; ++ln) {
    json j = json::parse(lines[ln - 1]);
    if (j.contains("rec")) {
      json rec = j["rec"];
      if (rec["n"] == 1499) rec["route"] = "/v1/other";
      lines[ln - 1] = rehash_record(j["seq"], prev, rec);
      prev = hash_of(lines[ln - 1]);
    } else {
      const json& cp = j["checkpoint"];
      lines[ln - 1] = checkpoint_line(j["seq"], checkpoint_body(cp["count"], prev, cp["time"]), j["sig"].get<std::string>());
    }
  }
  EXPECT_FAULT(verify_lines(lines), audit_fault::bad_signature, cp2_line);
}

TEST_F(AuditLog, DeletedLineIsBadSeqWhereTheGapIs) {
  auto lines = *base_;
  const uint64_t ln = line_of_seq(1499);
  lines.erase(lines.begin() + long(ln - 1));
  audit_report r = verify_lines(lines);
  EXPECT_FAULT(r, audit_fault::bad_seq, ln);
  EXPECT_EQ(r.detail, "expected seq 1499, found 1500");
}

TEST_F(AuditLog, InsertedForgedLineIsCaughtOnTheFirstLineItContradicts) {
  // A forged record that continues the chain correctly is indistinguishable by itself; the
  // original record after it no longer is.
  auto lines = *base_;
  const uint64_t ln = line_of_seq(1499);
  std::string prev = hash_of(lines[ln - 2]);
  lines.insert(lines.begin() + long(ln - 1), rehash_record(1499, prev, record(999999)));
  EXPECT_FAULT(verify_lines(lines), audit_fault::bad_seq, ln + 1);

  // A forged line reusing the previous seq is caught on itself.
  lines = *base_;
  lines.insert(lines.begin() + long(ln - 1), rehash_record(1498, prev, record(999999)));
  EXPECT_FAULT(verify_lines(lines), audit_fault::bad_seq, ln);
}

TEST_F(AuditLog, ForgedLineAppendedAfterTheLastCheckpointIsAnUnsignedTail) {
  auto lines = *base_;
  lines.push_back(rehash_record(total + 1, hash_of(lines[last_line - 2]), record(total + 1)));
  audit_report r = verify_lines(lines);
  EXPECT_FAULT(r, audit_fault::unsigned_tail, last_line + 1);
  EXPECT_EQ(r.unsigned_records, 1u);
  // A live log may be checked with the tail allowed: it is counted, not trusted.
  audit_verify_options live;
  live.allow_unsigned_tail = true;
  r = verify_lines(lines, live);
  EXPECT_EQ(r.fault, audit_fault::none);
  EXPECT_EQ(r.signed_records, total);
  EXPECT_EQ(r.unsigned_records, 1u);
}

TEST_F(AuditLog, SwappedLinesAreBadSeqAtTheFirstOne) {
  auto lines = *base_;
  const uint64_t ln = line_of_seq(1499);
  std::swap(lines[ln - 1], lines[ln]);
  EXPECT_FAULT(verify_lines(lines), audit_fault::bad_seq, ln);
  // A checkpoint moved after the next record: that record is the 1001st unsigned one in a row.
  lines = *base_;
  std::swap(lines[cp1_line - 1], lines[cp1_line]);
  EXPECT_FAULT(verify_lines(lines), audit_fault::checkpoint_missing, cp1_line);
  // Without the run-length rule the moved checkpoint contradicts the record count.
  audit_verify_options no_gap_rule;
  no_gap_rule.max_records_between_checkpoints = 0;
  EXPECT_FAULT(verify_lines(lines, no_gap_rule), audit_fault::bad_seq, cp1_line + 1);
}

TEST_F(AuditLog, TruncationInsideALineIsAPartialLine) {
  std::string text = join(*base_);
  const uint64_t ln = line_of_seq(1499);
  size_t cut = 0;
  for (uint64_t i = 1; i < ln; ++i) cut += (*base_)[i - 1].size() + 1;
  write_all(path("cut.log"), text.substr(0, cut + 40));
  audit_report r = verify_file(path("cut.log"), pub_);
  EXPECT_FAULT(r, audit_fault::partial_line, ln);
  EXPECT_EQ(r.records, 1498u);
}

TEST_F(AuditLog, TruncationAtALineBoundaryLeavesAnUnsignedTail) {
  std::vector<std::string> lines(base_->begin(), base_->begin() + 1800);
  audit_report r = verify_lines(lines);
  EXPECT_FAULT(r, audit_fault::unsigned_tail, cp1_line + 1);
  EXPECT_EQ(r.signed_records, 1000u);
  EXPECT_EQ(r.unsigned_records, 799u);
}

TEST_F(AuditLog, TruncationRightAfterACheckpointNeedsAnExpectedCount) {
  std::vector<std::string> lines(base_->begin(), base_->begin() + long(cp2_line));
  // The file alone cannot tell this from a writer that stopped here...
  audit_report r = verify_lines(lines);
  EXPECT_TRUE(r.intact());
  EXPECT_EQ(r.records, 2000u);
  // ...a count known from elsewhere can.
  audit_verify_options o;
  o.expect_min_records = total;
  r = verify_lines(lines, o);
  EXPECT_FAULT(r, audit_fault::truncated, cp2_line + 1);
  EXPECT_EQ(r.detail, "expected at least 2500 records, found 2000");
}

TEST_F(AuditLog, EmptyAndUnreadableFiles) {
  write_all(path("empty.log"), "");
  EXPECT_FAULT(verify_file(path("empty.log"), pub_), audit_fault::empty, 1);
  audit_report r = verify_file(path("does-not-exist.log"), pub_);
  EXPECT_EQ(r.fault, audit_fault::unreadable);
  EXPECT_FALSE(r.intact());
}

TEST_F(AuditLog, ForgedCheckpointSignatureIsBadSignature) {
  auto lines = *base_;
  // A well-formed signature, but someone else's checkpoint's.
  std::string other_sig = json::parse(lines[cp2_line - 1])["sig"];
  json cp = json::parse(lines[cp1_line - 1]);
  lines[cp1_line - 1] = checkpoint_line(1000, checkpoint_body(1000, cp["checkpoint"]["last_hash"].get<std::string>(), cp["checkpoint"]["time"]),
                                        other_sig);
  EXPECT_FAULT(verify_lines(lines), audit_fault::bad_signature, cp1_line);
}

TEST_F(AuditLog, EditedCheckpointTimeIsBadSignature) {
  auto lines = *base_;
  json cp = json::parse(lines[cp1_line - 1]);
  int64_t t = cp["checkpoint"]["time"];
  lines[cp1_line - 1] = checkpoint_line(1000, checkpoint_body(1000, cp["checkpoint"]["last_hash"].get<std::string>(), t + 1),
                                        cp["sig"].get<std::string>());
  EXPECT_FAULT(verify_lines(lines), audit_fault::bad_signature, cp1_line);
}

TEST_F(AuditLog, WrongPublicKeyIsBadSignatureAtTheFirstCheckpoint) {
  auto other = must_key(audit_key_generate());
  EXPECT_FAULT(verify_file(path("base.log"), other.get()), audit_fault::bad_signature, cp1_line);
}

TEST_F(AuditLog, WithoutAPublicKeyTheChainIsCheckedButNothingIsIntact) {
  audit_report r = verify_file(path("base.log"), nullptr);
  EXPECT_EQ(r.fault, audit_fault::none);
  EXPECT_FALSE(r.signatures_checked);
  EXPECT_FALSE(r.intact());
  auto lines = *base_;
  lines.erase(lines.begin() + 10);
  std::string p = path("nokey.log");
  write_all(p, join(lines));
  EXPECT_FAULT(verify_file(p, nullptr), audit_fault::bad_seq, 11);
}

TEST_F(AuditLog, NonCanonicalAndMalformedLines) {
  auto lines = *base_;
  lines[9].insert(1, " ");
  EXPECT_FAULT(verify_lines(lines), audit_fault::noncanonical_line, 10);

  lines = *base_;  // members in another order
  json j = json::parse(lines[9]);
  lines[9] = "{\"prev\":" + j["prev"].dump() + ",\"seq\":10,\"rec\":" + j["rec"].dump() + ",\"hash\":" + j["hash"].dump() + "}";
  EXPECT_FAULT(verify_lines(lines), audit_fault::noncanonical_line, 10);

  lines = *base_;  // an extra member
  lines[9].insert(lines[9].size() - 1, ",\"x\":1");
  EXPECT_FAULT(verify_lines(lines), audit_fault::malformed_line, 10);

  lines = *base_;
  lines[6] = "hello";
  EXPECT_FAULT(verify_lines(lines), audit_fault::malformed_line, 7);

  lines = *base_;
  lines[6] = std::string(audit_max_line_bytes + 1, 'x');
  EXPECT_FAULT(verify_lines(lines), audit_fault::line_too_long, 7);

  lines = *base_;
  lines[6] = std::string(100, '[') + std::string(100, ']');
  EXPECT_FAULT(verify_lines(lines), audit_fault::malformed_line, 7);
}

TEST_F(AuditLog, DeletedCheckpoints) {
  // The middle one: 2000 records in a row without a signature exceeds the writer's guarantee.
  auto lines = *base_;
  lines.erase(lines.begin() + long(cp1_line - 1));
  EXPECT_FAULT(verify_lines(lines), audit_fault::checkpoint_missing, cp1_line);
  // The last one: the records after the previous checkpoint are unsigned.
  lines = *base_;
  lines.pop_back();
  EXPECT_FAULT(verify_lines(lines), audit_fault::unsigned_tail, cp2_line + 1);
}

TEST_F(AuditLog, SignedButInconsistentCheckpoints) {
  // Checkpoints signed with the real key whose content contradicts the chain.
  std::vector<std::string> lines;
  std::string prev(audit_genesis_hex);
  for (uint64_t s = 1; s <= 3; ++s) {
    lines.push_back(rehash_record(s, prev, record(s)));
    prev = hash_of(lines.back());
  }
  auto with_cp = [&](const std::string& cp) {
    auto l = lines;
    l.push_back(cp);
    return l;
  };
  EXPECT_TRUE(verify_lines(with_cp(sign_checkpoint(key_, 3, prev, 5))).intact());  // the control
  std::string wrong_count = sign_checkpoint(key_, 4, prev, 5);
  json wc = json::parse(wrong_count);
  wrong_count = checkpoint_line(3, checkpoint_body(4, prev, 5), wc["sig"].get<std::string>());
  EXPECT_FAULT(verify_lines(with_cp(wrong_count)), audit_fault::checkpoint_count, 4);
  EXPECT_FAULT(verify_lines(with_cp(sign_checkpoint(key_, 3, std::string(audit_genesis_hex), 5))),
               audit_fault::checkpoint_hash, 4);
  auto l = with_cp(sign_checkpoint(key_, 3, prev, 5000));
  l.push_back(sign_checkpoint(key_, 3, prev, 4000));
  EXPECT_FAULT(verify_lines(l), audit_fault::checkpoint_time, 5);
}

TEST(AuditFaultName, NamesAreUnique) {
  std::set<std::string_view> names;
  for (int i = 0; i <= int(audit_fault::truncated); ++i) names.insert(audit_fault_name(audit_fault(i)));
  EXPECT_EQ(names.size(), size_t(audit_fault::truncated) + 1);
  EXPECT_EQ(audit_fault_name(audit_fault::bad_hash), "bad_hash");
}

// ---- writer behaviour --------------------------------------------------------------------

class AuditWriter : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir(fs::exists("/dev/shm") ? "/dev/shm" : "/tmp");
    ASSERT_FALSE(dir_.empty());
    key_ = must_key(audit_key_generate());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  audit_report verify(const std::string& p, const audit_verify_options& o = {}) { return audit_verify(p, key_.get(), o); }
  static uint64_t seq_of(const std::variant<uint64_t, audit_error>& r) {
    if (auto* e = std::get_if<audit_error>(&r)) ADD_FAILURE() << e->reason;
    return std::holds_alternative<uint64_t>(r) ? std::get<uint64_t>(r) : 0;
  }

  std::string dir_;
  auth::pkey_ptr key_;
};

TEST_F(AuditWriter, OneSecondRuleUsesTheOldestUnsignedRecord) {
  auto w = must_open(path("t.log"), key_.get());
  ASSERT_NE(w, nullptr);
  seq_of(w->append(record(1), 10'000));
  seq_of(w->append(record(2), 10'500));
  EXPECT_EQ(read_lines(path("t.log")).size(), 2u);
  EXPECT_EQ(w->unsigned_records(), 2u);
  seq_of(w->append(record(3), 11'000));  // record 1 is now 1 s old
  EXPECT_EQ(read_lines(path("t.log")).size(), 4u);
  EXPECT_EQ(w->unsigned_records(), 0u);
  EXPECT_FALSE(w->checkpoint_if_due(20'000).has_value());  // nothing pending: no line
  EXPECT_EQ(read_lines(path("t.log")).size(), 4u);
  seq_of(w->append(record(4), 21'100));
  EXPECT_FALSE(w->checkpoint_if_due(22'099).has_value());
  EXPECT_EQ(read_lines(path("t.log")).size(), 5u);
  EXPECT_FALSE(w->checkpoint_if_due(22'100).has_value());
  EXPECT_EQ(read_lines(path("t.log")).size(), 6u);
  ASSERT_FALSE(w->close(23'000).has_value());  // nothing new: no extra checkpoint
  EXPECT_EQ(read_lines(path("t.log")).size(), 6u);
  EXPECT_TRUE(verify(path("t.log")).intact());
}

TEST_F(AuditWriter, CountRuleAndCloseCheckpoint) {
  audit_writer_options o;
  o.checkpoint_every_records = 10;
  auto w = must_open(path("c.log"), key_.get(), o);
  ASSERT_NE(w, nullptr);
  for (uint64_t i = 1; i <= 25; ++i) EXPECT_EQ(seq_of(w->append(record(i), 5)), i);
  ASSERT_FALSE(w->close(5).has_value());
  auto lines = read_lines(path("c.log"));
  ASSERT_EQ(lines.size(), 28u);
  EXPECT_NE(lines[10].find("\"checkpoint\":{\"count\":10,"), std::string::npos);
  EXPECT_NE(lines[21].find("\"checkpoint\":{\"count\":20,"), std::string::npos);
  EXPECT_NE(lines[27].find("\"checkpoint\":{\"count\":25,"), std::string::npos);
  audit_report r = verify(path("c.log"));
  EXPECT_TRUE(r.intact());
  EXPECT_EQ(r.checkpoints, 3u);
  // Appending after close is refused.
  EXPECT_TRUE(std::holds_alternative<audit_error>(w->append(record(26), 6)));
}

TEST_F(AuditWriter, OptionsOutsideTheGuaranteeAreRefused) {
  audit_writer_options o;
  o.checkpoint_every_records = 1001;
  EXPECT_TRUE(std::holds_alternative<audit_error>(audit_writer::open(path("o.log"), auth::pkey_share(key_.get()), o)));
  o.checkpoint_every_records = 10;
  o.checkpoint_every_ms = 0;
  EXPECT_TRUE(std::holds_alternative<audit_error>(audit_writer::open(path("o.log"), auth::pkey_share(key_.get()), o)));
}

TEST_F(AuditWriter, EmptyLogClosedHoldsASignedZeroCheckpoint) {
  auto w = must_open(path("e.log"), key_.get());
  ASSERT_NE(w, nullptr);
  ASSERT_FALSE(w->close(1234).has_value());
  auto lines = read_lines(path("e.log"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind("{\"seq\":0,\"checkpoint\":{\"count\":0,\"last_hash\":\"" + std::string(audit_genesis_hex) +
                               "\",\"time\":1234},\"sig\":\"",
                           0),
            0u);
  audit_report r = verify(path("e.log"));
  EXPECT_TRUE(r.intact());
  EXPECT_EQ(r.records, 0u);
}

TEST_F(AuditWriter, ReopenContinuesTheChain) {
  {
    auto w = must_open(path("r.log"), key_.get());
    ASSERT_NE(w, nullptr);
    for (uint64_t i = 1; i <= 5; ++i) seq_of(w->append(record(i), 100));
    ASSERT_FALSE(w->close(200).has_value());
  }
  auto w = must_open(path("r.log"), key_.get());
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->records(), 5u);
  EXPECT_EQ(seq_of(w->append(record(6), 300)), 6u);
  EXPECT_EQ(seq_of(w->append(record(7), 300)), 7u);
  ASSERT_FALSE(w->close(400).has_value());
  audit_report r = verify(path("r.log"));
  EXPECT_TRUE(r.intact()) << audit_fault_name(r.fault) << " " << r.line;
  EXPECT_EQ(r.records, 7u);
  EXPECT_EQ(r.checkpoints, 2u);
}

TEST_F(AuditWriter, ReopenAfterACrashSignsTheUnsignedTail) {
  {
    auto w = must_open(path("crash.log"), key_.get());
    ASSERT_NE(w, nullptr);
    for (uint64_t i = 1; i <= 5; ++i) seq_of(w->append(record(i), 100));
    // Destroyed without close(): as if the process died.
  }
  EXPECT_FAULT(verify(path("crash.log")), audit_fault::unsigned_tail, 1);
  auto w = must_open(path("crash.log"), key_.get());
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->unsigned_records(), 5u);
  ASSERT_FALSE(w->checkpoint_if_due(150).has_value());  // age unknown: due at once
  EXPECT_EQ(w->unsigned_records(), 0u);
  EXPECT_TRUE(verify(path("crash.log")).intact());
}

TEST_F(AuditWriter, ReopenRefusesATamperedLogWithoutQuotingIt) {
  {
    auto w = must_open(path("bad.log"), key_.get());
    ASSERT_NE(w, nullptr);
    for (uint64_t i = 1; i <= 5; ++i) seq_of(w->append(record(i), 100));
    ASSERT_FALSE(w->close(200).has_value());
  }
  auto lines = read_lines(path("bad.log"));
  lines[2].replace(lines[2].find("\"n\":3"), 5, "\"n\":9");
  write_all(path("bad.log"), join(lines));
  auto r = audit_writer::open(path("bad.log"), auth::pkey_share(key_.get()));
  ASSERT_TRUE(std::holds_alternative<audit_error>(r));
  const std::string& reason = std::get<audit_error>(r).reason;
  EXPECT_NE(reason.find("line 3: bad_hash"), std::string::npos) << reason;
  EXPECT_EQ(reason.find(marker), std::string::npos);
}

TEST_F(AuditWriter, ReopenWithAnotherKeyIsRefused) {
  {
    auto w = must_open(path("k.log"), key_.get());
    ASSERT_NE(w, nullptr);
    seq_of(w->append(record(1), 100));
    ASSERT_FALSE(w->close(200).has_value());
  }
  auto other = must_key(audit_key_generate());
  auto r = audit_writer::open(path("k.log"), std::move(other));
  ASSERT_TRUE(std::holds_alternative<audit_error>(r));
  EXPECT_NE(std::get<audit_error>(r).reason.find("bad_signature"), std::string::npos);
}

TEST_F(AuditWriter, SecondWriterIsLockedOut) {
  auto w = must_open(path("l.log"), key_.get());
  ASSERT_NE(w, nullptr);
  seq_of(w->append(record(1), 1));
  auto second = audit_writer::open(path("l.log"), auth::pkey_share(key_.get()));
  ASSERT_TRUE(std::holds_alternative<audit_error>(second));
  EXPECT_NE(std::get<audit_error>(second).reason.find("lock"), std::string::npos);
}

TEST_F(AuditWriter, ClockSteppingBackIsClamped) {
  auto w = must_open(path("clock.log"), key_.get());
  ASSERT_NE(w, nullptr);
  seq_of(w->append(record(1), 5000));
  ASSERT_FALSE(w->checkpoint(5000).has_value());
  seq_of(w->append(record(2), 1000));
  ASSERT_FALSE(w->checkpoint(1000).has_value());
  auto lines = read_lines(path("clock.log"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(json::parse(lines[3])["checkpoint"]["time"], 5000);
  EXPECT_TRUE(verify(path("clock.log")).intact());
}

TEST_F(AuditWriter, BadRecordsAreRefusedWithoutPoisoning) {
  auto w = must_open(path("refuse.log"), key_.get());
  ASSERT_NE(w, nullptr);
  auto refused = [&](const json& rec) {
    auto r = w->append(rec, 1);
    if (!std::holds_alternative<audit_error>(r)) return false;
    EXPECT_EQ(std::get<audit_error>(r).reason.find(marker), std::string::npos);
    return true;
  };
  EXPECT_TRUE(refused(json::array({marker})));
  EXPECT_TRUE(refused(json(marker)));
  EXPECT_TRUE(refused(json{{"note", std::string(marker) + "\xff\xfe"}}));  // not UTF-8
  EXPECT_TRUE(refused(json{{"note", marker}, {"pad", std::string(audit_max_record_bytes, 'x')}}));
  json deep = marker;
  for (size_t i = 0; i < audit_max_json_depth + 1; ++i) deep = json{{"d", deep}};
  EXPECT_TRUE(refused(deep));
  EXPECT_FALSE(w->failed());
  EXPECT_EQ(seq_of(w->append(record(1), 1)), 1u);
  ASSERT_FALSE(w->close(2).has_value());
  EXPECT_TRUE(verify(path("refuse.log")).intact());
}

TEST_F(AuditWriter, NewLogIsPrivateToItsOwner) {
  auto w = must_open(path("mode.log"), key_.get());
  ASSERT_NE(w, nullptr);
  struct stat st {};
  ASSERT_EQ(::stat(path("mode.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(AuditWriter, WriteFailurePoisonsTheWriter) {
  auto w = must_open(path("full.log"), key_.get());
  ASSERT_NE(w, nullptr);
  seq_of(w->append(record(1), 1));
  struct stat st {};
  ASSERT_EQ(::stat(path("full.log").c_str(), &st), 0);
  // The file may grow by only 50 more bytes: the next line is cut short, as on a full disk.
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = rlim_t(st.st_size + 50);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto r = w->append(record(2), 1);
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, old_handler);
  ASSERT_TRUE(std::holds_alternative<audit_error>(r));
  EXPECT_TRUE(w->failed());
  auto again = w->append(record(3), 1);
  ASSERT_TRUE(std::holds_alternative<audit_error>(again));
  EXPECT_NE(std::get<audit_error>(again).reason.find("failed earlier"), std::string::npos);
  EXPECT_TRUE(w->close(2).has_value());
  w.reset();
  EXPECT_FAULT(verify(path("full.log")), audit_fault::partial_line, 2);
  // And the writer will not extend it.
  EXPECT_TRUE(std::holds_alternative<audit_error>(audit_writer::open(path("full.log"), auth::pkey_share(key_.get()))));
}

TEST_F(AuditWriter, DurablePathOnTheRealDisk) {
  std::string d = make_temp_dir(::getenv("TMPDIR") ? ::getenv("TMPDIR") : "/tmp");
  ASSERT_FALSE(d.empty());
  {
    auto w = must_open(d + "/disk.log", key_.get());
    ASSERT_NE(w, nullptr);
    for (uint64_t i = 1; i <= 20; ++i) seq_of(w->append(record(i), int64_t(i) * 100));
    ASSERT_FALSE(w->close(5000).has_value());
  }
  audit_report r = verify(d + "/disk.log");
  EXPECT_TRUE(r.intact());
  EXPECT_EQ(r.records, 20u);
  EXPECT_EQ(r.checkpoints, 2u);  // the 1 s rule after record 11, then close
  fs::remove_all(d);
}

TEST_F(AuditWriter, RefusesKeysThatCannotSign) {
  auto pub_only = must_key(audit_key_generate());
  ASSERT_FALSE(audit_key_write(pub_only.get(), path("p.key"), path("p.pub")).has_value());
  auto pub = must_key(audit_public_key_load(path("p.pub")));
  EXPECT_TRUE(std::holds_alternative<audit_error>(audit_writer::open(path("x.log"), std::move(pub))));
  auto rsa = auth::pkey_ptr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(2048)));
  EXPECT_TRUE(std::holds_alternative<audit_error>(audit_writer::open(path("x.log"), std::move(rsa))));
  EXPECT_TRUE(std::holds_alternative<audit_error>(audit_writer::open(path("x.log"), auth::pkey_ptr{})));
}

// ---- key files ---------------------------------------------------------------------------

TEST_F(AuditWriter, KeyFilesRoundTripWithSafeModes) {
  ASSERT_FALSE(audit_key_write(key_.get(), path("a.key"), path("a.pub")).has_value());
  struct stat st {};
  ASSERT_EQ(::stat(path("a.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(read_all(path("a.key")).find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  EXPECT_NE(read_all(path("a.pub")).find("-----BEGIN PUBLIC KEY-----"), std::string::npos);
  auto priv = must_key(audit_private_key_load(path("a.key")));
  auto pub = must_key(audit_public_key_load(path("a.pub")));
  ASSERT_TRUE(priv && pub);
  EXPECT_EQ(audit_key_public_raw(priv.get()), audit_key_public_raw(key_.get()));
  EXPECT_EQ(audit_key_public_raw(pub.get()), audit_key_public_raw(key_.get()));
  // Never overwrites.
  EXPECT_TRUE(audit_key_write(key_.get(), path("a.key"), path("b.pub")).has_value());
  // A private key readable by others is refused.
  ASSERT_EQ(::chmod(path("a.key").c_str(), 0644), 0);
  auto loose = audit_private_key_load(path("a.key"));
  ASSERT_TRUE(std::holds_alternative<audit_error>(loose));
  EXPECT_NE(std::get<audit_error>(loose).reason.find("chmod 600"), std::string::npos);
  // Wrong kinds of file.
  EXPECT_TRUE(std::holds_alternative<audit_error>(audit_public_key_load(path("a.key"))));
  EXPECT_TRUE(std::holds_alternative<audit_error>(audit_private_key_load(path("a.pub"))));
  EXPECT_TRUE(std::holds_alternative<audit_error>(audit_public_key_load(path("missing.pub"))));
}

TEST_F(AuditWriter, NonEd25519KeyFilesAreRefused) {
  auto rsa = auth::pkey_ptr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(2048)));
  EXPECT_TRUE(audit_key_write(rsa.get(), path("r.key"), path("r.pub")).has_value());  // refuses to write
  // Written by someone else: refused on load.
  BIO* b = BIO_new_file(path("r2.pub").c_str(), "w");
  ASSERT_NE(b, nullptr);
  PEM_write_bio_PUBKEY(b, rsa.get());
  BIO_free(b);
  auto r = audit_public_key_load(path("r2.pub"));
  ASSERT_TRUE(std::holds_alternative<audit_error>(r));
  EXPECT_NE(std::get<audit_error>(r).reason.find("not an Ed25519 key"), std::string::npos);
}

}  // namespace
}  // namespace phigate::audit

namespace phigate::audit {
namespace {

// Regression: an append acknowledged as durable must have been fdatasync'ed (a refactor for group
// commit once skipped the sync when nothing was flagged pending). Group commit syncs once.
TEST_F(AuditLog, EveryDurableAppendIsSyncedAndGroupCommitSyncsOnce) {
  auto w = must_open(path("sync.log"), key_);
  ASSERT_TRUE(w);
  const uint64_t s0 = w->syncs();
  ASSERT_TRUE(std::holds_alternative<uint64_t>(w->append({{"k", 1}}, 1)));
  EXPECT_EQ(w->syncs(), s0 + 1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(std::holds_alternative<uint64_t>(w->append({{"k", i}}, 2, false)));
  EXPECT_EQ(w->syncs(), s0 + 1) << "deferred appends do not sync";
  EXPECT_FALSE(w->sync().has_value());
  EXPECT_EQ(w->syncs(), s0 + 2);
  EXPECT_FALSE(w->sync().has_value());
  EXPECT_EQ(w->syncs(), s0 + 2) << "nothing pending: no sync";
}

}  // namespace
}  // namespace phigate::audit
