#include "controlplane/oidc/oidc_client.hh"

#include <arpa/inet.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <httplib.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

namespace phigate::oidc {

namespace {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

constexpr size_t url_max_bytes = 2048;
constexpr int64_t timeout_max_ms = 10 * 60 * 1000;
constexpr size_t response_min_bytes = 1024;
constexpr size_t response_max_bytes = 16u << 20;

bool host_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

// A value from a fetched document is echoed in an error only when it is short printable ASCII
// without quotes: enough to diagnose an issuer typo, never a way to smuggle bytes into logs.
bool quotable(std::string_view s) {
  if (s.size() > 256) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7e || c == '\'') return false;
  return true;
}

std::string quoted_or_withheld(std::string_view s) {
  return quotable(s) ? "'" + std::string(s) + "'" : std::string("(value withheld)");
}

// One GET with every bound of http_options applied. Fills `body` on HTTP 200; otherwise returns
// why not. Redirects are reported, never followed: the issuer decides where its keys live, not a
// redirect injected on the way.
std::optional<std::string> bounded_get(const http_url& url, const http_options& opt, std::string& body) {
  std::unique_ptr<httplib::ClientImpl> cli;
  httplib::SSLClient* ssl = nullptr;
  if (url.https) {
    auto c = std::make_unique<httplib::SSLClient>(url.host, url.port);
    ssl = c.get();
    c->enable_server_certificate_verification(true);
    if (!opt.ca_file.empty() || !opt.ca_dir.empty()) c->set_ca_cert_path(opt.ca_file, opt.ca_dir);
    cli = std::move(c);
  } else {
    cli = std::make_unique<httplib::ClientImpl>(url.host, url.port);
  }
  if (!cli->is_valid()) return "could not set up a client for " + url.origin();
  cli->set_connection_timeout(std::chrono::milliseconds(opt.connect_timeout_ms));
  cli->set_read_timeout(std::chrono::milliseconds(opt.read_timeout_ms));
  cli->set_write_timeout(std::chrono::milliseconds(opt.read_timeout_ms));
  cli->set_follow_location(false);
  cli->set_keep_alive(false);

  const auto deadline = steady::now() + std::chrono::milliseconds(opt.total_timeout_ms);
  int status = 0;
  bool too_large = false, too_slow = false;
  body.clear();
  httplib::Headers headers{{"Accept", "application/json"}};
  auto res = cli->Get(
      url.target, headers,
      [&](const httplib::Response& r) {
        status = r.status;
        if (r.status != 200) return false;
        if (r.has_header("Content-Length")) {
          // A declared length over the cap fails before any body byte is read; one that is
          // not a plain number is left to the HTTP client to reject.
          const std::string& v = r.get_header_value("Content-Length");
          uint64_t n = 0;
          bool number = !v.empty() && v.size() <= 15;
          for (char c : v) {
            if (c < '0' || c > '9') number = false;
            n = n * 10 + uint64_t(c - '0');
          }
          if (number && n > opt.max_response_bytes) {
            too_large = true;
            return false;
          }
        }
        return true;
      },
      [&](const char* data, size_t len) {
        if (len > opt.max_response_bytes - body.size()) {
          too_large = true;
          return false;
        }
        if (steady::now() > deadline) {
          too_slow = true;
          return false;
        }
        body.append(data, len);
        return true;
      });

  const std::string what = "GET " + url.origin() + url.target;
  if (status != 0 && status != 200) {
    std::string r = what + ": HTTP status " + std::to_string(status);
    if (status >= 300 && status < 400) r += " (redirects are not followed)";
    return r;
  }
  if (too_large) return what + ": response larger than " + std::to_string(opt.max_response_bytes) + " bytes";
  if (too_slow) return what + ": response took longer than " + std::to_string(opt.total_timeout_ms) + " ms";
  if (!res) {
    auto err = res.error();
    if (err == httplib::Error::SSLServerVerification && ssl != nullptr) {
      long v = ssl->get_openssl_verify_result();
      if (v == X509_V_OK) return what + ": the server certificate does not name host " + url.host;
      return what + ": server certificate verification failed (" + X509_verify_cert_error_string(v) + ")";
    }
    if (err == httplib::Error::SSLLoadingCerts) return what + ": could not load the configured CA certificates";
    return what + ": request failed (" + httplib::to_string(err) + ")";
  }
  if (res->status != 200) return what + ": HTTP status " + std::to_string(res->status);
  if (steady::now() > deadline)
    return what + ": response took longer than " + std::to_string(opt.total_timeout_ms) + " ms";
  return std::nullopt;
}

std::optional<std::string> check_issuer(std::string_view issuer) {
  auto u = parse_url(issuer);
  if (auto* e = std::get_if<std::string>(&u)) return "issuer: " + *e;
  if (issuer.find('?') != std::string_view::npos) return std::string("issuer: must not have a query");
  return std::nullopt;
}

}  // namespace

