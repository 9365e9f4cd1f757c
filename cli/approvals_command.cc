// phigate approvals: list and decide just-in-time approval requests through the control plane's
// REST API (controlplane/approvals/approval_api.hh). The bearer token is the operator's own OIDC
// token; the control plane decides what it may do. Never prints the token.
#include <httplib.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.hh"

namespace phigate::cli {

namespace {

using nlohmann::json;

constexpr const char* default_url = "https://127.0.0.1:9443";
constexpr const char* api_path = "/v1/approvals";

void approvals_usage(FILE* out) {
  std::fputs(
      "usage: phigate approvals list [--state STATE] [--limit N]\n"
      "       phigate approvals show ID\n"
      "       phigate approvals status ID\n"
      "       phigate approvals approve ID\n"
      "       phigate approvals reject ID --reason REASON\n"
      "       phigate approvals revoke ID --reason REASON\n"
      "\n"
      "options:\n"
      "  --url URL          control plane (default $PHIGATE_CP_URL, else https://127.0.0.1:9443)\n"
      "  --token-file FILE  file holding your OIDC bearer token (default: $PHIGATE_TOKEN)\n"
      "  --ca FILE          PEM trust anchors for the control plane's certificate\n"
      "  --insecure         do not verify the certificate (tests only)\n"
      "  --json             print the control plane's JSON answer\n"
      "\n"
      "STATE is pending, approved, rejected, expired, revoked or consumed.\n"
      "Exit 0 success, 1 usage, token or connection errors, 2 refused by the control plane.\n",
      out);
}

struct options {
  std::string verb, id, state, limit, reason;
  std::string url, token_file, ca;
  bool insecure = false, as_json = false;
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "phigate approvals: %s\n", message.c_str());
  approvals_usage(stderr);
  return 1;
}

std::string iso_time(const json& t) {
  if (!t.is_number_integer()) return "-";
  std::time_t s = std::time_t(t.get<int64_t>());
  std::tm tm{};
  if (gmtime_r(&s, &tm) == nullptr) return std::to_string(t.get<int64_t>());
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string joined(const json& a) {
  std::string out;
  if (!a.is_array()) return out;
  for (const auto& s : a) out += (out.empty() ? "" : ", ") + (s.is_string() ? s.get<std::string>() : s.dump());
  return out;
}

std::string approvals_count(const json& r) {
  const json& v = r.contains("approvals") ? r["approvals"] : json();
  const size_t n = v.is_array() ? v.size() : v.is_number_unsigned() ? v.get<size_t>() : 0;
  return std::to_string(n) + "/" + str(r, "approvals_required");
}

void print_record(const json& r) {
  std::printf("id:               %s\n", str(r, "id").c_str());
  std::printf("state:            %s\n", str(r, "state").c_str());
  std::printf("requester:        %s\n", str(r, "requester").c_str());
  std::printf("request:          %s %s\n", str(r, "method").c_str(), str(r, "path").c_str());
  std::printf("route:            %s\n", str(r, "route").c_str());
  if (!str(r, "model").empty()) std::printf("model:            %s\n", str(r, "model").c_str());
  std::printf("rule:             %s\n", str(r, "rule_id").c_str());
  std::printf("approvals:        %s", approvals_count(r).c_str());
  if (r.contains("approvals") && r["approvals"].is_array() && !r["approvals"].empty()) {
    std::string names;
    for (const auto& v : r["approvals"]) names += (names.empty() ? "" : ", ") + str(v, "approver");
    std::printf(" (%s)", names.c_str());
  }
  std::printf("\napprover groups:  %s\n", joined(r.value("approver_groups", json::array())).c_str());
  std::printf("grant:            %s, %s s\n", r.value("one_time", true) ? "one-time" : "time-bound",
              str(r, "grant_ttl_s").c_str());
  std::printf("created:          %s\n", iso_time(r.value("created_at", json())).c_str());
  if (str(r, "state") == "pending") std::printf("expires:          %s\n", iso_time(r.value("expires_at", json())).c_str());
  if (r.contains("grant_expires_at") && !r["grant_expires_at"].is_null())
    std::printf("grant expires:    %s\n", iso_time(r["grant_expires_at"]).c_str());
  if (r.contains("rejected_by")) std::printf("rejected by:      %s\n", str(r, "rejected_by").c_str());
  if (r.contains("revoked_by")) std::printf("revoked by:       %s\n", str(r, "revoked_by").c_str());
  if (r.contains("reason")) std::printf("reason:           %s\n", str(r, "reason").c_str());
  if (std::string summary = str(r, "summary"); !summary.empty()) {
    for (size_t at = 0; (at = summary.find('\n', at)) != std::string::npos; at += 3) summary.replace(at, 1, "\n  ");
    std::printf("summary (masked):\n  %s\n", summary.c_str());
  }
}

void print_list(const json& body) {
  const json& items = body.contains("approvals") ? body["approvals"] : json::array();
  if (!items.is_array() || items.empty()) {
    std::printf("no approval requests\n");
    return;
  }
  std::printf("%-32s  %-9s  %-5s  %-20s  %-16s  %s\n", "ID", "STATE", "OK", "CREATED", "REQUESTER", "REQUEST");
  for (const auto& r : items)
    std::printf("%-32s  %-9s  %-5s  %-20s  %-16s  %s %s (%s)\n", str(r, "id").c_str(), str(r, "state").c_str(),
                approvals_count(r).c_str(), iso_time(r.value("created_at", json())).c_str(),
                str(r, "requester").c_str(), str(r, "method").c_str(), str(r, "path").c_str(),
                str(r, "route").c_str());
}

void print_result(const options& o, const json& body) {
  if (o.verb == "list") return print_list(body);
  if (o.verb == "show") return print_record(body);
  if (o.verb == "status") {
    std::printf("%s: %s (%s approvals)", str(body, "id").c_str(), str(body, "state").c_str(),
                approvals_count(body).c_str());
    if (body.contains("grant_expires_at")) std::printf(", grant expires %s", iso_time(body["grant_expires_at"]).c_str());
    if (body.contains("reason")) std::printf(", reason: %s", str(body, "reason").c_str());
    std::printf("\n");
    return;
  }
  if (o.verb == "approve") {
    std::printf("approved %s: %s approvals, state %s", str(body, "id").c_str(), approvals_count(body).c_str(),
                str(body, "state").c_str());
    if (str(body, "state") == "approved")
      std::printf(", %s grant until %s", body.value("one_time", true) ? "one-time" : "time-bound",
                  iso_time(body.value("grant_expires_at", json())).c_str());
    std::printf("\n");
    return;
  }
  std::printf("%s %s\n", o.verb == "reject" ? "rejected" : "revoked", str(body, "id").c_str());
}

std::optional<std::string> read_token(const options& o, std::string& error) {
  std::string token;
  if (!o.token_file.empty()) {
    std::ifstream in(o.token_file, std::ios::binary);
    if (!in) {
      error = "cannot read token file " + o.token_file;
      return std::nullopt;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    token = ss.str();
  } else if (const char* env = std::getenv("PHIGATE_TOKEN"); env != nullptr) {
    token = env;
  } else {
    error = "no token: use --token-file FILE or set PHIGATE_TOKEN";
    return std::nullopt;
  }
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  size_t start = 0;
  while (start < token.size() && std::isspace(static_cast<unsigned char>(token[start]))) ++start;
  token.erase(0, start);
  if (token.empty()) {
    error = "the token is empty";
    return std::nullopt;
  }
  for (char c : token)
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) {
      error = "the token contains whitespace or control characters";
      return std::nullopt;
    }
  return token;
}

bool is_id(const std::string& s) {
  if (s.size() != 32) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Percent-encodes a query value (state names are plain, but the user typed it).
std::string query_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') out += char(c);
    else out += std::string("%") + hex[c >> 4] + hex[c & 15];
  }
  return out;
}

}  // namespace

