// Unit tests for OIDC discovery and JWKS retrieval (controlplane/oidc/oidc_client.hh). No network
// beyond loopback: canned documents come from an httplib server on 127.0.0.1, and the HTTPS cases
// use a certificate generated here.
#include "controlplane/oidc/oidc_client.hh"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/controlplane/auth/jose_test_util.hh"
#include "tests/controlplane/oidc/canned_server.hh"

namespace phigate::oidc {
namespace {

using json = nlohmann::json;
using test::canned_response;
using test::canned_server;

http_url as_url(const std::variant<http_url, std::string>& v) {
  if (auto* e = std::get_if<std::string>(&v)) {
    ADD_FAILURE() << "refused: " << *e;
    return {};
  }
  return std::get<http_url>(v);
}

std::string refusal(const std::variant<http_url, std::string>& v) {
  return std::holds_alternative<std::string>(v) ? std::get<std::string>(v) : std::string("(accepted)");
}

// ---- URLs and configuration ----

TEST(ParseUrl, SplitsHttpsUrls) {
  auto u = parse_url("https://idp.example.com/realms/phi?x=1");
  http_url a = as_url(u);
  EXPECT_TRUE(a.https);
  EXPECT_EQ(a.host, "idp.example.com");
  EXPECT_EQ(a.port, 443);
  EXPECT_EQ(a.target, "/realms/phi?x=1");
  EXPECT_EQ(a.origin(), "https://idp.example.com:443");

  http_url b = as_url(parse_url("https://idp.example.com:8443"));
  EXPECT_EQ(b.port, 8443);
  EXPECT_EQ(b.target, "/");

  http_url c = as_url(parse_url("https://[2001:db8::1]:9443/k"));
  EXPECT_EQ(c.host, "2001:db8::1");
  EXPECT_EQ(c.port, 9443);
  EXPECT_EQ(c.origin(), "https://[2001:db8::1]:9443");
}

TEST(ParseUrl, AllowsPlainHttpOnlyTowardsLoopback) {
  EXPECT_FALSE(as_url(parse_url("http://127.0.0.1:8080/x")).https);
  EXPECT_EQ(as_url(parse_url("http://localhost/x")).port, 80);
  EXPECT_EQ(as_url(parse_url("http://LocalHost:1/")).host, "LocalHost");
  EXPECT_EQ(as_url(parse_url("http://[::1]:9000/")).host, "::1");

  for (const char* url : {"http://idp.example.com/", "http://10.0.0.1:8080/", "http://127.0.0.2/", "http://[::2]/",
                          "http://localhost.example.com/", "http://0.0.0.0/"}) {
    std::string r = refusal(parse_url(url));
    EXPECT_NE(r.find("plain http is allowed only towards a loopback host"), std::string::npos) << url << ": " << r;
  }
}

TEST(ParseUrl, RefusesMalformedAndRiskyUrls) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "empty URL"},
      {"ftp://idp.example.com/", "scheme must be https"},
      {"HTTPS://idp.example.com/", "scheme must be https"},
      {"idp.example.com", "scheme must be https"},
      {"https://user:pw@idp.example.com/", "user information"},
      {"https://idp.example.com/#frag", "fragment"},
      {"https:///path", "no host"},
      {"https://idp.example.com:0/", "bad port"},
      {"https://idp.example.com:65536/", "bad port"},
      {"https://idp.example.com:/", "bad port"},
      {"https://idp.example.com:12a/", "bad port"},
      {"https://[::1/", "unterminated IPv6"},
      {"https://[zz::1]/", "bad IPv6"},
      {"https://[::1]x/", "after the IPv6"},
      {"https://idp example.com/", "whitespace"},
      {"https://idp.example.com/\x7f", "control"},
      {"https://idp\\example.com/", "host holds a byte"},
  };
  for (auto [url, want] : cases) {
    std::string r = refusal(parse_url(url));
    EXPECT_NE(r.find(want), std::string::npos) << "url '" << url << "' gave: " << r;
  }
  EXPECT_NE(refusal(parse_url("https://a/" + std::string(2100, 'x'))).find("longer than"), std::string::npos);
}