std::string_view oidc_step_name(oidc_step step) noexcept {
  switch (step) {
    case oidc_step::config: return "config";
    case oidc_step::discovery: return "discovery";
    case oidc_step::jwks: return "jwks";
  }
  return "?";
}

std::string oidc_error_text(const oidc_error& e) { return std::string(oidc_step_name(e.step)) + ": " + e.reason; }

std::string http_url::origin() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return (https ? "https://" : "http://") + h + ":" + std::to_string(port);
}

bool is_loopback_host(std::string_view host) noexcept {
  if (host == "127.0.0.1" || host == "::1") return true;
  if (host.size() != 9) return false;
  constexpr std::string_view lh = "localhost";
  for (size_t i = 0; i < lh.size(); ++i) {
    char c = host[i];
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    if (c != lh[i]) return false;
  }
  return true;
}

std::variant<http_url, std::string> parse_url(std::string_view url) try {
  if (url.empty()) return std::string("empty URL");
  if (url.size() > url_max_bytes) return std::string("URL longer than 2048 bytes");
  for (unsigned char c : url)
    if (c <= 0x20 || c >= 0x7f) return std::string("URL holds whitespace, control or non-ASCII bytes");

  http_url out;
  std::string_view rest;
  if (url.starts_with("https://")) {
    out.https = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    out.https = false;
    rest = url.substr(7);
  } else {
    return std::string("scheme must be https (http only towards a loopback host)");
  }

  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (tail.find('#') != std::string_view::npos) return std::string("URL has a fragment");
  if (authority.find('@') != std::string_view::npos) return std::string("URL carries user information");

  std::string_view host, port_text;
  bool has_port = false;
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::string("unterminated IPv6 literal");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return std::string("unexpected bytes after the IPv6 literal");
      port_text = after.substr(1);
      has_port = true;
    }
    in6_addr a6;
    if (std::string h(host); inet_pton(AF_INET6, h.c_str(), &a6) != 1) return std::string("bad IPv6 literal");
  } else {
    size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
    for (char c : host)
      if (!host_char_ok(c)) return std::string("host holds a byte outside letters, digits, '-', '.', '_'");
  }
  if (host.empty()) return std::string("URL has no host");

  if (has_port) {
    if (port_text.empty() || port_text.size() > 5) return std::string("bad port");
    unsigned p = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9') return std::string("bad port");
      p = p * 10 + unsigned(c - '0');
    }
    if (p == 0 || p > 65535) return std::string("bad port");
    out.port = uint16_t(p);
  } else {
    out.port = out.https ? 443 : 80;
  }
  out.host = std::string(host);
  if (tail.empty())
    out.target = "/";
  else if (tail[0] == '?')
    out.target = "/" + std::string(tail);
  else
    out.target = std::string(tail);

  if (!out.https && !is_loopback_host(out.host))
    return std::string("plain http is allowed only towards a loopback host (127.0.0.1, ::1, localhost); use https");
  return out;
} catch (const std::exception&) {
  return std::string("internal error while parsing the URL");
}

std::optional<oidc_error> oidc_config_check(const oidc_config& config) try {
  auto fail = [](std::string r) { return oidc_error{oidc_step::config, std::move(r)}; };
  if (auto e = check_issuer(config.issuer)) return fail(*e);
  const http_options& h = config.http;
  for (auto [name, v] : {std::pair{"connect_timeout_ms", h.connect_timeout_ms}, std::pair{"read_timeout_ms", h.read_timeout_ms},
                         std::pair{"total_timeout_ms", h.total_timeout_ms}})
    if (v < 1 || v > timeout_max_ms) return fail(std::string(name) + ": must be 1..600000");
  if (h.max_response_bytes < response_min_bytes || h.max_response_bytes > response_max_bytes)
    return fail("max_response_bytes: must be 1 KiB..16 MiB");
  if (!h.ca_file.empty() && access(h.ca_file.c_str(), R_OK) != 0) return fail("ca_file: cannot be read: " + h.ca_file);
  if (!h.ca_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(h.ca_dir, ec)) return fail("ca_dir: not a directory: " + h.ca_dir);
  }
  return std::nullopt;
} catch (const std::exception&) {
  return oidc_error{oidc_step::config, "internal error while checking the configuration"};
}

