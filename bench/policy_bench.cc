// Policy evaluation per request (target: <= 2 us, issue 4 section 7), on a realistic 20-rule
// policy with 2 KB chat bodies. Time per iteration is one evaluate() (ns/eval); the `evals`
// counter is the rate per CPU second.
//
//   policy_evaluate/late_allow  clinician chat: 16 rules tried, allowed by rule 16 (typical)
//   policy_evaluate/default     no rule matches: all 20 rules tried, then the default
//   policy_evaluate/early_block anonymous: blocked by rule 0 (the body is still parsed for model)
//   policy_evaluate/mix         8 request shapes round robin (routes, approvals, escapes, query)
//   policy_evaluate/truncated   body_complete = false: no parse, body rules decide on unknown
//   policy_evaluate_64k         a 64 KB body (the default hold limit): linear cost of the parse
//   json_extract_2k             the body pass alone (every path of the policy)
//   policy_compile              compile() of the policy (setup cost, for scale)
// Everything is built before timing; evaluate() allocates nothing (tests/dataplane/policy).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/policy/policy.hh"

namespace phigate::policy::bench {
namespace {

// 20 rules in the shapes a site writes: identity denials, route and path scoping, body limits,
// approvals for expensive or bulk use, group allows, service accounts.
const char* const kPolicy = R"({
  "version": 1,
  "default": {"action": "block", "reason": "no rule allows this request"},
  "masking_profiles": {"us-phi-core": {}},
  "routes": [
    {"id": "openai", "hosts": ["api.openai.example", "*.openai.example"], "paths": [{"prefix": "/v1/"}],
     "credential": "openai-prod", "masking_profile": "us-phi-core", "unmasked_groups": ["phi-readers"]},
    {"id": "azure", "hosts": ["*.azure.example"], "paths": [{"glob": "/openai/deployments/*"}],
     "credential": "azure-prod", "auth_header": "api-key", "masking_profile": "us-phi-core"},
    {"id": "local", "hosts": ["198.18.0.2", "inference.local"], "credential": "local",
     "masking_profile": "us-phi-core"}
  ],
  "rules": [
    {"id": "r00-anonymous", "match": {"anonymous": true}, "action": "block", "reason": "authentication required"},
    {"id": "r01-suspended", "match": {"groups": ["suspended", "offboarded", "contractors-expired"]},
     "action": "block", "reason": "account suspended"},
    {"id": "r02-unreadable", "match": {"methods": ["POST"], "body_readable": false},
     "action": "block", "reason": "body too large or not JSON"},
    {"id": "r03-list-models", "match": {"methods": ["GET"], "paths": [{"exact": "/v1/models"}, {"glob": "/v1/models/*"}]},
     "action": "allow"},
    {"id": "r04-no-delete", "match": {"methods": ["DELETE", "PATCH", "PUT"]}, "action": "block", "reason": "read-only API"},
    {"id": "r05-files", "match": {"paths": [{"prefix": "/v1/files"}, {"prefix": "/v1/fine_tuning/"}]},
     "action": "block", "reason": "uploads are not allowed"},
    {"id": "r06-choices", "match": {"paths": [{"glob": "/v1/*completions"}], "body": [{"path": "n", "op": ">", "value": 4}]},
     "action": "block", "reason": "at most 4 choices"},
    {"id": "r07-logprobs", "match": {"body": [{"path": "top_logprobs", "op": ">", "value": 5}]},
     "action": "block", "reason": "top_logprobs over 5"},
    {"id": "r08-tools", "match": {"groups": ["students"], "body": [{"path": "tools", "op": "exists"}]},
     "action": "block", "reason": "students may not use tools"},
    {"id": "r09-batch", "match": {"paths": [{"exact": "/v1/embeddings"}],
      "body": [{"path": "input", "op": "type", "value": "array"}, {"path": "input", "measure": "length", "op": ">", "value": 16}]},
     "action": "require_approval", "reason": "embedding batch over 16", "approver_groups": ["ml-leads"], "grant_ttl_s": 3600},
    {"id": "r10-expensive", "match": {"models": ["gpt-4*", "o1*", "o3*"], "body": [{"path": "max_tokens", "op": ">", "value": 4096}]},
     "action": "require_approval", "reason": "long answers from expensive models", "approvals": 2,
     "approver_groups": ["ml-leads", "finance"]},
    {"id": "r11-export", "match": {"groups": ["researchers"], "body": [{"path": "metadata.export", "op": "==", "value": true}]},
     "action": "require_approval", "reason": "research export", "approver_groups": ["irb"], "grant_ttl_s": 900},
    {"id": "r12-system-prompt", "match": {"groups": ["students"], "body": [{"path": "messages[0].role", "op": "==", "value": "system"}]},
     "action": "block", "reason": "students may not set a system prompt"},
    {"id": "r13-temperature", "match": {"body": [{"path": "temperature", "op": ">", "value": 1.5}]},
     "action": "block", "reason": "temperature over 1.5"},
    {"id": "r14-user-tag", "match": {"subjects": ["svc-legacy", "svc-old-batch"], "body": [{"path": "user", "op": "exists", "value": false}]},
     "action": "block", "reason": "service accounts must tag requests"},
    {"id": "r15-clinical", "match": {"groups": ["clinicians", "nurses", "researchers"], "methods": ["POST"],
      "routes": ["openai", "azure", "local"],
      "paths": [{"exact": "/v1/chat/completions"}, {"exact": "/v1/completions"}, {"exact": "/v1/embeddings"},
                {"glob": "/openai/deployments/*/chat/completions"}],
      "models": ["gpt-4o*", "text-embedding-3-*", "llama-3*"]},
     "action": "allow", "reason": "clinical use"},
    {"id": "r16-students", "match": {"groups": ["students"], "methods": ["POST"], "routes": ["local"],
      "models": ["llama-3*"], "body": [{"path": "max_tokens", "op": "<=", "value": 1024}]},
     "action": "allow"},
    {"id": "r17-svc", "match": {"subjects": ["svc-summaries", "svc-coding"], "methods": ["POST"],
      "paths": [{"exact": "/v1/chat/completions"}], "body": [{"path": "stream", "op": "!=", "value": true}]},
     "action": "allow"},
    {"id": "r18-admins", "match": {"groups": ["platform-admins"], "routes": ["openai", "azure", "local"]},
     "action": "require_approval", "reason": "admin access is audited", "approver_groups": ["security"]},
    {"id": "r19-audit", "match": {"methods": ["POST"], "body": [{"path": "user", "op": "in", "value": ["audit-1", "audit-2"]}]},
     "action": "allow"}
  ]
})";

