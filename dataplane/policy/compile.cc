// Policy compilation: JSON text -> immutable snapshot. Setup code (control plane or start-up):
// allocates freely; internal failures travel as a private exception type that never leaves
// compile(). Messages name the file, the rule or route (by id, else by index) and the reason;
// they quote ids and field names only, never other values from the file.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "dataplane/policy/policy.hh"
#include "dataplane/scan/pattern_set.hh"

namespace phigate::policy {
namespace {

using json = nlohmann::json;
using namespace detail;

struct compile_failure {
  std::string where, reason;
};

[[noreturn]] void fail(const std::string& where, std::string reason) {
  throw compile_failure{where, std::move(reason)};
}

// Field names are quoted in messages, but bounded and printable only.
std::string quote_name(std::string_view name) {
  std::string out = "\"";
  for (size_t i = 0; i < name.size() && i < 48; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    out.push_back(c >= 0x20 && c < 0x7f && c != '"' ? static_cast<char>(c) : '?');
  }
  if (name.size() > 48) out += "...";
  return out + "\"";
}

bool id_valid(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

// Free text from the operator that ends up in audit records and injected JSON responses.
bool reason_valid(std::string_view r) {
  if (r.size() > 256) return false;
  for (char ch : r) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

// Subjects and group names come from an IdP: any bytes but control bytes, bounded.
bool name_valid(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool method_valid(std::string_view m) {
  if (m.empty() || m.size() > 16) return false;
  for (char c : m) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

bool header_name_valid(std::string_view h) {
  if (h.empty() || h.size() > 64) return false;
  for (char c : h) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

void check_fields(const json& obj, const std::string& where,
                  std::initializer_list<std::string_view> allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
      fail(where, "unknown field " + quote_name(it.key()));
    }
  }
}

const json* field(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it == obj.end() ? nullptr : &*it;
}

std::string get_string(const json& v, const std::string& where, const std::string& what) {
  if (!v.is_string()) fail(where, what + " must be a string");
  return v.get<std::string>();
}

uint32_t get_uint(const json& v, const std::string& where, const std::string& what, uint64_t lo,
                  uint64_t hi) {
  if (!v.is_number_integer()) fail(where, what + " must be an integer");
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u < lo || u > hi) {
      fail(where, what + " must be in " + std::to_string(lo) + ".." + std::to_string(hi));
    }
    return static_cast<uint32_t>(u);
  }
  const int64_t s = v.get<int64_t>();
  if (s < 0 || static_cast<uint64_t>(s) < lo || static_cast<uint64_t>(s) > hi) {
    fail(where, what + " must be in " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  return static_cast<uint32_t>(s);
}

const json& get_list(const json& v, const std::string& where, const std::string& what) {
  if (!v.is_array()) fail(where, what + " must be a list");
  if (v.empty()) fail(where, what + " is empty (it would never match; remove it to match any)");
  if (v.size() > policy_max_list) fail(where, what + " has more than 256 entries");
  return v;
}

std::vector<std::string> get_names(const json& v, const std::string& where, const std::string& what,
                                   bool (*valid)(std::string_view), const char* shape) {
  std::vector<std::string> out;
  for (size_t i = 0; i < get_list(v, where, what).size(); ++i) {
    const std::string item = what + "[" + std::to_string(i) + "]";
    std::string s = get_string(v[i], where, item);
    if (!valid(s)) fail(where, item + " must be " + shape);
    out.push_back(std::move(s));
  }
  return out;
}

bool printable_ascii(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// Request paths are compared in canonical form only (evaluate.cc): a literal that is not
// canonical could never match, which is a mistake worth reporting.
std::string canonical_path_problem(std::string_view p, bool whole) {
  if (p.empty() || p[0] != '/') return "must start with '/'";
  if (p.size() > 1024) return "is longer than 1024 bytes";
  if (!printable_ascii(p)) return "must be printable ASCII without spaces";
  if (p.find_first_of("%?#\\") != std::string_view::npos) {
    return "must not hold % ? # or \\ (paths are compared decoded-free and without the query)";
  }
  if (p.find("//") != std::string_view::npos || p.find("/./") != std::string_view::npos ||
      p.find("/../") != std::string_view::npos) {
    return "must not hold empty or dot segments";
  }
  if (whole && (p.ends_with("/.") || p.ends_with("/.."))) return "must not end in a dot segment";
  return {};
}

std::vector<path_matcher> get_path_matchers(const json& v, const std::string& where) {
  std::vector<path_matcher> out;
  get_list(v, where, "paths");
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string item = "paths[" + std::to_string(i) + "]";
    const json& m = v[i];
    if (!m.is_object() || m.size() != 1) {
      fail(where, item + " must be an object with one of \"exact\", \"prefix\", \"glob\"");
    }
    path_matcher pm;
    const std::string kind = m.begin().key();
    const std::string text = get_string(m.begin().value(), where, item + "." + kind);
    if (kind == "exact" || kind == "prefix") {
      pm.kind = kind == "exact" ? path_kind::exact : path_kind::prefix;
      if (auto r = canonical_path_problem(text, kind == "exact"); !r.empty()) {
        fail(where, item + "." + kind + " " + r);
      }
      pm.text = text;
    } else if (kind == "glob") {
      pm.kind = path_kind::glob;
      if (text.empty() || (text[0] != '/' && text[0] != '*')) {
        fail(where, item + ".glob must start with '/' or '*'");
      }
      if (auto r = glob_compile(text, false, pm.pattern); !r.empty()) {
        fail(where, item + ".glob: bad glob: " + r);
      }
    } else {
      fail(where, item + ": unknown path kind " + quote_name(kind) +
                      " (use \"exact\", \"prefix\" or \"glob\")");
    }
    out.push_back(std::move(pm));
  }
  return out;
}

scalar get_scalar(const json& v, const std::string& where, const std::string& what) {
  scalar s;
  if (v.is_null()) {
    s.kind = json_kind::null;
  } else if (v.is_boolean()) {
    s.kind = json_kind::boolean;
    s.boolean = v.get<bool>();
  } else if (v.is_number()) {
    s.kind = json_kind::number;
    s.number = v.get<double>();
  } else if (v.is_string()) {
    s.kind = json_kind::string;
    s.text = v.get<std::string>();
    if (s.text.size() > 1024) fail(where, what + " is longer than 1024 bytes");
  } else {
    fail(where, what + " must be a string, number, boolean or null");
  }
  return s;
}

const std::map<std::string_view, cmp_op>& op_table() {
  static const std::map<std::string_view, cmp_op> ops = {
      {">", cmp_op::gt},  {">=", cmp_op::ge}, {"<", cmp_op::lt},         {"<=", cmp_op::le},
      {"==", cmp_op::eq}, {"!=", cmp_op::ne}, {"in", cmp_op::in},        {"exists", cmp_op::exists},
      {"type", cmp_op::type}};
  return ops;
}

body_condition get_body_condition(const json& c, const std::string& where, const std::string& item,
                                  json_path_set& paths) {
  if (!c.is_object()) fail(where, item + " must be an object");
  check_fields(c, where + ": " + item, {"path", "op", "value", "measure"});
  body_condition bc;
  const json* path = field(c, "path");
  if (!path) fail(where, item + ": missing \"path\"");
  std::string perr;
  const int32_t id = paths.add(get_string(*path, where, item + ".path"), perr);
  if (id < 0) fail(where, item + ".path: " + perr);
  bc.path_id = static_cast<uint32_t>(id);

  const json* op = field(c, "op");
  if (!op) fail(where, item + ": missing \"op\"");
  const std::string ops = get_string(*op, where, item + ".op");
  auto it = op_table().find(ops);
  if (it == op_table().end()) {
    // The op is a value, not a field name: not quoted.
    fail(where, item + ".op: unknown op (use > >= < <= == != in exists type)");
  }
  bc.op = it->second;

  if (const json* m = field(c, "measure")) {
    const std::string ms = get_string(*m, where, item + ".measure");
    if (ms == "length") {
      bc.length = true;
    } else if (ms != "value") {
      fail(where, item + ".measure must be \"value\" or \"length\"");
    }
  }
  const json* value = field(c, "value");
  const std::string vwhat = item + ".value";
  switch (bc.op) {
    case cmp_op::exists:
      if (bc.length) fail(where, item + ": \"measure\": \"length\" does not apply to exists");
      if (value) {
        if (!value->is_boolean()) fail(where, vwhat + " must be true or false for exists");
        bc.exists = value->get<bool>();
      }
      break;
    case cmp_op::type: {
      if (bc.length) fail(where, item + ": \"measure\": \"length\" does not apply to type");
      if (!value) fail(where, item + ": missing \"value\"");
      const std::string t = get_string(*value, where, vwhat);
      static const std::map<std::string_view, json_kind> kinds = {
          {"null", json_kind::null},     {"boolean", json_kind::boolean},
          {"number", json_kind::number}, {"string", json_kind::string},
          {"array", json_kind::array},   {"object", json_kind::object}};
      auto k = kinds.find(t);
      if (k == kinds.end()) {
        fail(where, vwhat + " must be one of null boolean number string array object");
      }
      bc.type = k->second;
      break;
    }
    case cmp_op::in: {
      if (!value) fail(where, item + ": missing \"value\"");
      if (!value->is_array() || value->empty() || value->size() > policy_max_list) {
        fail(where, vwhat + " must be a list of 1..256 strings or numbers for in");
      }
      for (size_t k = 0; k < value->size(); ++k) {
        scalar s = get_scalar((*value)[k], where, vwhat + "[" + std::to_string(k) + "]");
        if (s.kind != json_kind::string && s.kind != json_kind::number) {
          fail(where, vwhat + " must hold only strings or only numbers");
        }
        if (!bc.set.empty() && bc.set.front().kind != s.kind) {
          fail(where, vwhat + " must hold only strings or only numbers");
        }
        if (bc.length && (s.kind != json_kind::number || s.number < 0 ||
                          s.number != static_cast<double>(static_cast<uint64_t>(s.number)))) {
          fail(where, vwhat + " must hold non-negative integers with \"measure\": \"length\"");
        }
        bc.set.push_back(std::move(s));
      }
      break;
    }
    default: {  // gt ge lt le eq ne
      if (!value) fail(where, item + ": missing \"value\"");
      bc.value = get_scalar(*value, where, vwhat);
      const bool ordering = bc.op == cmp_op::gt || bc.op == cmp_op::ge || bc.op == cmp_op::lt ||
                            bc.op == cmp_op::le;
      if ((ordering || bc.length) && bc.value.kind != json_kind::number) {
        fail(where, vwhat + " must be a number for " + ops +
                        (bc.length ? " with \"measure\": \"length\"" : ""));
      }
      break;
    }
  }
  return bc;
}

struct action_fields {
  action act = action::block;
  std::string reason;
  uint32_t approvals = 0;
  std::vector<std::string> approver_groups;
  uint32_t grant_ttl_s = 0;
  bool grant_one_time = true;
};

action_fields get_action(const json& obj, const std::string& where) {
  action_fields a;
  const json* act = field(obj, "action");
  if (!act) fail(where, "missing \"action\"");
  const std::string as = get_string(*act, where, "action");
  if (as == "allow") {
    a.act = action::allow;
  } else if (as == "block") {
    a.act = action::block;
  } else if (as == "require_approval") {
    a.act = action::require_approval;
  } else {
    fail(where, "action must be \"allow\", \"require_approval\" or \"block\"");
  }
  if (const json* r = field(obj, "reason")) {
    a.reason = get_string(*r, where, "reason");
    if (!reason_valid(a.reason)) {
      fail(where, "reason must be at most 256 bytes of printable ASCII without '\"' or '\\'");
    }
  }
  if (a.act != action::allow && a.reason.empty()) {
    fail(where, "a " + as + " rule needs a non-empty \"reason\"");
  }
  const json* approvals = field(obj, "approvals");
  const json* approvers = field(obj, "approver_groups");
  const json* ttl = field(obj, "grant_ttl_s");
  const json* grant = field(obj, "grant");
  if (a.act != action::require_approval) {
    if (approvals || approvers || ttl || grant) {
      fail(where, "approvals, approver_groups, grant and grant_ttl_s apply only to require_approval");
    }
    return a;
  }
  if (grant) {
    const std::string g = get_string(*grant, where, "grant");
    if (g == "time_bound") a.grant_one_time = false;
    else if (g != "one_time") fail(where, "grant must be \"one_time\" or \"time_bound\"");
  }
  a.approvals = approvals ? get_uint(*approvals, where, "approvals", 1, policy_max_approvals) : 1;
  if (!approvers) fail(where, "require_approval needs \"approver_groups\"");
  a.approver_groups = get_names(*approvers, where, "approver_groups", name_valid,
                                "1..256 bytes without control characters");
  a.grant_ttl_s = policy_default_grant_ttl_s;
  if (ttl) {
    if (!ttl->is_number_integer()) fail(where, "grant_ttl_s must be an integer");
    if (ttl->is_number_unsigned() ? ttl->get<uint64_t>() > policy_max_grant_ttl_s
                                  : ttl->get<int64_t>() > static_cast<int64_t>(policy_max_grant_ttl_s)) {
      fail(where, "grant_ttl_s is over the cap of 86400 seconds");
    }
    a.grant_ttl_s = get_uint(*ttl, where, "grant_ttl_s", 1, policy_max_grant_ttl_s);
  }
  return a;
}

void apply_action(compiled_rule& r, action_fields&& a) {
  r.act = a.act;
  r.reason = std::move(a.reason);
  r.approvals = a.approvals;
  r.approver_groups = std::move(a.approver_groups);
  r.grant_ttl_s = a.grant_ttl_s;
  r.grant_one_time = a.grant_one_time;
  r.on_unknown_match = a.act != action::allow;
}

compiled_route get_route(const json& j, size_t index, const std::set<std::string>& seen) {
  std::string where = "route #" + std::to_string(index);
  if (!j.is_object()) fail(where, "must be an object");
  const json* id = field(j, "id");
  if (!id || !id->is_string() || !id_valid(id->get<std::string>())) {
    fail(where, "\"id\" must be 1..64 of [A-Za-z0-9_.:-]");
  }
  compiled_route r;
  r.settings.id = id->get<std::string>();
  where = "route " + r.settings.id;
  if (seen.count(r.settings.id)) fail(where, "duplicate route id");
  check_fields(j, where, {"id", "description", "hosts", "paths", "credential", "auth_header",
                          "masking_profile", "unmasked_groups"});
  if (const json* d = field(j, "description"); d && !d->is_string()) {
    fail(where, "description must be a string");
  }
  if (const json* h = field(j, "hosts")) {
    get_list(*h, where, "hosts");
    for (size_t i = 0; i < h->size(); ++i) {
      const std::string item = "hosts[" + std::to_string(i) + "]";
      glob g;
      if (auto e = glob_compile(get_string((*h)[i], where, item), true, g); !e.empty()) {
        fail(where, item + ": bad glob: " + e);
      }
      r.hosts.push_back(std::move(g));
    }
  }
  if (const json* p = field(j, "paths")) r.paths = get_path_matchers(*p, where);
  if (const json* c = field(j, "credential")) {
    r.settings.credential = get_string(*c, where, "credential");
    if (!id_valid(r.settings.credential)) fail(where, "credential must be 1..64 of [A-Za-z0-9_.:-]");
  }
  if (const json* h = field(j, "auth_header")) {
    r.settings.auth_header = get_string(*h, where, "auth_header");
    if (!header_name_valid(r.settings.auth_header)) {
      fail(where, "auth_header must be a lowercase header name (1..64 of [a-z0-9_-])");
    }
  }
  if (const json* m = field(j, "masking_profile")) {
    r.settings.masking_profile = get_string(*m, where, "masking_profile");
    if (!id_valid(r.settings.masking_profile)) {
      fail(where, "masking_profile must be 1..64 of [A-Za-z0-9_.:-]");
    }
  }
  if (const json* u = field(j, "unmasked_groups")) {
    r.settings.unmasked_groups = get_names(*u, where, "unmasked_groups", name_valid,
                                           "1..256 bytes without control characters");
  }
  return r;
}

masking_profile get_profile(const std::string& name, const json& j) {
  std::string where = "masking_profile " + quote_name(name);
  if (!id_valid(name)) fail("masking_profiles", "profile names must be 1..64 of [A-Za-z0-9_.:-]");
  where = "masking_profile " + name;
  if (!j.is_object()) fail(where, "must be an object");
  check_fields(j, where, {"description", "pattern_sets", "entities", "mask_style"});
  if (const json* d = field(j, "description"); d && !d->is_string()) {
    fail(where, "description must be a string");
  }
  masking_profile p;
  p.name = name;
  if (const json* ps = field(j, "pattern_sets")) {
    get_list(*ps, where, "pattern_sets");
    for (size_t i = 0; i < ps->size(); ++i) {
      const std::string item = "pattern_sets[" + std::to_string(i) + "]";
      std::string set = get_string((*ps)[i], where, item);
      if (!scan::pattern_set_name_valid(set)) fail(where, item + " must be a pattern set name ([a-z0-9-]{1,47})");
      if (std::find(p.pattern_sets.begin(), p.pattern_sets.end(), set) != p.pattern_sets.end()) {
        fail(where, item + " repeats pattern set " + quote_name(set));
      }
      p.pattern_sets.push_back(std::move(set));
    }
  }
  if (const json* e = field(j, "entities")) {
    get_list(*e, where, "entities");
    for (size_t i = 0; i < e->size(); ++i) {
      const std::string item = "entities[" + std::to_string(i) + "]";
      std::string ent = get_string((*e)[i], where, item);
      if (!scan::pattern_entity_valid(ent)) fail(where, item + " must be an entity name ([a-z0-9_]{1,23})");
      if (std::find(p.entities.begin(), p.entities.end(), ent) != p.entities.end()) {
        fail(where, item + " repeats entity " + quote_name(ent));
      }
      p.entities.push_back(std::move(ent));
    }
  }
  if (const json* m = field(j, "mask_style")) {
    const std::string v = get_string(*m, where, "mask_style");
    if (v == "alnum") p.style = scan::style_override::alnum;
    else if (v == "all") p.style = scan::style_override::all;
    else fail(where, "mask_style must be \"alnum\" or \"all\"");
  }
  return p;
}

struct rule_draft {
  compiled_rule rule;
  std::vector<std::string> groups;
};

rule_draft get_rule(const json& j, size_t index, const std::set<std::string>& seen,
                    const std::map<std::string, uint32_t>& route_ids, json_path_set& paths) {
  std::string where = "rule #" + std::to_string(index);
  if (!j.is_object()) fail(where, "must be an object");
  const json* id = field(j, "id");
  if (!id) fail(where, "missing \"id\"");
  if (!id->is_string() || !id_valid(id->get<std::string>())) {
    fail(where, "\"id\" must be 1..64 of [A-Za-z0-9_.:-]");
  }
  rule_draft d;
  compiled_rule& r = d.rule;
  r.id = id->get<std::string>();
  where = "rule " + r.id;
  if (r.id == "default") fail(where, "the id \"default\" is reserved for the default action");
  if (seen.count(r.id)) fail(where, "duplicate rule id");
  check_fields(j, where, {"id", "description", "match", "action", "reason", "on_unknown",
                          "approvals", "approver_groups", "grant_ttl_s", "grant"});
  if (const json* desc = field(j, "description"); desc && !desc->is_string()) {
    fail(where, "description must be a string");
  }
  apply_action(r, get_action(j, where));
  if (const json* ou = field(j, "on_unknown")) {
    const std::string s = get_string(*ou, where, "on_unknown");
    if (s == "match") {
      r.on_unknown_match = true;
    } else if (s == "skip") {
      r.on_unknown_match = false;
    } else {
      fail(where, "on_unknown must be \"match\" or \"skip\"");
    }
  }
  const json* m = field(j, "match");
  if (!m) return d;
  if (!m->is_object()) fail(where, "match must be an object");
  check_fields(*m, where + ": match",
               {"subjects", "groups", "anonymous", "methods", "paths", "routes", "models", "body",
                "body_readable"});
  if (const json* v = field(*m, "subjects")) {
    r.subjects = get_names(*v, where, "subjects", name_valid,
                           "1..256 bytes without control characters");
    std::sort(r.subjects.begin(), r.subjects.end());
    r.subjects.erase(std::unique(r.subjects.begin(), r.subjects.end()), r.subjects.end());
  }
  if (const json* v = field(*m, "groups")) {
    d.groups = get_names(*v, where, "groups", name_valid, "1..256 bytes without control characters");
    r.has_groups = true;
  }
  if (const json* v = field(*m, "anonymous")) {
    if (!v->is_boolean()) fail(where, "anonymous must be true or false");
    r.anonymous = v->get<bool>() ? 1 : 0;
    if (r.anonymous == 1 && (!r.subjects.empty() || r.has_groups)) {
      fail(where, "anonymous: true with subjects or groups can never match");
    }
  }
  if (const json* v = field(*m, "methods")) {
    r.methods = get_names(*v, where, "methods", method_valid, "an uppercase method (1..16 of A-Z)");
  }
  if (const json* v = field(*m, "paths")) r.paths = get_path_matchers(*v, where);
  if (const json* v = field(*m, "routes")) {
    for (const std::string& rid :
         get_names(*v, where, "routes", id_valid, "a route id (1..64 of [A-Za-z0-9_.:-])")) {
      auto it = route_ids.find(rid);
      if (it == route_ids.end()) fail(where, "route " + quote_name(rid) + " is not defined in routes");
      r.routes |= uint64_t{1} << it->second;
    }
    r.has_routes = true;
  }
  if (const json* v = field(*m, "models")) {
    get_list(*v, where, "models");
    for (size_t i = 0; i < v->size(); ++i) {
      const std::string item = "models[" + std::to_string(i) + "]";
      glob g;
      if (auto e = glob_compile(get_string((*v)[i], where, item), false, g); !e.empty()) {
        fail(where, item + ": bad glob: " + e);
      }
      r.models.push_back(std::move(g));
    }
  }
  if (const json* v = field(*m, "body_readable")) {
    if (!v->is_boolean()) fail(where, "body_readable must be true or false");
    r.body_readable = v->get<bool>() ? 1 : 0;
  }
  if (const json* v = field(*m, "body")) {
    if (!v->is_array() || v->empty()) fail(where, "body must be a non-empty list of conditions");
    if (v->size() > policy_max_body_conditions) fail(where, "body has more than 16 conditions");
    for (size_t i = 0; i < v->size(); ++i) {
      r.body.push_back(get_body_condition((*v)[i], where, "body[" + std::to_string(i) + "]", paths));
    }
  }
  return d;
}

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

void set_mask_bit(group_mask& m, size_t i) { m[i / 64] |= uint64_t{1} << (i % 64); }

std::unique_ptr<snapshot> build(const json& doc) {
  if (!doc.is_object()) fail("policy", "the document must be a JSON object");
  check_fields(doc, "policy",
               {"version", "name", "description", "body_limit", "default", "masking_profiles", "routes",
                "rules"});
  auto s = std::make_unique<snapshot>();
  const json* version = field(doc, "version");
  if (!version) fail("version", "missing");
  if (!version->is_number_integer() || version->get<int64_t>() != 1) fail("version", "must be 1");
  for (const char* f : {"name", "description"}) {
    if (const json* v = field(doc, f); v && !v->is_string()) fail(f, "must be a string");
  }
  if (const json* bl = field(doc, "body_limit")) {
    s->body_limit = get_uint(*bl, "body_limit", "value", 0, policy_max_body_limit);
  }

  std::string perr;
  if (s->paths.add("model", perr) != 0) fail("policy", "internal error: model path");

  std::map<std::string, uint32_t> profile_ids;
  if (const json* profiles = field(doc, "masking_profiles")) {
    if (!profiles->is_object()) fail("masking_profiles", "must be an object of named profiles");
    if (profiles->empty()) fail("masking_profiles", "must not be empty (leave it out instead)");
    if (profiles->size() > policy_max_profiles) fail("masking_profiles", "more than 64 profiles");
    for (auto it = profiles->begin(); it != profiles->end(); ++it) {
      profile_ids.emplace(it.key(), static_cast<uint32_t>(s->profiles.size()));
      s->profiles.push_back(get_profile(it.key(), it.value()));
    }
  }

  std::map<std::string, uint32_t> route_ids;
  if (const json* routes = field(doc, "routes")) {
    if (!routes->is_array()) fail("routes", "must be a list");
    if (routes->size() > policy_max_routes) fail("routes", "more than 64 routes");
    std::set<std::string> seen;
    for (size_t i = 0; i < routes->size(); ++i) {
      compiled_route r = get_route((*routes)[i], i, seen);
      if (!r.settings.masking_profile.empty()) {
        auto it = profile_ids.find(r.settings.masking_profile);
        if (it == profile_ids.end()) {
          fail("route " + r.settings.id,
               "masking_profile " + quote_name(r.settings.masking_profile) + " is not defined in masking_profiles");
        }
        r.settings.profile = static_cast<int32_t>(it->second);
      }
      seen.insert(r.settings.id);
      route_ids.emplace(r.settings.id, static_cast<uint32_t>(i));
      s->routes.push_back(std::move(r));
    }
  }

  const json* rules = field(doc, "rules");
  if (!rules) fail("rules", "missing (use [] for a policy of the default action only)");
  if (!rules->is_array()) fail("rules", "must be a list");
  if (rules->size() > policy_max_rules) fail("rules", "more than 1024 rules");
  std::set<std::string> seen;
  std::vector<std::vector<std::string>> rule_groups;
  for (size_t i = 0; i < rules->size(); ++i) {
    rule_draft d = get_rule((*rules)[i], i, seen, route_ids, s->paths);
    seen.insert(d.rule.id);
    rule_groups.push_back(std::move(d.groups));
    s->rules.push_back(std::move(d.rule));
  }

  // Group names become bits: the requester's groups are resolved once per request, then each
  // rule's any-of test is a mask intersection.
  std::set<std::string> all_groups;
  for (const auto& g : rule_groups) all_groups.insert(g.begin(), g.end());
  if (all_groups.size() > policy_max_groups) fail("rules", "more than 256 distinct groups");
  s->groups.assign(all_groups.begin(), all_groups.end());
  for (size_t i = 0; i < s->rules.size(); ++i) {
    for (const std::string& g : rule_groups[i]) {
      auto it = std::lower_bound(s->groups.begin(), s->groups.end(), g);
      set_mask_bit(s->rules[i].groups, static_cast<size_t>(it - s->groups.begin()));
    }
  }

  s->fallback.id = "default";
  if (const json* def = field(doc, "default")) {
    if (!def->is_object()) fail("default", "must be an object");
    check_fields(*def, "default",
                 {"action", "reason", "description", "approvals", "approver_groups", "grant_ttl_s", "grant"});
    apply_action(s->fallback, get_action(*def, "default"));
  } else {
    s->fallback.act = action::block;
    s->fallback.reason = "no policy rule matched";
  }

  // Views last: every string above has reached its final place.
  for (auto& r : s->rules) {
    r.approver_group_views.assign(r.approver_groups.begin(), r.approver_groups.end());
  }
  s->fallback.approver_group_views.assign(s->fallback.approver_groups.begin(),
                                          s->fallback.approver_groups.end());

  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(doc.dump())));
  s->digest = hex;
  return s;
}

}  // namespace

const char* action_name(action a) {
  switch (a) {
    case action::allow: return "allow";
    case action::require_approval: return "require_approval";
    case action::block: return "block";
  }
  return "block";
}

compile_result compile(std::string_view json_text, std::string_view file_name) {
  compile_result out;
  const std::string file = file_name.empty() ? std::string("(policy)") : std::string(file_name);
  try {
    if (json_text.size() > policy_max_file_bytes) {
      out.error = file + ": policy: file larger than 4 MiB";
      return out;
    }
    // nlohmann keeps the last of two equal keys silently; a repeated field is as much a typo as
    // an unknown one, so the parse callback tracks the keys of every open object.
    std::vector<std::set<std::string>> open;
    bool duplicate = false;
    std::string duplicate_key;
    json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
      if (ev == json::parse_event_t::object_start) {
        open.emplace_back();
      } else if (ev == json::parse_event_t::object_end) {
        if (!open.empty()) open.pop_back();
      } else if (ev == json::parse_event_t::key && !open.empty() && parsed.is_string()) {
        if (!open.back().insert(parsed.get<std::string>()).second && !duplicate) {
          duplicate = true;
          duplicate_key = parsed.get<std::string>();
        }
      }
      return true;
    };
    json doc;
    try {
      doc = json::parse(json_text.begin(), json_text.end(), cb, /*allow_exceptions=*/true,
                        /*ignore_comments=*/true);
    } catch (const json::parse_error& e) {
      // e.what() quotes the text near the error; only the offset is safe to report.
      out.error = file + ": policy: JSON syntax error at byte " + std::to_string(e.byte);
      return out;
    }
    if (duplicate) {
      out.error = file + ": policy: duplicate key " + quote_name(duplicate_key) + " in an object";
      return out;
    }
    out.snap = build(doc);
  } catch (const compile_failure& f) {
    out.snap.reset();
    out.error = file + ": " + f.where + ": " + f.reason;
  } catch (const std::bad_alloc&) {
    out.snap.reset();
    out.error = file + ": policy: out of memory";
  } catch (const std::exception&) {
    out.snap.reset();
    out.error = file + ": policy: internal error while compiling";
  }
  return out;
}

const route* route_at(const snapshot& s, int32_t i) {
  if (i < 0 || static_cast<size_t>(i) >= s.routes.size()) return nullptr;
  return &s.routes[static_cast<size_t>(i)].settings;
}

uint32_t route_count(const snapshot& s) { return static_cast<uint32_t>(s.routes.size()); }

const masking_profile* profile_at(const snapshot& s, int32_t i) {
  if (i < 0 || static_cast<size_t>(i) >= s.profiles.size()) return nullptr;
  return &s.profiles[static_cast<size_t>(i)];
}

uint32_t profile_count(const snapshot& s) { return static_cast<uint32_t>(s.profiles.size()); }

bool route_unmasked_for(const route& r, const std::string_view* groups, uint32_t group_count) noexcept {
  for (const std::string& u : r.unmasked_groups)
    for (uint32_t i = 0; i < group_count; ++i)
      if (groups[i] == u) return true;
  return false;
}

uint32_t body_limit(const snapshot& s) { return s.body_limit; }

std::string_view snapshot_digest(const snapshot& s) { return s.digest; }

}  // namespace phigate::policy