std::string discovery_url(std::string_view issuer) {
  if (issuer.ends_with('/')) issuer.remove_suffix(1);
  return std::string(issuer) + "/.well-known/openid-configuration";
}

std::variant<discovery_document, oidc_error> discovery_parse(std::string_view json_text,
                                                             std::string_view expected_issuer) try {
  auto fail = [](std::string r) { return oidc_error{oidc_step::discovery, std::move(r)}; };
  if (json_text.size() > response_max_bytes) return fail("document larger than 16 MiB");
  json j = json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (j.is_discarded()) return fail("document is not valid JSON");
  if (!j.is_object()) return fail("document is not a JSON object");

  discovery_document d;
  auto iss = j.find("issuer");
  if (iss == j.end() || !iss->is_string()) return fail("issuer missing or not a string");
  d.issuer = iss->get<std::string>();
  if (d.issuer != expected_issuer)
    return fail("issuer " + quoted_or_withheld(d.issuer) + " is not the configured issuer " +
                quoted_or_withheld(expected_issuer));

  auto jw = j.find("jwks_uri");
  if (jw == j.end() || !jw->is_string()) return fail("jwks_uri missing or not a string");
  d.jwks_uri = jw->get<std::string>();
  if (auto u = parse_url(d.jwks_uri); auto* e = std::get_if<std::string>(&u)) return fail("jwks_uri: " + *e);

  if (auto te = j.find("token_endpoint"); te != j.end()) {
    if (!te->is_string()) return fail("token_endpoint not a string");
    d.token_endpoint = te->get<std::string>();
  }
  return d;
} catch (const std::exception&) {
  return oidc_error{oidc_step::discovery, "internal error while parsing the document"};
}

std::variant<discovery_document, oidc_error> oidc_client::fetch_discovery() const try {
  if (auto e = oidc_config_check(config_)) return *e;
  std::string where = discovery_url(config_.issuer);
  auto u = parse_url(where);
  if (auto* e = std::get_if<std::string>(&u)) return oidc_error{oidc_step::discovery, *e};
  std::string body;
  if (auto e = bounded_get(std::get<http_url>(u), config_.http, body)) return oidc_error{oidc_step::discovery, *e};
  return discovery_parse(body, config_.issuer);
} catch (const std::exception&) {
  return oidc_error{oidc_step::discovery, "internal error while fetching the document"};
}

std::variant<auth::jwk_set, oidc_error> oidc_client::fetch_jwks(std::string_view jwks_uri) const try {
  if (auto e = oidc_config_check(config_)) return *e;
  auto u = parse_url(jwks_uri);
  if (auto* e = std::get_if<std::string>(&u)) return oidc_error{oidc_step::jwks, "jwks_uri: " + *e};
  std::string body;
  if (auto e = bounded_get(std::get<http_url>(u), config_.http, body)) return oidc_error{oidc_step::jwks, *e};
  auto parsed = auth::jwks_parse(body);
  if (auto* e = std::get_if<auth::jwk_error>(&parsed)) return oidc_error{oidc_step::jwks, e->where + ": " + e->reason};
  return std::move(std::get<auth::jwk_set>(parsed));
} catch (const std::exception&) {
  return oidc_error{oidc_step::jwks, "internal error while fetching the key set"};
}

std::variant<fetched_keys, oidc_error> oidc_client::fetch_keys() const try {
  auto d = fetch_discovery();
  if (auto* e = std::get_if<oidc_error>(&d)) return *e;
  fetched_keys out;
  out.discovery = std::move(std::get<discovery_document>(d));
  auto k = fetch_jwks(out.discovery.jwks_uri);
  if (auto* e = std::get_if<oidc_error>(&k)) return *e;
  out.keys = std::move(std::get<auth::jwk_set>(k));
  return out;
} catch (const std::exception&) {
  return oidc_error{oidc_step::discovery, "internal error while fetching keys"};
}

}  // namespace phigate::oidc