int approvals_command(const std::vector<std::string>& args) {
  options o;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& into) {
      if (i + 1 >= args.size()) return false;
      into = args[++i];
      return true;
    };
    if (a == "--help" || a == "-h") {
      approvals_usage(stdout);
      return 0;
    } else if (a == "--json") {
      o.as_json = true;
    } else if (a == "--insecure") {
      o.insecure = true;
    } else if (a == "--url" || a == "--token-file" || a == "--ca" || a == "--reason" || a == "--state" ||
               a == "--limit") {
      std::string& into = a == "--url"          ? o.url
                          : a == "--token-file" ? o.token_file
                          : a == "--ca"         ? o.ca
                          : a == "--reason"     ? o.reason
                          : a == "--state"      ? o.state
                                                : o.limit;
      if (!value(into)) return usage_error(a + " needs a value");
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("unknown option '" + a + "'");
    } else {
      positional.push_back(a);
    }
  }
  if (positional.empty()) return usage_error("missing subcommand");
  o.verb = positional[0];
  const bool takes_id = o.verb == "show" || o.verb == "status" || o.verb == "approve" || o.verb == "reject" ||
                        o.verb == "revoke";
  if (o.verb != "list" && !takes_id) return usage_error("unknown subcommand '" + o.verb + "'");
  if (takes_id) {
    if (positional.size() != 2) return usage_error(o.verb + " needs exactly one ID");
    o.id = positional[1];
    if (!is_id(o.id)) return usage_error("'" + o.id + "' is not an approval id (32 lowercase hex characters)");
  } else if (positional.size() != 1) {
    return usage_error("list takes no arguments");
  }
  if ((o.verb == "reject" || o.verb == "revoke") && o.reason.find_first_not_of(" \t\n") == std::string::npos)
    return usage_error(o.verb + " needs --reason REASON");
  if (o.verb != "reject" && o.verb != "revoke" && !o.reason.empty())
    return usage_error("--reason applies to reject and revoke only");
  if (o.verb != "list" && (!o.state.empty() || !o.limit.empty()))
    return usage_error("--state and --limit apply to list only");
  if (!o.limit.empty() && o.limit.find_first_not_of("0123456789") != std::string::npos)
    return usage_error("--limit needs a number");

  if (o.url.empty()) {
    const char* env = std::getenv("PHIGATE_CP_URL");
    o.url = env != nullptr && *env != '\0' ? env : default_url;
  }
  const size_t scheme_end = o.url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : o.url.substr(0, scheme_end);
  if (scheme != "https" && scheme != "http")
    return usage_error("--url must start with https:// (or http:// for tests)");
  const size_t path_start = o.url.find('/', scheme_end + 3);
  const std::string origin = o.url.substr(0, path_start);
  std::string base = path_start == std::string::npos ? "" : o.url.substr(path_start);
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (origin.size() <= scheme_end + 3) return usage_error("--url has no host");
  if (scheme == "http" && (!o.ca.empty() || o.insecure)) return usage_error("--ca and --insecure apply to https only");

  std::string token_error;
  auto token = read_token(o, token_error);
  if (!token) {
    std::fprintf(stderr, "phigate approvals: %s\n", token_error.c_str());
    return 1;
  }

  httplib::Client client(origin);
  client.set_connection_timeout(10, 0);
  client.set_read_timeout(30, 0);
  client.set_write_timeout(30, 0);
  client.set_bearer_token_auth(token->c_str());
  if (scheme == "https") {
    if (!o.ca.empty()) {
      if (std::ifstream probe(o.ca); !probe) {
        std::fprintf(stderr, "phigate approvals: cannot read --ca file %s\n", o.ca.c_str());
        return 1;
      }
      client.set_ca_cert_path(o.ca.c_str());
    }
    client.enable_server_certificate_verification(!o.insecure);
  }

  std::string path = base + api_path;
  httplib::Result res{nullptr, httplib::Error::Unknown};
  if (o.verb == "list") {
    std::string query;
    if (!o.state.empty()) query += "state=" + query_escape(o.state);
    if (!o.limit.empty()) query += std::string(query.empty() ? "" : "&") + "limit=" + o.limit;
    res = client.Get((path + (query.empty() ? "" : "?" + query)).c_str());
  } else if (o.verb == "show") {
    res = client.Get((path + "/" + o.id).c_str());
  } else if (o.verb == "status") {
    res = client.Get((path + "/" + o.id + "/status").c_str());
  } else {
    json body = json::object();
    if (o.verb != "approve") body["reason"] = o.reason;
    res = client.Post((path + "/" + o.id + "/" + o.verb).c_str(),
                      body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
  }

  if (!res) {
    const httplib::Error e = res.error();
    std::string hint;
    if (e == httplib::Error::SSLServerVerification)
      hint = " (the certificate is not trusted: pass --ca FILE with the control plane's CA)";
    else if (e == httplib::Error::SSLConnection)
      hint = " (TLS handshake failed: is the URL's scheme right?)";
    else if (e == httplib::Error::Connection || e == httplib::Error::ConnectionTimeout)
      hint = " (is phigate-cp running and the URL right?)";
    std::fprintf(stderr, "phigate approvals: cannot reach %s: %s%s\n", origin.c_str(), httplib::to_string(e).c_str(),
                 hint.c_str());
    return 1;
  }

  json body = json::parse(res->body, nullptr, false);
  if (res->status >= 200 && res->status < 300) {
    if (body.is_discarded() || !body.is_object()) {
      std::fprintf(stderr, "phigate approvals: %s answered %d with something that is not JSON\n", origin.c_str(),
                   res->status);
      return 1;
    }
    if (o.as_json) std::printf("%s\n", body.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    else print_result(o, body);
    return 0;
  }
  if (o.as_json && body.is_object()) std::printf("%s\n", body.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
  std::string name = body.is_object() ? str(body, "error") : "";
  std::string message = body.is_object() ? str(body, "message") : "";
  std::string detail = body.is_object() ? (body.contains("reason") ? str(body, "reason") : str(body, "state")) : "";
  std::fprintf(stderr, "phigate approvals %s: refused: %d%s%s%s%s%s\n", o.verb.c_str(), res->status,
               name.empty() ? "" : " ", name.c_str(), detail.empty() ? "" : (" (" + detail + ")").c_str(),
               message.empty() ? "" : ": ", message.c_str());
  return 2;
}

}  // namespace phigate::cli
