// Policy evaluation: hot path, once per held request on the lcore that holds it. No allocation,
// no exceptions, no locks, no logging; everything it builds lives on the stack and is bounded by
// the format's limits (policy.hh, json_path.hh).
//
// Every condition answers yes, no or unknown. A rule is "no" as soon as one condition is no,
// else "unknown" if one is unknown, else "yes". Unknown comes only from what the request does not
// let us read reliably: the body (truncated, not JSON, a repeated key, a value of another type
// than the rule compares, a model name too long to decode) and the path (not canonical), and
// everything derived from them (model, route).
#include <algorithm>
#include <span>

#include "dataplane/policy/policy.hh"

namespace phigate::policy {
namespace {

using namespace detail;

enum class tri : uint8_t { no, yes, unknown };

// The request as the rules see it, derived once per evaluate().
struct view {
  const request_facts* f;
  std::string_view path;  // request-target path without query, when path_known
  bool path_known = false;
  std::string_view host;  // Host without port or trailing dot
  group_mask groups{};
  bool body_readable = false;
  const json_value* values = nullptr;
  tri model = tri::unknown;  // yes: model_text holds the decoded model
  std::string_view model_text;
  int32_t route = -1;
  bool route_known = true;
};

bool ascii_ieq_prefix(std::string_view s, std::string_view lower_prefix) {
  if (s.size() < lower_prefix.size()) return false;
  for (size_t i = 0; i < lower_prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_prefix[i]) return false;
  }
  return true;
}

// The path the inference service will route on, if we can be sure of it. Percent-escapes,
// backslashes, empty and dot segments are normalised differently by different servers, so a
// target holding any of them has no known path (conditions on it are unknown).
bool canonical_path(std::string_view t, std::string_view& path) {
  if (ascii_ieq_prefix(t, "http://") || ascii_ieq_prefix(t, "https://")) {
    // absolute-form: drop scheme and authority.
    const size_t auth = t.find("//") + 2;
    const size_t end = t.find_first_of("/?#", auth);
    if (end == std::string_view::npos || t[end] != '/') {
      path = "/";
      return true;
    }
    t = t.substr(end);
  }
  const size_t q = t.find_first_of("?#");
  if (q != std::string_view::npos) t = t.substr(0, q);
  if (t.empty() || t[0] != '/') return false;
  for (size_t i = 0; i < t.size(); ++i) {
    const auto c = static_cast<unsigned char>(t[i]);
    if (c <= 0x20 || c >= 0x7f || c == '%' || c == '\\') return false;
    if (c != '/') continue;
    const std::string_view rest = t.substr(i + 1);
    if (rest.starts_with('/')) return false;
    if (rest == "." || rest.starts_with("./") || rest == ".." || rest.starts_with("../")) {
      return false;
    }
  }
  path = t;
  return true;
}

std::string_view host_name(std::string_view h) {
  while (!h.empty() && (h.front() == ' ' || h.front() == '\t')) h.remove_prefix(1);
  while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.remove_suffix(1);
  if (!h.empty() && h.front() == '[') {
    const size_t end = h.find(']');
    if (end != std::string_view::npos) return h.substr(0, end + 1);
    return h;
  }
  const size_t colon = h.rfind(':');
  if (colon != std::string_view::npos &&
      std::all_of(h.begin() + static_cast<std::ptrdiff_t>(colon) + 1, h.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    h = h.substr(0, colon);
  }
  if (!h.empty() && h.back() == '.') h.remove_suffix(1);
  return h;
}

bool path_matches(const path_matcher& m, std::string_view path) {
  switch (m.kind) {
    case path_kind::exact: return path == m.text;
    case path_kind::prefix: return path.starts_with(m.text);
    case path_kind::glob: return glob_match(m.pattern, path);
  }
  return false;
}

bool any_path_matches(const std::vector<path_matcher>& ms, std::string_view path) {
  for (const auto& m : ms) {
    if (path_matches(m, path)) return true;
  }
  return false;
}

tri compare_number(cmp_op op, double x, double y) {
  bool r = false;
  switch (op) {
    case cmp_op::gt: r = x > y; break;
    case cmp_op::ge: r = x >= y; break;
    case cmp_op::lt: r = x < y; break;
    case cmp_op::le: r = x <= y; break;
    case cmp_op::eq: r = x == y; break;
    case cmp_op::ne: r = x != y; break;
    default: return tri::unknown;
  }
  return r ? tri::yes : tri::no;
}

// Equality of a body value with a rule literal. Different kinds are unknown (a service may
// coerce "5" to 5 or "true" to true) except that null is never equal to anything else.
tri equal_scalar(const json_value& v, const scalar& s) {
  if (v.kind == json_kind::null || s.kind == json_kind::null) {
    return v.kind == s.kind ? tri::yes : tri::no;
  }
  if (v.kind != s.kind) return tri::unknown;
  switch (s.kind) {
    case json_kind::number:
      if (!v.number_finite) return tri::unknown;
      return v.number == s.number ? tri::yes : tri::no;
    case json_kind::string:
      return (v.escaped ? json_string_equals(v.raw, s.text) : v.raw == s.text) ? tri::yes : tri::no;
    case json_kind::boolean:
      return v.boolean == s.boolean ? tri::yes : tri::no;
    default:
      return tri::unknown;
  }
}

tri eval_body(const body_condition& c, const view& rv) {
  if (!rv.body_readable) return tri::unknown;
  const json_value& v = rv.values[c.path_id];
  if (c.op == cmp_op::exists) return ((v.kind != json_kind::missing) == c.exists) ? tri::yes : tri::no;
  if (v.kind == json_kind::missing) return tri::no;
  if (c.op == cmp_op::type) return v.kind == c.type ? tri::yes : tri::no;
  if (c.length) {
    if (v.kind != json_kind::array) return tri::unknown;
    const double n = static_cast<double>(v.length);
    if (c.op == cmp_op::in) {
      for (const scalar& s : c.set) {
        if (s.number == n) return tri::yes;
      }
      return tri::no;
    }
    return compare_number(c.op, n, c.value.number);
  }
  switch (c.op) {
    case cmp_op::in: {
      if (v.kind == json_kind::null) return tri::no;
      if (v.kind != c.set.front().kind) return tri::unknown;
      for (const scalar& s : c.set) {
        const tri e = equal_scalar(v, s);
        if (e != tri::no) return e;
      }
      return tri::no;
    }
    case cmp_op::gt:
    case cmp_op::ge:
    case cmp_op::lt:
    case cmp_op::le:
      if (v.kind != json_kind::number || !v.number_finite) return tri::unknown;
      return compare_number(c.op, v.number, c.value.number);
    case cmp_op::eq:
    case cmp_op::ne: {
      const tri e = equal_scalar(v, c.value);
      if (e == tri::unknown) return e;
      return ((e == tri::yes) == (c.op == cmp_op::eq)) ? tri::yes : tri::no;
    }
    default:
      return tri::unknown;
  }
}

bool groups_intersect(const group_mask& a, const group_mask& b) {
  return ((a[0] & b[0]) | (a[1] & b[1]) | (a[2] & b[2]) | (a[3] & b[3])) != 0;
}

tri match_rule(const compiled_rule& r, const view& rv) {
  const request_facts& f = *rv.f;
  // Definite facts first: they are cheap and a single "no" settles the rule.
  if (!r.subjects.empty()) {
    if (f.subject.empty()) return tri::no;
    auto it = std::lower_bound(r.subjects.begin(), r.subjects.end(), f.subject,
                               [](const std::string& a, std::string_view b) { return std::string_view(a) < b; });
    if (it == r.subjects.end() || std::string_view(*it) != f.subject) return tri::no;
  }
  if (r.anonymous >= 0 && f.subject.empty() != (r.anonymous == 1)) return tri::no;
  if (r.has_groups && !groups_intersect(r.groups, rv.groups)) return tri::no;
  if (!r.methods.empty() &&
      std::none_of(r.methods.begin(), r.methods.end(),
                   [&](const std::string& m) { return std::string_view(m) == f.method; })) {
    return tri::no;
  }
  if (r.body_readable >= 0 && rv.body_readable != (r.body_readable == 1)) return tri::no;
  tri acc = tri::yes;
  if (!r.paths.empty()) {
    if (!rv.path_known) {
      acc = tri::unknown;
    } else if (!any_path_matches(r.paths, rv.path)) {
      return tri::no;
    }
  }
  if (r.has_routes) {
    if (!rv.route_known) {
      acc = tri::unknown;
    } else if (rv.route < 0 || !(r.routes & (uint64_t{1} << rv.route))) {
      return tri::no;
    }
  }
  if (!r.models.empty()) {
    if (rv.model == tri::no) return tri::no;
    if (rv.model == tri::unknown) {
      acc = tri::unknown;
    } else if (std::none_of(r.models.begin(), r.models.end(),
                            [&](const glob& g) { return glob_match(g, rv.model_text); })) {
      return tri::no;
    }
  }
  for (const body_condition& c : r.body) {
    const tri t = eval_body(c, rv);
    if (t == tri::no) return tri::no;
    if (t == tri::unknown) acc = tri::unknown;
  }
  return acc;
}

void fill(decision& d, const compiled_rule& r, int32_t index) {
  d.act = r.act;
  d.rule = index;
  d.rule_id = r.id;
  d.reason = r.reason;
  if (r.act == action::require_approval) {
    d.approvals_required = r.approvals;
    d.approver_groups = r.approver_group_views.empty() ? nullptr : r.approver_group_views.data();
    d.approver_group_count = static_cast<uint32_t>(r.approver_group_views.size());
    d.grant_ttl_s = r.grant_ttl_s;
    d.grant_one_time = r.grant_one_time;
  }
}

}  // namespace

decision evaluate(const snapshot& s, const request_facts& f) noexcept {
  view rv;
  rv.f = &f;
  rv.path_known = canonical_path(f.target, rv.path);
  rv.host = host_name(f.host);

  if (f.groups != nullptr && !s.groups.empty()) {
    for (uint32_t i = 0; i < f.group_count; ++i) {
      const std::string_view g = f.groups[i];
      auto it = std::lower_bound(s.groups.begin(), s.groups.end(), g,
                                 [](const std::string& a, std::string_view b) { return std::string_view(a) < b; });
      if (it != s.groups.end() && std::string_view(*it) == g) {
        const auto bit = static_cast<size_t>(it - s.groups.begin());
        rv.groups[bit / 64] |= uint64_t{1} << (bit % 64);
      }
    }
  }

  // Body: an empty complete body is "no body" (every field missing); a truncated one is
  // unreadable even if its prefix parses, since a later repeat of a key could change the answer.
  json_value values[json_path_set_max_paths];
  const uint32_t npaths = s.paths.path_count();
  if (!f.body_complete) {
    rv.body_readable = false;
  } else if (f.body.empty()) {
    rv.body_readable = true;
  } else {
    rv.body_readable =
        s.paths.extract(f.body, std::span<json_value>(values, npaths)) == json_status::ok;
  }
  rv.values = values;

  decision d;
  char model_buf[policy_max_model_bytes];
  if (rv.body_readable) {
    const json_value& m = values[0];  // path 0 is "model"
    if (m.kind == json_kind::missing) {
      rv.model = tri::no;
    } else if (m.kind == json_kind::string) {
      d.model = m.raw;
      size_t len = 0;
      if (!m.escaped) {
        if (m.raw.size() <= sizeof model_buf) {
          rv.model = tri::yes;
          rv.model_text = m.raw;
        }
      } else if (json_string_decode(m.raw, model_buf, sizeof model_buf, len)) {
        rv.model = tri::yes;
        rv.model_text = std::string_view(model_buf, len);
      }
    }
  }

  for (size_t i = 0; i < s.routes.size(); ++i) {
    const compiled_route& r = s.routes[i];
    if (!r.hosts.empty() && std::none_of(r.hosts.begin(), r.hosts.end(),
                                         [&](const glob& g) { return glob_match(g, rv.host); })) {
      continue;
    }
    if (r.paths.empty()) {
      rv.route = static_cast<int32_t>(i);
      break;
    }
    if (!rv.path_known) {
      // This route might be the one: no later route can be chosen with confidence.
      rv.route_known = false;
      break;
    }
    if (any_path_matches(r.paths, rv.path)) {
      rv.route = static_cast<int32_t>(i);
      break;
    }
  }
  d.route = rv.route_known ? rv.route : -1;

  for (size_t i = 0; i < s.rules.size(); ++i) {
    const compiled_rule& r = s.rules[i];
    const tri t = match_rule(r, rv);
    if (t == tri::yes || (t == tri::unknown && r.on_unknown_match)) {
      fill(d, r, static_cast<int32_t>(i));
      d.on_unknown = t == tri::unknown;
      return d;
    }
  }
  fill(d, s.fallback, -1);
  return d;
}

}  // namespace phigate::policy
