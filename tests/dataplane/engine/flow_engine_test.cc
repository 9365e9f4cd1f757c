// The engine's central promises, checked on every segmentation of every vector: the released
// bytes are identical whatever the segmentation, no mask ever lands on an already released byte,
// and every planted PHI character is masked in what leaves.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/engine_fixture.hh"

namespace phigate::test {
namespace {

struct vector_case {
  const char* name;
  std::string response;
  std::vector<std::string> phi;        // values that must not survive anywhere in the output
  std::vector<std::string> keep;       // text that must survive unchanged
};

std::vector<vector_case> cases() {
  std::vector<vector_case> v;
  v.push_back({"json_completion",
               http_response("application/json",
                             R"({"id":"chatcmpl-9","object":"chat.completion","created":1700000000,"choices":[{"index":0,"message":{"role":"assistant","content":"Patient SSN 123-45-6789, call 555-012-3456 or mail jane.doe@example.com."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":30}})"),
               {"123-45-6789", "555-012-3456", "jane.doe@example.com"},
               {"\"created\":1700000000", "\"prompt_tokens\":12", "Patient SSN ***-**-****"}});
  v.push_back({"sse_split_across_tokens",
               http_response("text/event-stream", openai_event("Your SSN is ") + openai_event("123") +
                                                       openai_event("-45-") + openai_event("6789") +
                                                       openai_event(" and that is all.") + "data: [DONE]\n\n",
                             true, 61),
               {"\"123\"", "\"-45-\"", "\"6789\""},
               {"SSN is", "that is all"}});
  v.push_back({"anthropic_sse",
               http_response("text/event-stream",
                             "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"MRN: 4\"}}\n\n"
                             "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"8213377 admitted\"}}\n\n"),
               {"4\"}", "8213377"},
               {"admitted"}});
  v.push_back({"ndjson_ollama",
               http_response("application/x-ndjson",
                             "{\"model\":\"llama3\",\"created_at\":\"2024-01-01T00:00:00Z\",\"response\":\"Call 555-01\",\"done\":false}\n"
                             "{\"model\":\"llama3\",\"created_at\":\"2024-01-01T00:00:00Z\",\"response\":\"2-3456 now\",\"done\":false}\n"
                             "{\"model\":\"llama3\",\"response\":\"\",\"done\":true}\n"),
               {"555-01\",", "\"2-3456"},
               {"\"done\":true", "now"}});
  v.push_back({"json_escapes_and_unicode",
               http_response("application/json",
                             "{\"content\":\"SSN 123\\u002d45\\u20116789 and \\uff11\\uff12\\uff13-45-6789 zw 123\\u200b-45-6789 end\"}"),
               {"123\\u002d45", "\\uff11\\uff12\\uff13", "123\\u200b"},
               {"and", "end"}});
  v.push_back({"pipelined_keepalive",
               http_response("application/json", R"({"content":"SSN 123-45-6789"})") +
                   http_response("text/plain", "phone 555-012-3456 ok"),
               {"123-45-6789", "555-012-3456"},
               {"ok"}});
  {
    // Regression (trigger gating): a URL whose trigger ('.' of the host) arrives in a later piece
    // than its scheme, after a stretch of prose Hyperscan was allowed to skip. The trigger's
    // backward reach must still find the scheme's bytes fed.
    std::string body;
    const char* toks[] = {"the patient ", "reports mild pain after surgery and ", "rest", " htt", "p", "s",
                          "://po", "rtal.e", "xampl", "e.ne", "t/", "recor", "ds?", "i", "d=7", "8243",
                          " today"};
    for (const char* t : toks) body += std::string("{\"response\":\"") + t + "\",\"done\":false}\n";
    v.push_back({"regression_gated_backward_reach", http_response("application/x-ndjson", body),
                 {"\"rtal.e\"", "\"xampl\"", "\"8243\""},
                 {"\"the patient \"", "\" today\""}});
  }
  v.push_back({"no_phi_prose",
               http_response("text/event-stream", openai_event("The") + openai_event(" patient") +
                                                       openai_event(" should") + openai_event(" rest.") +
                                                       "data: [DONE]\n\n"),
               {},
               {"\"The\"", "\" patient\"", "\" should\"", "\" rest.\""}});
  return v;
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

TEST(flow_engine, every_segmentation_same_output_no_late_masks_no_leaks) {
  ASSERT_NE(catalog::shared().x, nullptr);
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    const run_result whole = run_guarded(c.response, {c.response.size()});
    ASSERT_TRUE(whole.ok) << engine::engine_error_name(whole.error);
    ASSERT_EQ(whole.released.size(), c.response.size());
    for (const auto& p : c.phi) EXPECT_FALSE(contains(whole.released, p)) << "leaked value of size " << p.size();
    for (const auto& k : c.keep) EXPECT_TRUE(contains(whole.released, k)) << k;
    size_t runs = 0;
    for (const auto& seg : all_segmentations(c.response.size(), 24, 7)) {
      const run_result r = run_guarded(c.response, seg);
      ASSERT_TRUE(r.ok) << describe(seg);
      ASSERT_EQ(r.late, 0u) << describe(seg);
      ASSERT_EQ(r.released, whole.released) << describe(seg);
      ASSERT_EQ(r.findings.size(), whole.findings.size()) << describe(seg);
      ++runs;
    }
    EXPECT_GT(runs, c.response.size());
  }
}