TEST(IsLoopbackHost, ExactNamesOnly) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("LOCALHOST"));
  EXPECT_FALSE(is_loopback_host("127.0.0.1.nip.io"));
  EXPECT_FALSE(is_loopback_host("localhos"));
  EXPECT_FALSE(is_loopback_host("localhostx"));
  EXPECT_FALSE(is_loopback_host(""));
}

TEST(DiscoveryUrl, RemovesOneTrailingSlash) {
  EXPECT_EQ(discovery_url("https://idp.example.com"), "https://idp.example.com/.well-known/openid-configuration");
  EXPECT_EQ(discovery_url("https://idp.example.com/"), "https://idp.example.com/.well-known/openid-configuration");
  EXPECT_EQ(discovery_url("https://idp.example.com/realms/phi"),
            "https://idp.example.com/realms/phi/.well-known/openid-configuration");
}

TEST(OidcConfigCheck, RefusesPlainHttpIssuerThatIsNotLoopback) {
  auto e = oidc_config_check({"http://idp.example.com", {}});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->step, oidc_step::config);
  EXPECT_NE(e->reason.find("plain http is allowed only towards a loopback host"), std::string::npos) << e->reason;
  EXPECT_NE(oidc_error_text(*e).find("config: issuer: "), std::string::npos) << oidc_error_text(*e);

  // The fetchers check the configuration before any request.
  oidc_client c({"http://idp.example.com", {}});
  auto d = c.fetch_discovery();
  ASSERT_TRUE(std::holds_alternative<oidc_error>(d));
  EXPECT_EQ(std::get<oidc_error>(d).step, oidc_step::config);
  auto k = c.fetch_keys();
  ASSERT_TRUE(std::holds_alternative<oidc_error>(k));
  EXPECT_EQ(std::get<oidc_error>(k).step, oidc_step::config);
}

TEST(OidcConfigCheck, RefusesBadIssuersAndOptions) {
  EXPECT_FALSE(oidc_config_check({"https://idp.example.com/realms/phi", {}}));
  EXPECT_FALSE(oidc_config_check({"http://127.0.0.1:8080", {}}));
  EXPECT_TRUE(oidc_config_check({"https://idp.example.com/?tenant=1", {}}));
  EXPECT_TRUE(oidc_config_check({"", {}}));

  oidc_config c{"https://idp.example.com", {}};
  c.http.read_timeout_ms = 0;
  EXPECT_NE(oidc_config_check(c)->reason.find("read_timeout_ms"), std::string::npos);
  c = {"https://idp.example.com", {}};
  c.http.total_timeout_ms = 3'600'000;
  EXPECT_NE(oidc_config_check(c)->reason.find("total_timeout_ms"), std::string::npos);
  c = {"https://idp.example.com", {}};
  c.http.max_response_bytes = 10;
  EXPECT_NE(oidc_config_check(c)->reason.find("max_response_bytes"), std::string::npos);
  c = {"https://idp.example.com", {}};
  c.http.ca_file = "/nonexistent/ca.pem";
  EXPECT_NE(oidc_config_check(c)->reason.find("ca_file"), std::string::npos);
  c = {"https://idp.example.com", {}};
  c.http.ca_dir = "/nonexistent/certs";
  EXPECT_NE(oidc_config_check(c)->reason.find("ca_dir"), std::string::npos);
}

// ---- discovery documents ----

std::string discovery_doc(const std::string& issuer, const std::string& jwks_uri) {
  return json{{"issuer", issuer}, {"jwks_uri", jwks_uri}, {"token_endpoint", issuer + "/token"}}.dump();
}

oidc_error parse_error(std::string_view text, std::string_view issuer) {
  auto r = discovery_parse(text, issuer);
  if (!std::holds_alternative<oidc_error>(r)) {
    ADD_FAILURE() << "accepted";
    return {};
  }
  EXPECT_EQ(std::get<oidc_error>(r).step, oidc_step::discovery);
  return std::get<oidc_error>(r);
}

