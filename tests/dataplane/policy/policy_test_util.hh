#pragma once
// Helpers for the policy tests: build small policies around a rules list, and a request whose
// strings own the bytes that request_facts (and so a decision's model view) point into.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/policy/policy.hh"

namespace phigate::policy::test {

inline std::string make_policy(std::string_view rules, std::string_view routes = "[]",
                               std::string_view extra = "") {
  std::string s = "{\"version\":1,";
  s += extra;
  s += "\"routes\":";
  s += routes;
  s += ",\"rules\":";
  s += rules;
  s += "}";
  return s;
}

inline std::unique_ptr<const snapshot> must_compile(const std::string& text) {
  compile_result r = compile(text, "test.json");
  EXPECT_EQ(r.error, "");
  EXPECT_NE(r.snap, nullptr);
  return std::move(r.snap);
}

struct req {
  std::string method = "POST";
  std::string target = "/v1/chat/completions";
  std::string host = "api.example";
  std::string subject = "alice";
  std::vector<std::string> groups;
  std::string body;
  bool complete = true;

  decision eval(const snapshot& s) const {
    group_views.assign(groups.begin(), groups.end());
    request_facts f;
    f.method = method;
    f.target = target;
    f.host = host;
    f.subject = subject;
    f.groups = group_views.data();
    f.group_count = static_cast<uint32_t>(group_views.size());
    f.body = body;
    f.body_complete = complete;
    return evaluate(s, f);
  }
  mutable std::vector<std::string_view> group_views;
};

}  // namespace phigate::policy::test