TEST(flow_engine, flush_on_every_hold_never_leaks) {
  // Worst-case timer: fire the flush after every feed that held something. In the default
  // fail-closed mode every planted value must still be masked.
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    for (const auto& seg : {segmentation(c.response.size(), 1), segmentation{c.response.size() / 2,
                                                                               c.response.size() - c.response.size() / 2}}) {
      const run_result r = run_guarded(c.response, seg, scan::flush_mode::mask, true);
      ASSERT_TRUE(r.ok);
      for (const auto& p : c.phi) EXPECT_FALSE(contains(r.released, p)) << describe(seg);
    }
  }
}

TEST(flow_engine, findings_report_entity_and_exact_offsets) {
  const std::string body = R"({"content":"SSN 123-45-6789"})";
  const std::string resp = http_response("application/json", body);
  const run_result r = run_guarded(resp, {resp.size()});
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.findings.size(), 1u);
  const size_t at = resp.find("123-45-6789");
  EXPECT_EQ(r.findings[0].raw_start, at);
  EXPECT_EQ(r.findings[0].raw_end, at + 11);
  EXPECT_EQ(catalog::shared().entity(r.findings[0].pattern), "ssn");
}

TEST(flow_engine, masked_json_stays_valid_json) {
  const std::string resp = http_response("application/json", R"({"npi_number":"x","mrn":48213377,"a":"\u0031\u0032\u0033-45-6789"})");
  const run_result r = run_guarded(resp, {resp.size()});
  ASSERT_TRUE(r.ok);
  // A number stays a number (digits become 9); an escaped digit becomes an escaped '*'.
  EXPECT_TRUE(contains(r.released, "\"mrn\":99999999")) << r.released;
  EXPECT_TRUE(contains(r.released, "\\u002a\\u002a\\u002a-**-****")) << r.released;
}

TEST(flow_engine, unmaskable_responses_are_refused) {
  struct bad { const char* name; std::string resp; engine::engine_error err; };
  const std::vector<bad> bads = {
      {"gzip", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd",
       engine::engine_error::content_encoding},
      {"binary", "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 4\r\n\r\nabcd",
       engine::engine_error::unsupported_content_type},
      {"bad_json", http_response("application/json", "{\"a\":\"SSN 123-45-6789\" oops}"), engine::engine_error::json},
      {"truncated_json", http_response("application/json", "{\"a\":[1,2"), engine::engine_error::json},
      {"smuggling", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       engine::engine_error::http},
  };
  for (const auto& b : bads) {
    SCOPED_TRACE(b.name);
    for (const auto& seg : all_segmentations(b.resp.size(), 4, 3)) {
      const run_result r = run_guarded(b.resp, seg);
      EXPECT_FALSE(r.ok) << describe(seg);
      EXPECT_EQ(r.error, b.err) << describe(seg);
      // Nothing of the body may have left before the refusal.
      EXPECT_EQ(r.released.find("123-45-6789"), std::string::npos);
    }
  }
}

TEST(flow_engine, prose_without_candidates_is_not_held_at_word_boundaries) {
  // Text ending in a space or punctuation cannot start PHI: nothing is held after such feeds.
  const std::string resp = http_response("text/plain", "The patient should rest. ");
  const run_result r = run_guarded(resp, {resp.size()});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.held_feeds, 0u);
}

}  // namespace
}  // namespace phigate::test