// A 2 KB chat request: system + user messages of clinical text with escapes, the usual knobs.
std::string chat_body(std::string_view model, std::string_view extra, size_t target_bytes = 2048) {
  std::string note =
      "Patient seen for follow-up of type 2 diabetes. A1c 7.9% (was 8.4%). BP 132/84, HR 72. "
      "Reports \"occasional\" dizziness when standing.\nMeds: metformin 1000 mg BID, lisinopril "
      "10 mg daily.\nPlan: continue metformin; add empagliflozin 10 mg; recheck BMP in 2 weeks.\n";
  std::string body = "{\"model\":\"";
  body += model;
  body += "\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a careful clinical scribe. "
          "Summarise the note in plain language.\"},{\"role\":\"user\",\"content\":\"";
  const size_t tail = 160 + extra.size();
  while (body.size() + tail < target_bytes) {
    std::string_view chunk = note;
    if (body.size() + tail + chunk.size() > target_bytes) chunk = chunk.substr(0, target_bytes - tail - body.size());
    for (char c : chunk) {
      if (c == '\n') {
        body += "\\n";
      } else if (c == '"') {
        body += "\\\"";
      } else {
        body += c;
      }
    }
  }
  body += "\"}],\"temperature\":0.2,\"max_tokens\":800,\"n\":1,\"stream\":false,\"user\":\"clinic-7\"";
  body += extra;
  body += "}";
  return body;
}

struct request {
  std::string method, target, host, subject, body;
  std::vector<std::string> groups;
  std::vector<std::string_view> group_views;
  bool complete = true;
  request_facts facts() {
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
    return f;
  }
};

const snapshot& policy() {
  static const compile_result c = [] {
    compile_result r = compile(kPolicy, "bench-policy.json");
    if (!r.error.empty()) {
      std::fprintf(stderr, "policy_bench: %s\n", r.error.c_str());
      std::abort();
    }
    return r;
  }();
  return *c.snap;
}

request clinician() {
  request r{"POST", "/v1/chat/completions", "api.openai.example", "dr-who", chat_body("gpt-4o", ""), {}, {}};
  r.groups = {"staff", "clinicians", "vpn-users", "building-3"};
  return r;
}

