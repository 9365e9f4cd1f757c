#pragma once
// OpenID Connect discovery (OpenID Connect Discovery 1.0, section 4) and the provider's JWKS,
// fetched over HTTPS with certificate and host name verification.
//
// The issuer is configured; everything else comes from it: GET
// <issuer>/.well-known/openid-configuration, require its "issuer" to equal the configured value
// byte for byte (section 4.3: otherwise a document served by one provider could name another's
// keys), take "jwks_uri", GET it and parse it with auth::jwks_parse. Plain http is refused unless
// the URL's host is a loopback name (127.0.0.1, ::1, localhost), which only tests use; the same
// rule applies to jwks_uri, so an https issuer cannot hand out an http key URL.
//
// Control-plane setup code: allocates, blocks on the network (bounded by http_options: connect
// and per-read timeouts, a whole-response deadline, a response size cap), never follows
// redirects, returns errors as values and lets no exception escape. oidc_client keeps no mutable
// state; any number of threads may use one instance concurrently. Error reasons name the step and
// the URL (configuration, never secrets) and say what went wrong, never quoting response bodies.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "controlplane/auth/jwk.hh"

namespace phigate::oidc {

// The step that failed: the configuration itself, the discovery document, or the JWKS.
enum class oidc_step : uint8_t { config, discovery, jwks };
std::string_view oidc_step_name(oidc_step step) noexcept;  // "config", "discovery", "jwks"

struct oidc_error {
  oidc_step step = oidc_step::config;
  std::string reason;
};
// "<step>: <reason>", for logs.
std::string oidc_error_text(const oidc_error& e);

// An absolute http(s) URL split for the HTTP client.
struct http_url {
  bool https = true;
  std::string host;        // IPv6 literals without brackets
  uint16_t port = 0;       // explicit or the scheme's default
  std::string target;      // path and query, starts with '/'
  std::string origin() const;  // "https://host:port" (IPv6 host in brackets)
};

// True for exactly 127.0.0.1, ::1 and localhost (any case).
bool is_loopback_host(std::string_view host) noexcept;

// Parses "http[s]://host[:port][/path][?query]". Refuses other schemes (lowercase only), user
// information, fragments, empty hosts, bad ports, whitespace and control bytes, and plain http
// towards a host that is not loopback. Returns the reason on refusal.
std::variant<http_url, std::string> parse_url(std::string_view url);

struct http_options {
  std::string ca_file;  // PEM bundle of trusted CAs; both empty: OpenSSL's default paths
  std::string ca_dir;   // hashed CA directory (c_rehash layout), used only when ca_file is empty
  int64_t connect_timeout_ms = 5000;
  int64_t read_timeout_ms = 5000;    // per socket read
  // From the request to the last body byte, checked as body bytes arrive, so a slow drip cannot
  // stall a refresh (the status line and headers are bounded by read_timeout_ms per read).
  int64_t total_timeout_ms = 15000;
  size_t max_response_bytes = auth::jwks_max_text_bytes;  // after content decoding
};

struct oidc_config {
  std::string issuer;  // e.g. "https://idp.example.com/realms/phi"; compared byte for byte
  http_options http;
};

// Refuses an issuer that is not an absolute https URL (http only for loopback hosts), carries a
// query or fragment, or options out of range (timeouts 1 ms..10 min, size 1 KiB..16 MiB), or a
// CA file or directory that cannot be read.
std::optional<oidc_error> oidc_config_check(const oidc_config& config);

// <issuer without one trailing '/'> + "/.well-known/openid-configuration".
std::string discovery_url(std::string_view issuer);

struct discovery_document {
  std::string issuer;
  std::string jwks_uri;
  std::string token_endpoint;  // empty when the document has none
};

// Pure parsing and checks of a discovery document (no network): a JSON object whose "issuer" is
// exactly `expected_issuer` and whose "jwks_uri" passes parse_url. Errors carry step discovery.
std::variant<discovery_document, oidc_error> discovery_parse(std::string_view json_text,
                                                             std::string_view expected_issuer);

struct fetched_keys {
  discovery_document discovery;
  auth::jwk_set keys;
};

class oidc_client {
 public:
  explicit oidc_client(oidc_config config) : config_(std::move(config)) {}

  const oidc_config& config() const noexcept { return config_; }

  // Each call checks the configuration first (step config), then does its own requests; no
  // connection or document is kept between calls, so every refresh sees the provider's current
  // discovery document (jwks_uri may move when a provider is migrated).
  std::variant<discovery_document, oidc_error> fetch_discovery() const;
  std::variant<auth::jwk_set, oidc_error> fetch_jwks(std::string_view jwks_uri) const;
  std::variant<fetched_keys, oidc_error> fetch_keys() const;

 private:
  oidc_config config_;
};

}  // namespace phigate::oidc
