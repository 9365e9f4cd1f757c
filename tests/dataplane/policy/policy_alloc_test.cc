// evaluate() must not allocate: counts every operator new around evaluations of the shipped
// example policy on readable, truncated, malformed, escaped and non-canonical requests.
// Its own executable because it replaces the global allocator.
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/policy/policy.hh"

namespace {
std::atomic<long> allocations{0};
}  // namespace

void* operator new(size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// GCC cannot see that operator new above is the malloc-backed replacement.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace phigate::policy {
namespace {

TEST(PolicyAlloc, EvaluateAllocatesNothing) {
  std::ifstream in(PHIGATE_POLICY_EXAMPLE, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  compile_result c = compile(ss.str(), "policy.example.json");
  ASSERT_EQ(c.error, "");

  std::string batch = R"({"model":"text-embedding-3-small","input":[)";
  for (int i = 0; i < 40; ++i) batch += (i ? ",\"note\"" : "\"note\"");
  batch += "]}";
  const std::vector<std::string> bodies = {
      R"({"model":"gpt-4o","messages":[{"role":"user","content":"Patient \u00e9 123\u002d45"}],"n":2})",
      R"({"mo\u0064el":"gpt\u002d4o","max_tokens":9000,"messages":[]})",
      batch,
      R"({"model":"llama-3","metadata":{"export":true},"messages":[]})",
      R"({"model":"x","model":"y"})",
      R"({"model":"gpt-4o","messages":[)",
      "not json at all",
      std::string(200, '['),
      "",
      "{\"model\":\"" + std::string(400, 'm') + "\"}",
  };
  const std::vector<std::string_view> groups_a = {"clinicians", "researchers", "other"};
  const std::vector<std::string_view> groups_b = {"suspended"};
  struct shape {
    const char* method;
    const char* target;
    const char* host;
    const char* subject;
    const std::vector<std::string_view>* groups;
  };
  const shape shapes[] = {
      {"POST", "/v1/chat/completions", "api.openai.example", "dr-who", &groups_a},
      {"POST", "/v1/embeddings?x=1", "198.18.0.2:8000", "dr-who", &groups_a},
      {"GET", "/v1/models", "api.openai.example", "dr-who", &groups_a},
      {"POST", "/v1/%63hat/completions", "api.openai.example", "dr-who", &groups_a},
      {"POST", "http://api.openai.example/v1/completions", "API.OPENAI.EXAMPLE.", "svc-batch-summaries", &groups_b},
      {"POST", "/v1/chat/completions", "", "", &groups_b},
  };

  int decided = 0;
  const long before = allocations.load();
  for (int round = 0; round < 3; ++round) {
    for (const shape& sh : shapes) {
      for (const std::string& body : bodies) {
        for (bool complete : {true, false}) {
          request_facts f;
          f.method = sh.method;
          f.target = sh.target;
          f.host = sh.host;
          f.subject = sh.subject;
          f.groups = sh.groups->data();
          f.group_count = static_cast<uint32_t>(sh.groups->size());
          f.body = body;
          f.body_complete = complete;
          const decision d = evaluate(*c.snap, f);
          decided += d.rule >= 0 ? 1 : 0;
        }
      }
    }
  }
  const long after = allocations.load();
  EXPECT_EQ(after - before, 0);
  EXPECT_GT(decided, 0);
  // The counter does see allocations (guards against a hook that counts nothing).
  std::string grow(1000, 'x');
  EXPECT_GT(allocations.load(), after);
}

}  // namespace
}  // namespace phigate::policy