TEST(DiscoveryParse, TakesIssuerJwksUriAndTokenEndpoint) {
  auto r = discovery_parse(discovery_doc("https://idp.example.com", "https://keys.example.com/jwks"),
                           "https://idp.example.com");
  ASSERT_TRUE(std::holds_alternative<discovery_document>(r)) << std::get<oidc_error>(r).reason;
  const auto& d = std::get<discovery_document>(r);
  EXPECT_EQ(d.issuer, "https://idp.example.com");
  EXPECT_EQ(d.jwks_uri, "https://keys.example.com/jwks");
  EXPECT_EQ(d.token_endpoint, "https://idp.example.com/token");

  auto minimal = discovery_parse(R"({"issuer":"https://i","jwks_uri":"https://i/k"})", "https://i");
  ASSERT_TRUE(std::holds_alternative<discovery_document>(minimal));
  EXPECT_EQ(std::get<discovery_document>(minimal).token_endpoint, "");
}

TEST(DiscoveryParse, IssuerMustMatchExactly) {
  // A trailing slash, a case change or another tenant are all different issuers (Discovery 4.3).
  for (const char* doc_issuer : {"https://idp.example.com/", "https://IDP.example.com", "https://idp.example.com/t2",
                                 "https://evil.example.com"}) {
    auto e = parse_error(discovery_doc(doc_issuer, "https://idp.example.com/jwks"), "https://idp.example.com");
    EXPECT_NE(e.reason.find("is not the configured issuer"), std::string::npos) << e.reason;
    EXPECT_NE(e.reason.find(std::string("'") + doc_issuer + "'"), std::string::npos) << e.reason;
  }
}

TEST(DiscoveryParse, RefusesMissingOrUnsafeMembers) {
  const std::string iss = "https://idp.example.com";
  EXPECT_NE(parse_error("not json", iss).reason.find("not valid JSON"), std::string::npos);
  EXPECT_NE(parse_error("[1,2]", iss).reason.find("not a JSON object"), std::string::npos);
  EXPECT_NE(parse_error(R"({"jwks_uri":"https://idp.example.com/k"})", iss).reason.find("issuer missing"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"issuer":7,"jwks_uri":"https://idp.example.com/k"})", iss).reason.find("issuer missing"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"issuer":"https://idp.example.com"})", iss).reason.find("jwks_uri missing"),
            std::string::npos);
  // An https issuer must not send verifiers to fetch keys over plain http.
  auto e = parse_error(discovery_doc(iss, "http://keys.example.com/jwks"), iss);
  EXPECT_NE(e.reason.find("jwks_uri: plain http"), std::string::npos) << e.reason;
  EXPECT_NE(parse_error(discovery_doc(iss, "ftp://x/jwks"), iss).reason.find("jwks_uri: scheme"), std::string::npos);
  EXPECT_NE(
      parse_error(R"({"issuer":"https://idp.example.com","jwks_uri":"https://i/k","token_endpoint":1})", iss)
          .reason.find("token_endpoint"),
      std::string::npos);
}

TEST(DiscoveryParse, NeverQuotesDocumentContent) {
  // Regression: errors carry the reason, never bytes of the response (which could hold anything).
  auto e = parse_error(R"({"issuer":"https://idp.example.com","jwks_uri":"SSN 123-45-6789"})",
                       "https://idp.example.com");
  EXPECT_EQ(e.reason.find("123-45-6789"), std::string::npos) << e.reason;
  auto e2 = parse_error(R"({"issuer":"https://x/\u0001 123-45-6789","jwks_uri":"https://x/k"})", "https://x");
  EXPECT_EQ(e2.reason.find("123-45-6789"), std::string::npos) << e2.reason;
  EXPECT_NE(e2.reason.find("withheld"), std::string::npos) << e2.reason;
  auto e3 = parse_error("{\"issuer\": 123-45-6789}", "https://x");
  EXPECT_EQ(e3.reason.find("123-45-6789"), std::string::npos) << e3.reason;
}

// ---- fetching over loopback HTTP ----

std::string test_jwks() {
  auto key = test::generate("ED25519");
  return test::jwks_of({test::public_jwk(key.get(), "k1", "EdDSA")});
}

struct served_provider {
  canned_server srv;
  std::string issuer = srv.origin();

  served_provider() {
    srv.set("/.well-known/openid-configuration", 200, discovery_doc(issuer, issuer + "/jwks"));
    srv.set("/jwks", 200, test_jwks());
  }
  oidc_client client(http_options h = {}) const { return oidc_client({issuer, std::move(h)}); }
};

oidc_error fetch_error(const oidc_client& c) {
  auto r = c.fetch_keys();
  if (!std::holds_alternative<oidc_error>(r)) {
    ADD_FAILURE() << "fetch succeeded";
    return {};
  }
  return std::get<oidc_error>(r);
}

TEST(OidcFetch, DiscoversAndLoadsKeys) {
  served_provider p;
  auto r = p.client().fetch_keys();
  ASSERT_TRUE(std::holds_alternative<fetched_keys>(r)) << oidc_error_text(std::get<oidc_error>(r));
  const auto& f = std::get<fetched_keys>(r);
  EXPECT_EQ(f.discovery.issuer, p.issuer);
  EXPECT_EQ(f.discovery.jwks_uri, p.issuer + "/jwks");
  ASSERT_EQ(f.keys.keys.size(), 1u);
  EXPECT_EQ(f.keys.keys[0].kid, "k1");
  EXPECT_EQ(p.srv.hits("/.well-known/openid-configuration"), 1);
  EXPECT_EQ(p.srv.hits("/jwks"), 1);
}

TEST(OidcFetch, IssuerWithPathAndTrailingSlash) {
  canned_server srv;
  std::string issuer = srv.origin() + "/realms/phi/";
  srv.set("/realms/phi/.well-known/openid-configuration", 200, discovery_doc(issuer, srv.origin() + "/certs"));
  srv.set("/certs", 200, test_jwks());
  auto r = oidc_client({issuer, {}}).fetch_keys();
  ASSERT_TRUE(std::holds_alternative<fetched_keys>(r)) << oidc_error_text(std::get<oidc_error>(r));
}

TEST(OidcFetch, IssuerMismatchStopsBeforeTheKeys) {
  served_provider p;
  p.srv.set("/.well-known/openid-configuration", 200, discovery_doc(p.issuer + "/", p.issuer + "/jwks"));
  auto e = fetch_error(p.client());
  EXPECT_EQ(e.step, oidc_step::discovery);
  EXPECT_NE(e.reason.find("is not the configured issuer"), std::string::npos) << e.reason;
  EXPECT_EQ(p.srv.hits("/jwks"), 0);
}

TEST(OidcFetch, NamesTheFailingStep) {
  served_provider p;
  p.srv.set("/.well-known/openid-configuration", 404, "{}");
  auto e = fetch_error(p.client());
  EXPECT_EQ(e.step, oidc_step::discovery);
  EXPECT_NE(e.reason.find("HTTP status 404"), std::string::npos) << e.reason;
  EXPECT_NE(e.reason.find("/.well-known/openid-configuration"), std::string::npos) << e.reason;

  served_provider q;
  q.srv.set("/jwks", 500, "oops");
  e = fetch_error(q.client());
  EXPECT_EQ(e.step, oidc_step::jwks);
  EXPECT_NE(e.reason.find("HTTP status 500"), std::string::npos) << e.reason;

  served_provider r;
  r.srv.set("/jwks", 200, R"({"keys":[{"kty":"RSA","kid":"r1","n":"AQAB","e":"AQAB"}]})");
  e = fetch_error(r.client());
  EXPECT_EQ(e.step, oidc_step::jwks);
  EXPECT_NE(e.reason.find("keys[0] (kid r1).n"), std::string::npos) << e.reason;

  served_provider s;
  s.srv.set("/jwks", 200, R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})");
  e = fetch_error(s.client());
  EXPECT_EQ(e.step, oidc_step::jwks);
  EXPECT_NE(e.reason.find("private key member"), std::string::npos) << e.reason;
}

TEST(OidcFetch, ConnectionRefusedIsAnError) {
  int port = 0;
  {
    canned_server gone;
    port = gone.port();
  }
  oidc_client c({"http://127.0.0.1:" + std::to_string(port), {}});
  auto e = fetch_error(c);
  EXPECT_EQ(e.step, oidc_step::discovery);
  EXPECT_NE(e.reason.find("request failed"), std::string::npos) << e.reason;
}

TEST(OidcFetch, DoesNotFollowRedirects) {
  served_provider p;
  canned_response moved;
  moved.status = 302;
  moved.location = p.issuer + "/elsewhere";
  p.srv.set("/jwks", moved);
  p.srv.set("/elsewhere", 200, test_jwks());
  auto e = fetch_error(p.client());
  EXPECT_EQ(e.step, oidc_step::jwks);
  EXPECT_NE(e.reason.find("HTTP status 302 (redirects are not followed)"), std::string::npos) << e.reason;
  EXPECT_EQ(p.srv.hits("/elsewhere"), 0);
}

TEST(OidcFetch, CapsTheResponseSize) {
  http_options h;
  h.max_response_bytes = 4096;
  std::string big = R"({"keys":[],"pad":")" + std::string(8000, 'a') + R"("})";

  served_provider p;  // declared length above the cap
  p.srv.set("/jwks", 200, big);
  auto e = fetch_error(p.client(h));
  EXPECT_EQ(e.step, oidc_step::jwks);
  EXPECT_NE(e.reason.find("response larger than 4096 bytes"), std::string::npos) << e.reason;

  served_provider q;  // chunked: no length up front, cut while reading
  canned_response chunked;
  chunked.body = big;
  chunked.chunked = true;
  q.srv.set("/.well-known/openid-configuration", chunked);
  e = fetch_error(q.client(h));
  EXPECT_EQ(e.step, oidc_step::discovery);
  EXPECT_NE(e.reason.find("response larger than 4096 bytes"), std::string::npos) << e.reason;

  // A document just under the cap passes.
  served_provider r;
  h.max_response_bytes = 64 * 1024;
  EXPECT_TRUE(std::holds_alternative<fetched_keys>(r.client(h).fetch_keys()));
}

TEST(OidcFetch, ReadTimeout) {
  served_provider p;
  canned_response slow;
  slow.body = test_jwks();
  slow.delay_ms = 800;
  p.srv.set("/jwks", slow);
  http_options h;
  h.read_timeout_ms = 150;
  auto t0 = std::chrono::steady_clock::now();
  auto e = fetch_error(p.client(h));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(e.step, oidc_step::jwks);
  EXPECT_NE(e.reason.find("request failed (Read)"), std::string::npos) << e.reason;
  EXPECT_LT(took, std::chrono::milliseconds(700));
}

TEST(OidcFetch, WholeResponseDeadlineStopsASlowDrip) {
  // Each byte arrives well within the read timeout; only the total deadline ends the transfer.
  served_provider p;
  canned_response drip;
  drip.body = discovery_doc(p.issuer, p.issuer + "/jwks");
  drip.chunked = true;
  drip.drip_ms = 20;
  p.srv.set("/.well-known/openid-configuration", drip);
  http_options h;
  h.read_timeout_ms = 1000;
  h.total_timeout_ms = 300;
  auto t0 = std::chrono::steady_clock::now();
  auto e = fetch_error(p.client(h));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(e.step, oidc_step::discovery);
  EXPECT_NE(e.reason.find("took longer than 300 ms"), std::string::npos) << e.reason;
  EXPECT_LT(took, std::chrono::milliseconds(1000));
}

// ---- HTTPS: certificate and host name verification ----

struct tls_files {
  std::filesystem::path dir;
  std::string cert, key;
};

// A self-signed P-256 certificate (CA:TRUE, so it can serve as its own trust anchor) for the
// given subjectAltName, written as PEM files under a fresh temporary directory.
tls_files make_cert(const std::string& san, const std::string& tag) {
  tls_files f;
  char tmpl[] = "/tmp/phigate-oidc-tls-XXXXXX";
  f.dir = mkdtemp(tmpl);
  f.cert = (f.dir / (tag + "-cert.pem")).string();
  f.key = (f.dir / (tag + "-key.pem")).string();

  auto key = test::generate("EC");
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(tag.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, san}, std::pair{NID_basic_constraints, std::string("critical,CA:TRUE")},
                            std::pair{NID_key_usage, std::string("critical,digitalSignature,keyCertSign")}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    EXPECT_NE(ext, nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  EXPECT_GT(X509_sign(x, key.get(), EVP_sha256()), 0);

  FILE* cf = fopen(f.cert.c_str(), "w");
  PEM_write_X509(cf, x);
  fclose(cf);
  FILE* kf = fopen(f.key.c_str(), "w");
  PEM_write_PrivateKey(kf, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  fclose(kf);
  X509_free(x);
  return f;
}

struct tls_provider {
  tls_files files = make_cert("DNS:localhost", "localhost");
  canned_server srv{std::make_unique<httplib::SSLServer>(files.cert.c_str(), files.key.c_str())};
  std::string issuer = srv.origin("https", "localhost");

  tls_provider() {
    srv.set("/.well-known/openid-configuration", 200, discovery_doc(issuer, issuer + "/jwks"));
    srv.set("/jwks", 200, test_jwks());
  }
  ~tls_provider() { std::filesystem::remove_all(files.dir); }
};

TEST(OidcFetchTls, VerifiesAgainstTheConfiguredCa) {
  tls_provider p;
  http_options h;
  h.ca_file = p.files.cert;
  auto r = oidc_client({p.issuer, h}).fetch_keys();
  ASSERT_TRUE(std::holds_alternative<fetched_keys>(r)) << oidc_error_text(std::get<oidc_error>(r));
  EXPECT_EQ(std::get<fetched_keys>(r).keys.keys.size(), 1u);
}

TEST(OidcFetchTls, RefusesAnUntrustedCertificate) {
  tls_provider p;
  // The system trust store does not hold the test certificate.
  auto e = fetch_error(oidc_client({p.issuer, {}}));
  EXPECT_EQ(e.step, oidc_step::discovery);
  EXPECT_NE(e.reason.find("server certificate verification failed"), std::string::npos) << e.reason;
  EXPECT_EQ(p.srv.hits("/.well-known/openid-configuration"), 0);

  // Nor does a CA file holding some other certificate.
  tls_files other = make_cert("DNS:localhost", "other");
  http_options h;
  h.ca_file = other.cert;
  e = fetch_error(oidc_client({p.issuer, h}));
  EXPECT_NE(e.reason.find("server certificate verification failed"), std::string::npos) << e.reason;
  std::filesystem::remove_all(other.dir);
}

TEST(OidcFetchTls, RefusesACertificateForAnotherHost) {
  tls_provider p;  // certificate names localhost only
  std::string issuer = p.srv.origin("https", "127.0.0.1");
  p.srv.set("/.well-known/openid-configuration", 200, discovery_doc(issuer, issuer + "/jwks"));
  http_options h;
  h.ca_file = p.files.cert;
  auto e = fetch_error(oidc_client({issuer, h}));
  EXPECT_EQ(e.step, oidc_step::discovery);
  EXPECT_NE(e.reason.find("does not name host 127.0.0.1"), std::string::npos) << e.reason;
}

}  // namespace
}  // namespace phigate::oidc