void run(benchmark::State& state, std::vector<request>& reqs, std::string_view want_rule) {
  const snapshot& s = policy();
  std::vector<request_facts> facts;
  for (auto& r : reqs) facts.push_back(r.facts());
  const decision first = evaluate(s, facts[0]);
  if (!want_rule.empty() && first.rule_id != want_rule) {
    state.SkipWithError(("unexpected rule " + std::string(first.rule_id)).c_str());
    return;
  }
  size_t i = 0;
  for (auto _ : state) {
    decision d = evaluate(s, facts[i]);
    benchmark::DoNotOptimize(d);
    if (++i == facts.size()) i = 0;
  }
  state.counters["evals"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate);
  state.counters["body_bytes"] = static_cast<double>(reqs[0].body.size());
}

void BM_late_allow(benchmark::State& state) {
  std::vector<request> reqs{clinician()};
  run(state, reqs, "r15-clinical");
}

void BM_default(benchmark::State& state) {
  request r = clinician();
  r.body = chat_body("claude-3-opus", "");
  std::vector<request> reqs{r};
  run(state, reqs, "default");
}

void BM_early_block(benchmark::State& state) {
  request r = clinician();
  r.subject = "";
  r.groups = {};
  std::vector<request> reqs{r};
  run(state, reqs, "r00-anonymous");
}

void BM_truncated(benchmark::State& state) {
  request r = clinician();
  r.complete = false;
  std::vector<request> reqs{r};
  run(state, reqs, "r02-unreadable");
}

void BM_mix(benchmark::State& state) {
  std::vector<request> reqs;
  reqs.push_back(clinician());
  request azure = clinician();
  azure.host = "east.azure.example:443";
  azure.target = "/openai/deployments/gpt4o/chat/completions?api-version=2024-06-01";
  reqs.push_back(azure);
  request repeated = clinician();
  repeated.body = chat_body("gpt-4o", ",\"metadata\":{\"export\":false},\"max_tokens\":8000");
  reqs.push_back(repeated);  // max_tokens twice: unreadable, blocked by r02
  request student = clinician();
  student.host = "198.18.0.2:8000";
  student.groups = {"students"};
  student.body = chat_body("llama-3.1-8b", "");
  reqs.push_back(student);
  request escaped = clinician();
  escaped.body = chat_body("gpt\\u002d4o", "");
  reqs.push_back(escaped);
  request svc = clinician();
  svc.subject = "svc-summaries";
  svc.groups = {};
  reqs.push_back(svc);
  request batch = clinician();
  batch.target = "/v1/embeddings";
  batch.body = "{\"model\":\"text-embedding-3-small\",\"input\":[";
  for (int i = 0; i < 32; ++i) batch.body += (i ? ",\"" : "\"") + std::string(56, 'n') + "\"";
  batch.body += "]}";
  reqs.push_back(batch);
  request admin = clinician();
  admin.groups = {"platform-admins"};
  admin.body = chat_body("o1-mini", "");
  reqs.push_back(admin);
  run(state, reqs, "r15-clinical");
}

void BM_evaluate_64k(benchmark::State& state) {
  request r = clinician();
  r.body = chat_body("gpt-4o", "", policy_default_body_limit);
  std::vector<request> reqs{r};
  run(state, reqs, "r15-clinical");
}

void BM_json_extract_2k(benchmark::State& state) {
  const snapshot& s = policy();
  const std::string body = chat_body("gpt-4o", "");
  std::vector<json_value> out(s.paths.path_count());
  for (auto _ : state) {
    json_status st = s.paths.extract(body, out);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["paths"] = s.paths.path_count();
}

void BM_compile(benchmark::State& state) {
  for (auto _ : state) {
    compile_result c = compile(kPolicy, "bench-policy.json");
    benchmark::DoNotOptimize(c.snap.get());
  }
}

BENCHMARK(BM_late_allow)->Name("policy_evaluate/late_allow");
BENCHMARK(BM_default)->Name("policy_evaluate/default");
BENCHMARK(BM_early_block)->Name("policy_evaluate/early_block");
BENCHMARK(BM_mix)->Name("policy_evaluate/mix");
BENCHMARK(BM_truncated)->Name("policy_evaluate/truncated");
BENCHMARK(BM_evaluate_64k)->Name("policy_evaluate_64k");
BENCHMARK(BM_json_extract_2k)->Name("json_extract_2k");
BENCHMARK(BM_compile)->Name("policy_compile");

}  // namespace
}  // namespace phigate::policy::bench

BENCHMARK_MAIN();
