// `phigate approvals` end to end: the built CLI ($PHIGATE_EXE) against the approvals API served
// over HTTPS on loopback (a certificate generated here), with real JWTs. Covers list, show,
// status, a quorum of two through the CLI, self-approval refused, reject/revoke reasons,
// --json, --token-file vs $PHIGATE_TOKEN, $PHIGATE_CP_URL, --ca vs an untrusted certificate,
// --insecure, connection errors, usage errors; the token never appears in any output.
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "controlplane/approvals/approval_api.hh"
#include "tests/controlplane/approvals/approval_test_util.hh"

namespace phigate::approvals {
namespace {

using nlohmann::json;
using test::alice;
using test::bob;
using test::carol;
using test::dave;
using test::must;
using namespace std::chrono_literals;

struct cli_result {
  int code = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A self-signed certificate for 127.0.0.1 (IP SAN), its key, and the PEM files.
void write_self_signed(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(key, nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("phigate-cp test"), -1,
                             -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    ASSERT_NE(ext, nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  ASSERT_GT(X509_sign(x, key, EVP_sha256()), 0);
  FILE* f = std::fopen(cert_path.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
}

class ApprovalsCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* exe = std::getenv("PHIGATE_EXE");
    exe_ = exe ? exe : "";
  }

  void SetUp() override {
    if (exe_.empty()) GTEST_SKIP() << "PHIGATE_EXE is not set (run through meson test)";
    cert_ = dir_.file("cp.crt");
    write_self_signed(cert_, dir_.file("cp.key"));
    write_self_signed(dir_.file("other.crt"), dir_.file("other.key"));
    store_ = test::must_open(dir_.file("a.db"));
    ASSERT_TRUE(store_);
    server_ = std::make_unique<httplib::SSLServer>(cert_.c_str(), dir_.file("cp.key").c_str());
    ASSERT_TRUE(server_->is_valid());
    mount_approval_api(*server_, *store_, idp_.verifier(system_now_s));
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(1ms);
    url_ = "https://127.0.0.1:" + std::to_string(port_);
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  // Runs phigate with exactly `env` as its environment (nothing inherited).
  cli_result run(std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.begin(), {exe_, "approvals"});
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string out = dir_.file("out"), err = dir_.file("err");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = 0;
    cli_result r;
    const int rc = posix_spawn(&pid, exe_.c_str(), &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn failed: " << rc;
      return r;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out);
    r.err = slurp(err);
    for (const auto& t : tokens_) {
      EXPECT_EQ(r.out.find(t), std::string::npos) << "token printed on stdout";
      EXPECT_EQ(r.err.find(t), std::string::npos) << "token printed on stderr";
    }
    return r;
  }

  // A token file for `p` (also remembered so run() can check it is never printed).
  std::string token_file(const principal& p) {
    const std::string t = idp_.token(p, system_now_s());
    tokens_.push_back(t);
    const std::string path = dir_.file((p.subject + ".token").c_str());
    std::ofstream(path) << t << "\n";
    return path;
  }
  std::string token_env(const principal& p) {
    const std::string t = idp_.token(p, system_now_s());
    tokens_.push_back(t);
    return "PHIGATE_TOKEN=" + t;
  }
  // Common flags: our server and its CA, and `p`'s token file.
  std::vector<std::string> as(const principal& p, std::vector<std::string> args) {
    args.insert(args.end(), {"--url", url_, "--ca", cert_, "--token-file", token_file(p)});
    return args;
  }

  static inline std::string exe_;
  test::scratch_dir dir_;
  test::test_idp idp_;
  std::unique_ptr<approval_store> store_;
  std::unique_ptr<httplib::SSLServer> server_;
  int port_ = 0;
  std::thread thread_;
  std::string url_, cert_;
  std::vector<std::string> tokens_;
};

TEST_F(ApprovalsCli, QuorumOfTwoThroughTheCli) {
  const int64_t now = system_now_s();
  auto r = must(store_->create(test::sample_request(2), now));

  auto res = run(as(bob, {"list"}));
  ASSERT_EQ(res.code, 0) << res.err;
  EXPECT_NE(res.out.find(r.id), std::string::npos);
  EXPECT_NE(res.out.find("pending"), std::string::npos);
  EXPECT_NE(res.out.find("0/2"), std::string::npos);
  res = run(as(dave, {"list", "--state", "pending"}));
  ASSERT_EQ(res.code, 0) << res.err;
  EXPECT_NE(res.out.find("no approval requests"), std::string::npos);

  res = run(as(bob, {"show", r.id}));
  ASSERT_EQ(res.code, 0) << res.err;
  EXPECT_NE(res.out.find("requester:        alice"), std::string::npos) << res.out;
  EXPECT_NE(res.out.find(r.request.masked_summary), std::string::npos);
  EXPECT_EQ(res.out.find(r.request.body_digest), std::string::npos);

  res = run(as(alice, {"approve", r.id}));
  EXPECT_EQ(res.code, 2);
  EXPECT_NE(res.err.find("refused: 403 self_approval"), std::string::npos) << res.err;
  res = run(as(dave, {"approve", r.id}));
  EXPECT_EQ(res.code, 2);
  EXPECT_NE(res.err.find("403 not_approver"), std::string::npos) << res.err;

  res = run(as(bob, {"approve", r.id}));
  ASSERT_EQ(res.code, 0) << res.err;
  EXPECT_NE(res.out.find("1/2 approvals, state pending"), std::string::npos) << res.out;
  res = run(as(bob, {"approve", r.id}));
  EXPECT_EQ(res.code, 2);
  EXPECT_NE(res.err.find("409 duplicate_vote (pending)"), std::string::npos) << res.err;
  res = run(as(carol, {"approve", r.id}));
  ASSERT_EQ(res.code, 0) << res.err;
  EXPECT_NE(res.out.find("2/2 approvals, state approved, one-time grant until"), std::string::npos) << res.out;

  res = run(as(alice, {"status", r.id}));
  ASSERT_EQ(res.code, 0) << res.err;
  EXPECT_NE(res.out.find(r.id + ": approved (2/2 approvals)"), std::string::npos) << res.out;
  EXPECT_EQ(store_->check_grant(r.id, "alice", "chat", r.request.body_digest, system_now_s()), grant_status::ok);
}

TEST_F(ApprovalsCli, RejectAndRevokeNeedReasonsAndJsonOutput) {
  const int64_t now = system_now_s();
  auto r = must(store_->create(test::sample_request(), now));
  auto res = run(as(bob, {"reject", r.id}));
  EXPECT_EQ(res.code, 1);
  EXPECT_NE(res.err.find("reject needs --reason REASON"), std::string::npos) << res.err;
  res = run(as(bob, {"reject", r.id, "--reason", "use the de-identified extract", "--json"}));
  ASSERT_EQ(res.code, 0) << res.err;
  json j = json::parse(res.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << res.out;
  EXPECT_EQ(j["state"], "rejected");
  EXPECT_EQ(j["reason"], "use the de-identified extract");

  auto g = must(store_->create(test::sample_request(1, false, 3600), now));
  ASSERT_EQ(run(as(bob, {"approve", g.id})).code, 0);
  res = run(as(carol, {"revoke", g.id, "--reason", "wrong cohort"}));
  ASSERT_EQ(res.code, 0) << res.err;
  EXPECT_NE(res.out.find("revoked " + g.id), std::string::npos);
  res = run(as(carol, {"revoke", g.id, "--reason", "again", "--json"}));
  EXPECT_EQ(res.code, 2);
  EXPECT_EQ(json::parse(res.out, nullptr, false)["error"], "not_active");
  EXPECT_EQ(store_->check_grant(g.id, "alice", "chat", g.request.body_digest, system_now_s()), grant_status::revoked);
}

TEST_F(ApprovalsCli, TokenAndUrlFromTheEnvironment) {
  auto r = must(store_->create(test::sample_request(), system_now_s()));
  auto res = run({"show", r.id, "--ca", cert_}, {token_env(bob), "PHIGATE_CP_URL=" + url_});
  ASSERT_EQ(res.code, 0) << res.err;
  EXPECT_NE(res.out.find(r.id), std::string::npos);
  // --token-file wins over the environment.
  res = run({"approve", r.id, "--ca", cert_, "--token-file", token_file(alice)}, {token_env(bob), "PHIGATE_CP_URL=" + url_});
  EXPECT_EQ(res.code, 2);
  EXPECT_NE(res.err.find("self_approval"), std::string::npos) << res.err;
}

TEST_F(ApprovalsCli, TlsTrustIsEnforced) {
  auto r = must(store_->create(test::sample_request(), system_now_s()));
  auto res = run({"show", r.id, "--url", url_, "--token-file", token_file(bob)});
  EXPECT_EQ(res.code, 1);
  EXPECT_NE(res.err.find("not trusted"), std::string::npos) << res.err;
  res = run({"show", r.id, "--url", url_, "--ca", dir_.file("other.crt"), "--token-file", token_file(bob)});
  EXPECT_EQ(res.code, 1);
  EXPECT_NE(res.err.find("SSLServerVerification"), std::string::npos) << res.err;
  res = run({"show", r.id, "--url", url_, "--insecure", "--token-file", token_file(bob)});
  EXPECT_EQ(res.code, 0) << res.err;
  res = run({"show", r.id, "--url", url_, "--ca", dir_.file("missing.crt"), "--token-file", token_file(bob)});
  EXPECT_EQ(res.code, 1);
  EXPECT_NE(res.err.find("cannot read --ca file"), std::string::npos) << res.err;
}

TEST_F(ApprovalsCli, ClearErrors) {
  auto r = must(store_->create(test::sample_request(), system_now_s()));
  auto res = run({"list", "--url", url_, "--ca", cert_});
  EXPECT_EQ(res.code, 1);
  EXPECT_NE(res.err.find("no token"), std::string::npos) << res.err;
  res = run({"show", r.id, "--url", url_, "--ca", cert_}, {"PHIGATE_TOKEN=not-a-jwt"});
  EXPECT_EQ(res.code, 2);
  EXPECT_NE(res.err.find("401 invalid_token (malformed)"), std::string::npos) << res.err;
  const std::string forged = idp_.forged(bob, system_now_s());
  tokens_.push_back(forged);
  res = run({"approve", r.id, "--url", url_, "--ca", cert_}, {"PHIGATE_TOKEN=" + forged});
  EXPECT_EQ(res.code, 2);
  EXPECT_NE(res.err.find("401 invalid_token (bad_signature)"), std::string::npos) << res.err;
  res = run(as(bob, {"show", "00000000000000000000000000000000"}));
  EXPECT_EQ(res.code, 2);
  EXPECT_NE(res.err.find("404 unknown"), std::string::npos) << res.err;
  res = run(as(bob, {"show", "../../etc"}));
  EXPECT_EQ(res.code, 1);
  EXPECT_NE(res.err.find("is not an approval id"), std::string::npos) << res.err;
  res = run(as(bob, {"frobnicate"}));
  EXPECT_EQ(res.code, 1);
  EXPECT_NE(res.err.find("unknown subcommand 'frobnicate'"), std::string::npos);
  res = run({"list", "--url", "ftp://127.0.0.1"}, {"PHIGATE_TOKEN=x"});
  EXPECT_EQ(res.code, 1);
  EXPECT_NE(res.err.find("--url must start with https://"), std::string::npos);
  // Nothing listening on the port any more.
  server_->stop();
  thread_.join();
  res = run(as(bob, {"list"}));
  EXPECT_EQ(res.code, 1);
  EXPECT_NE(res.err.find("cannot reach https://127.0.0.1:" + std::to_string(port_)), std::string::npos) << res.err;
  EXPECT_EQ(run({"--help"}).code, 0);
}

}  // namespace
}  // namespace phigate::approvals
