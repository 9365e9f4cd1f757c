#pragma once
// The compiled policy's layout: private to dataplane/policy (compile.cc builds it, evaluate.cc
// reads it). Everyone else goes through policy.hh. Built once by compile() and never written
// again; string_views inside it point into its own strings, so a snapshot is never copied or
// moved after compile() finishes (it lives behind a unique_ptr).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/policy/glob.hh"
#include "dataplane/policy/json_path.hh"
#include "dataplane/policy/policy.hh"

namespace phigate::policy {
namespace detail {

enum class path_kind : uint8_t { exact, prefix, glob };

struct path_matcher {
  path_kind kind = path_kind::exact;
  std::string text;  // exact / prefix
  glob pattern;      // glob
};

enum class cmp_op : uint8_t { gt, ge, lt, le, eq, ne, in, exists, type };

struct scalar {
  json_kind kind = json_kind::null;  // null, boolean, number or string
  bool boolean = false;
  double number = 0;
  std::string text;
};

struct body_condition {
  uint32_t path_id = 0;      // into snapshot::paths
  cmp_op op = cmp_op::exists;
  bool length = false;       // "measure": "length": compare the array's element count
  bool exists = true;        // exists: the wanted answer
  json_kind type = json_kind::null;  // type: the wanted kind
  scalar value;              // gt..ne
  std::vector<scalar> set;   // in (one kind: number or string)
};

using group_mask = std::array<uint64_t, 4>;  // bit i: snapshot::groups[i]
static_assert(policy_max_groups <= 256);

struct compiled_rule {
  std::string id, reason;
  action act = action::block;
  bool on_unknown_match = true;

  std::vector<std::string> subjects;  // sorted; empty: any
  bool has_groups = false;
  group_mask groups{};
  int8_t anonymous = -1;              // -1 any, 0 must be authenticated, 1 must be anonymous
  std::vector<std::string> methods;   // empty: any
  std::vector<path_matcher> paths;    // empty: any (any-of)
  bool has_routes = false;
  uint64_t routes = 0;                // bit i: route i
  std::vector<glob> models;           // empty: any (any-of)
  int8_t body_readable = -1;          // -1 any, 0 body unreadable, 1 body readable
  std::vector<body_condition> body;   // all must hold

  uint32_t approvals = 0;
  std::vector<std::string> approver_groups;
  std::vector<std::string_view> approver_group_views;  // into approver_groups, set last
  uint32_t grant_ttl_s = 0;
  bool grant_one_time = true;
};

struct compiled_route {
  route settings;
  std::vector<glob> hosts;          // case-insensitive; empty: any host
  std::vector<path_matcher> paths;  // empty: any path
};

}  // namespace detail

struct snapshot {
  uint32_t body_limit = policy_default_body_limit;
  std::vector<detail::compiled_route> routes;
  std::vector<masking_profile> profiles;
  std::vector<detail::compiled_rule> rules;
  detail::compiled_rule fallback;   // the "default" action (id "default")
  std::vector<std::string> groups;  // sorted distinct groups named by rule matches
  json_path_set paths;              // path 0 is "model"
  std::string digest;
};

}  // namespace phigate::policy
