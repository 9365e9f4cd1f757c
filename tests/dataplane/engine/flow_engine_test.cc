// The engine's central promises, checked on every segmentation of every vector: the released
// bytes are identical whatever the segmentation, no mask ever lands on an already released byte,
// and every planted PHI character is masked in what leaves.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/corpus.hh"
#include "tests/support/engine_fixture.hh"
#include "tests/support/sanitized.hh"

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

// Gated scans of `resp`, cut at random into pieces of at most each size, agree with one full
// scan byte for byte and finding for finding, and no mask lands on a released byte. Callers check
// HasFatalFailure() (the ASSERTs return from here only).
void expect_gated_equals_full_scan(const std::string& resp, std::mt19937_64& rng, std::initializer_list<size_t> max_pieces,
                                   catalog* with = nullptr) {
  const run_result reference = run_guarded(resp, {resp.size()}, scan::flush_mode::mask, false, 1, true, nullptr, with);
  ASSERT_TRUE(reference.ok) << engine::engine_error_name(reference.error);
  for (size_t max_piece : max_pieces) {
    const segmentation seg = random_segmentation(resp.size(), rng, max_piece);
    const run_result gated = run_guarded(resp, seg, scan::flush_mode::mask, false, 1, false, nullptr, with);
    ASSERT_TRUE(gated.ok) << describe(seg);
    ASSERT_EQ(gated.late, 0u) << describe(seg);
    ASSERT_EQ(gated.released, reference.released) << describe(seg);
    ASSERT_EQ(finding_set(gated), finding_set(reference)) << describe(seg);
  }
}

// Run-class gating (scan/trigger.hh): Hyperscan sees only the text near runs of four digits, seven
// digits-and-dots, four capitals-and-digits, and the byte triggers. Number-heavy prose is where a
// wrong reach or a run cut at a feed or window edge would show: gated and full scans must agree on
// every byte and finding, in packet-sized and tiny pieces, plain and one token per SSE event.
TEST(flow_engine, run_gating_matches_a_full_scan_on_number_heavy_text) {
  const char* pieces[] = {
      "25 mg", "4.1 mmol/L", "132/84", "37.2 C", "eGFR 68", "BP 120/80 at 10:30", "1700000000", "v1.2.3",
      "HIPAA", "COPD", "X9Z", "123-45-6789", "(212) 555-0147", "212.555.0147", "SSN 078 05 1120",
      "198.51.100.23", "2024-03-15T10:11:12Z", "03/15/2024", "March 15, 2024", "GB82 WEST 1234 5698 7654 32",
      "GB82WEST12345698765432", "1HGCM82633A004352", "1EG4-TE5-MK73", "4111 1111 1111 1111", "MRN 00482913",
      "zip 02139", "1234", "12345", "99999999999999999999", "A1B2C3D4", "ABCD1234", "1.2.3.4.5.6.7.8", "0.0.0",
      "jane.doe@example.com", "https://portal.example.net/r?id=7", "2001:db8::8a2e:370:7334", "1 2 3 4 5 6",
      "10.", ".5", "9-9-9", "12:34:56",
  };
  std::mt19937_64 rng(20261128);
  for (int round = 0; round < 32; ++round) {
    // Odd rounds set every piece apart with more trigger-free prose than any reach, so regions do
    // not merge and each value depends on its own trigger's reach alone.
    const bool isolated = round % 2 == 1;
    std::string text;
    const size_t n = isolated ? 12 : 20 + rng() % 60;
    for (size_t i = 0; i < n; ++i) {
      if (isolated) {
        for (size_t k = 5 + rng() % 4; k > 0; --k) text += "the patient was seen ";
      }
      if (rng() % 9 == 0) text += std::string(1 + rng() % 300, static_cast<char>('0' + rng() % 10));  // long runs
      else text += pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];
      text += " ,.;\n"[rng() % 5];
      if (!isolated && rng() % 3 == 0) text += "the patient was seen ";
    }
    // Both shapes: one text body, and the same text cut into tokens of 1-8 bytes, one per event.
    std::string events;
    for (size_t at = 0; at < text.size();) {
      const size_t len = std::min<size_t>(text.size() - at, 1 + rng() % 8);
      std::string token;
      for (char ch : text.substr(at, len)) token += ch == '\n' ? std::string("\\n") : std::string(1, ch);
      events += openai_event(token);
      at += len;
    }
    const std::string responses[] = {http_response("text/plain", text),
                                     http_response("text/event-stream", events + "data: [DONE]\n\n", true, 997)};
    for (const std::string& resp : responses) {
      SCOPED_TRACE("round " + std::to_string(round) + (&resp == &responses[0] ? " text" : " sse"));
      // (Tiny pieces only for the plain body: every piece is a guard-page mapping of its own, and
      // the event stream is ~60 times longer.)
      const size_t smallest = resp.size() <= 16384 ? 7 : 97;
      expect_gated_equals_full_scan(resp, rng, {size_t{1448}, size_t{200}, smallest});
      if (HasFatalFailure()) return;
    }
  }
}

// Hold and start automata (scan/hold_dfa.hh, scan/start_dfa.hh) answer the hold-back question and
// find match starts in place of the Hyperscan hold and start databases. Through the whole engine,
// every feed's final offset, every released byte and every finding must be the same either way,
// in packet-sized, small and tiny pieces, on generated responses of every shape with PHI and on
// prose without.
TEST(flow_engine, automata_hold_and_find_exactly_what_the_hyperscan_scans_did) {
  catalog hs_hold;
  hs_hold.cfg.hold_automata = false;
  hs_hold.cfg.start_automata = false;
  hs_hold.cfg.stream_automata = false;
  hs_hold.load({std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json"});
  ASSERT_NE(hs_hold.x, nullptr);
  ASSERT_FALSE(catalog::shared().db->hold_automata().empty());
  ASSERT_NE(catalog::shared().db->start_automaton(0), nullptr);
  ASSERT_FALSE(catalog::shared().db->stream_automata().empty());
  std::mt19937_64 rng(20261129);
  size_t held = 0, findings = 0;
  for (doc_shape shape : kAllShapes) {
    for (int k = 0; k < 3; ++k) {
      const corpus_doc d = k < 2 ? make_doc(rng, shape, 6) : make_prose_doc(rng, shape, 200);
      // Under ASan without the 5-byte pieces, most of this test's time (tests/support/sanitized.hh).
      for (size_t max_piece : {size_t{1448}, size_t{64}, size_t{5}}) {
        if (phigate::test::kSanitized && max_piece == 5) continue;
        const segmentation seg = random_segmentation(d.response.size(), rng, max_piece);
        const run_result a = run_guarded(d.response, seg);
        const run_result b = run_guarded(d.response, seg, scan::flush_mode::mask, false, 4, false, nullptr, &hs_hold);
        ASSERT_TRUE(a.ok && b.ok) << shape_name(shape) << " " << describe(seg);
        ASSERT_EQ(a.finals, b.finals) << shape_name(shape) << " " << describe(seg);
        ASSERT_EQ(a.released, b.released) << shape_name(shape) << " " << describe(seg);
        ASSERT_EQ(finding_set(a), finding_set(b)) << shape_name(shape) << " " << describe(seg);
        held += a.held_feeds;
        findings += a.findings.size();
      }
    }
  }
  std::printf("automata vs hyperscan: %zu held feeds, %zu findings compared\n", held, findings);
  EXPECT_GT(held, 100u);  // the comparison covered holds, not only feeds that ended clean
  EXPECT_GT(findings, 100u);
}

// Repeat skip (scan/channel.cc): fires whose bytes repeat the record before them are not fed to
// Hyperscan; reports in the earlier copy are replayed. Envelopes here repeat for runs of events
// and carry values (an e-mail, an MRN after its key, an SSN, a phone, an NPI-shaped number) that
// must be masked in every event, next to envelopes of other lengths and near-misses, as SSE events
// and as NDJSON lines. Gated with the skip and full scans must agree on every byte and finding, in
// packet-sized, 200-byte and small pieces, and the skip must have happened.
TEST(flow_engine, repeat_skip_matches_a_full_scan_on_repeated_envelopes) {
  const char* envelopes[] = {
      R"("id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m")",
      R"("id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000001,"model":"m")",
      R"("id":"chatcmpl-9","user":"jane.doe@example.com","created":1700000000,"model":"clinical-7b")",
      R"("id":"r-2","mrn":"00482913","patient":{"ssn":"123-45-6789","phone":"(212) 555-0147"})",
      R"("id":"r-2","mrn":"00482914","patient":{"ssn":"123-45-6780","phone":"(212) 555-0148"})",
      R"("id":"r-3","npi":"1234567893","note":"v1.2.3 on 2024-03-15, lab 4.1 mmol/L")",
      R"("id":"r-3","npi":"1234567893","note":"v1.2.3 on 2024-03-15, lab 4.1 mmol/L","x":"GB82WEST12345698765432")",
      // Same length, same bytes around the number; only the second has the MRN keyword, inside
      // the context window but outside the number's fire region: a replay judged on the first
      // must not be taken as rejected for the second.
      R"("id":"r-4","abc":"on file","pad":"-----","ref":"00482913")",
      R"("id":"r-4","mrn":"on file","pad":"-----","ref":"00482913")",
  };
  const char* tokens[] = {"The", " patient", " 123", "-45-", "6789", " was", " seen", " jane", ".doe", "@example",
                          ".com", " on", " 03/15/2024", ".", " MRN", " 004", "82913", " ok"};
  std::mt19937_64 rng(20261129);
  uint64_t skipped = 0, replays = 0;
  for (int round = 0; round < 24; ++round) {
    std::string sse, ndjson;
    size_t env = rng() % (sizeof(envelopes) / sizeof(envelopes[0]));
    const size_t events = 20 + rng() % 60;
    for (size_t i = 0; i < events; ++i) {
      // Mostly the same envelope as the event before (runs of repeats), sometimes another one.
      if (rng() % 7 == 0) env = rng() % (sizeof(envelopes) / sizeof(envelopes[0]));
      else if (env >= 7 && rng() % 3 == 0) env = 7 + (env == 7);  // the keyword comes and goes
      const std::string tok = tokens[rng() % (sizeof(tokens) / sizeof(tokens[0]))];
      const std::string obj = std::string("{") + envelopes[env] +
                              R"(,"choices":[{"index":0,"delta":{"content":")" + tok + R"("},"finish_reason":null}]})";
      sse += "data: " + obj + "\n\n";
      ndjson += std::string("{") + envelopes[env] + R"(,"response":")" + tok + R"(","done":false})" + "\n";
    }
    const std::string responses[] = {http_response("text/event-stream", sse + "data: [DONE]\n\n", true, 997),
                                     http_response("application/x-ndjson", ndjson)};
    for (const std::string& resp : responses) {
      SCOPED_TRACE("round " + std::to_string(round) + (&resp == &responses[0] ? " sse" : " ndjson"));
      scan::scan_counters& n = engine::engine_scratch_counters(*catalog::shared().x);
      const uint64_t skipped_before = n.repeat_skipped, replays_before = n.repeat_replays;
      expect_gated_equals_full_scan(resp, rng, {size_t{1448}, size_t{200}, size_t{61}});
      if (HasFatalFailure()) return;
      skipped += n.repeat_skipped - skipped_before;
      replays += n.repeat_replays - replays_before;
      ASSERT_EQ(n.repeat_overflow, 0u);
    }
  }
  // The differential above means something only if fires were skipped and reports replayed.
  EXPECT_GT(skipped, 1000u);
  EXPECT_GT(replays, 100u);
  std::printf("repeat skip: %llu fires skipped, %llu reports replayed\n", static_cast<unsigned long long>(skipped),
              static_cast<unsigned long long>(replays));
}

// The repeat skip against a full scan on generated envelopes: random keys and values (PHI,
// near-misses, numbers, the context keywords), repeated for runs of events, with one byte of a
// value changed now and then so records repeat only in part.
TEST(flow_engine, repeat_skip_matches_a_full_scan_on_generated_envelopes) {
  const char* values[] = {
      "123-45-6789", "(212) 555-0147", "212.555.0147", "jane.doe@example.com", "1234567893", "00482913",
      "2024-03-15", "03/15/2024", "198.51.100.23", "4111 1111 1111 1111", "1HGCM82633A004352", "02139",
      "1700000000", "v1.2.3", "chat.completion.chunk", "4.1 mmol/L", "GB82WEST12345698765432", "x", "",
      "https://portal.example.net/r?id=7", "2001:db8::8a2e:370:7334", "99999999999999999999", "A1B2C3D4"};
  const char* keys[] = {"id", "mrn", "npi", "ssn", "phone", "zip", "account", "model", "created", "note", "medical record"};
  std::mt19937_64 rng(20261130);
  for (int round = 0; round < 40; ++round) {
    std::string tmpl;  // the record's envelope: "k":"v","k":"v",...
    auto fresh = [&] {
      tmpl.clear();
      for (size_t k = 2 + rng() % 6; k > 0; --k) {
        tmpl += std::string(tmpl.empty() ? "" : ",") + "\"" + keys[rng() % (sizeof(keys) / sizeof(keys[0]))] + "\":";
        const char* v = values[rng() % (sizeof(values) / sizeof(values[0]))];
        if (rng() % 4 == 0 && std::string(v).find_first_not_of("0123456789") == std::string::npos && *v) tmpl += v;
        else tmpl += "\"" + std::string(v) + "\"";
      }
    };
    fresh();
    std::string sse, ndjson;
    // Every fourth round is longer than a stage (8 KiB), so a scan call's earlier copy may lie in
    // bytes an earlier call classified (and skipped).
    for (size_t i = 0, n = round % 4 == 3 ? 200 + rng() % 100 : 30 + rng() % 50; i < n; ++i) {
      const uint64_t r = rng() % 16;
      if (r == 0) fresh();
      else if (r == 3) {  // a digit more at the start of a string value: the shift changes
        const size_t at = tmpl.find("\":\"", rng() % tmpl.size());
        if (at != std::string::npos) tmpl.insert(at + 3, std::string(1, "0123456789"[rng() % 10]));
      }
      else if (r <= 2) {  // one digit or letter changed in place: same length, partly equal
        const size_t at = rng() % tmpl.size();
        if (std::isdigit(static_cast<unsigned char>(tmpl[at]))) tmpl[at] = static_cast<char>('0' + rng() % 10);
        else if (std::isalpha(static_cast<unsigned char>(tmpl[at]))) tmpl[at] = static_cast<char>('a' + rng() % 26);
      }
      sse += "data: {" + tmpl + ",\"choices\":[{\"delta\":{\"content\":\"t" + std::to_string(i % 3) + "\"}}]}\n\n";
      ndjson += "{" + tmpl + ",\"response\":\"t\",\"done\":false}\n";
    }
    const std::string responses[] = {http_response("text/event-stream", sse + "data: [DONE]\n\n", true, 501),
                                     http_response("application/x-ndjson", ndjson)};
    for (const std::string& resp : responses) {
      SCOPED_TRACE("round " + std::to_string(round) + (&resp == &responses[0] ? " sse" : " ndjson"));
      expect_gated_equals_full_scan(resp, rng, {size_t{4096}, size_t{1448}, size_t{150}});
      if (HasFatalFailure()) return;
    }
  }
}

// The repeat skip's shortcut: a replayed report whose original was rejected is not considered
// again only when everything the rejection was judged on repeats too. Here the keyword sits 40
// bytes before a four-digit value (window 64) while the value's fire region reaches 4 bytes back,
// so two events can agree on the region and differ in the keyword; the value must be masked in
// exactly the events that have it.
TEST(flow_engine, repeat_skip_rejudges_a_report_whose_context_changed) {
  static catalog c;
  static const bool loaded = (c.load({std::string(PHIGATE_TEST_DATA) + "/repeat-context.json"}), true);
  (void)loaded;
  ASSERT_NE(c.x, nullptr);
  const std::string pad(40, 'x');
  std::mt19937_64 rng(7);
  std::string sse;
  size_t with_keyword = 0;
  for (int i = 0; i < 200; ++i) {
    const bool kw = rng() % 4 == 0;
    with_keyword += kw;
    sse += std::string("data: {\"k\":\"") + (kw ? "acct" : "none") + "\",\"p\":\"" + pad +
           "\",\"n\":\"4821\",\"delta\":{\"content\":\"hi\"}}\n\n";
  }
  const std::string resp = http_response("text/event-stream", sse + "data: [DONE]\n\n");
  const run_result reference = run_guarded(resp, {resp.size()}, scan::flush_mode::mask, false, 1, true, nullptr, &c);
  ASSERT_TRUE(reference.ok);
  ASSERT_EQ(reference.findings.size(), with_keyword);
  for (size_t max_piece : {size_t{1448}, size_t{300}}) {
    const segmentation seg = random_segmentation(resp.size(), rng, max_piece);
    scan::scan_counters& n = engine::engine_scratch_counters(*c.x);
    const uint64_t skipped_before = n.repeat_skipped;
    const run_result gated = run_guarded(resp, seg, scan::flush_mode::mask, false, 1, false, nullptr, &c);
    EXPECT_GT(n.repeat_skipped, skipped_before + 20) << describe(seg);
    ASSERT_TRUE(gated.ok) << describe(seg);
    ASSERT_EQ(gated.released, reference.released) << describe(seg);
    ASSERT_EQ(finding_set(gated), finding_set(reference)) << describe(seg);
  }
}

// Regression for the fast context check (scan::context_ok): a keyword counts only when it lies
// wholly within the entry's window before the value, in any letter case; one byte further away it
// does not. mrn: window 32, keyword "medical record" (14 bytes).
TEST(flow_engine, context_keyword_window_edge_and_case) {
  for (const char* kw : {"Medical Record", "MEDICAL record", "medical_record"}) {
    for (size_t gap : {size_t{18}, size_t{19}}) {
      SCOPED_TRACE(std::string(kw) + " gap " + std::to_string(gap));
      const std::string resp =
          http_response("text/plain", std::string("x ") + kw + std::string(gap, ' ') + "4455667788 end");
      for (const auto& seg : all_segmentations(resp.size(), 2, 5)) {
        const run_result r = run_guarded(resp, seg);
        ASSERT_TRUE(r.ok) << describe(seg);
        if (gap == 18) EXPECT_TRUE(contains(r.released, std::string(kw) + std::string(gap, ' ') + "********** end"))
            << describe(seg) << r.released;
        else EXPECT_TRUE(contains(r.released, "4455667788")) << describe(seg) << r.released;
      }
    }
  }
}

// --- per-flow memory and the bounds that keep it small (docs/benchmarks.md, "Per-flow state") ---

TEST(flow_engine, per_flow_state_stays_small) {
  // Was 4096 bytes: two 256-byte request-target copies and 2 x 48 held map entries of 24 bytes;
  // then 2048 with the body's decoder and channels inside the flow. The stream automata's states
  // (16 bytes per channel) took body_state from 1680 to 1712 and channel_state from 768 to 784.
  EXPECT_LE(sizeof(engine::flow_engine), 384u);
  EXPECT_LE(sizeof(engine::body_state), 1712u);
  EXPECT_LE(sizeof(http::parser), 160u);
  EXPECT_LE(sizeof(scan::channel_state), 784u);
  std::printf("sizeof(flow_engine) = %zu, body_state = %zu, channel_state = %zu, http::parser = %zu, sse_state = %zu\n",
              sizeof(engine::flow_engine), sizeof(engine::body_state), sizeof(scan::channel_state),
              sizeof(http::parser), sizeof(decode::sse_state));
}

// Body state comes from the scratch's pool: a body takes one when it starts and returns it when it
// ends or is abandoned; a body that finds the pool empty fails closed, and a flow between bodies
// holds none.
TEST(flow_engine, body_state_pool_bounds_open_bodies_and_fails_closed) {
  catalog& c = catalog::shared();
  engine::engine_scratch* x = engine::engine_scratch_create(c.cfg, 2);
  ASSERT_NE(x, nullptr);
  const std::string body = R"({"content":"SSN 123-45-6789 on file."})";
  const std::string resp = http_response("application/json", body);
  const std::string req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
  struct one {
    engine::flow_engine f;
    std::string out;
    engine::engine_sink sink;
  };
  auto feed = [&](one& o, size_t from, size_t to) {
    if (from == 0) {
      o.out = resp;
      o.sink.ctx = &o;
      o.sink.on_mask = [](void* ctx, const mask::mask_action& a) {
        auto& self = *static_cast<one*>(ctx);
        mask::mask_apply(reinterpret_cast<uint8_t*>(self.out.data()), self.out.size(), 0, a);
      };
      engine::feed_request(o.f, *x, reinterpret_cast<const uint8_t*>(req.data()), req.size(), 1, o.sink);
    }
    return engine::feed_response(o.f, *x, reinterpret_cast<const uint8_t*>(resp.data()) + from, to - from, 2, o.sink);
  };
  auto flows = std::make_unique<one[]>(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(engine::flow_engine_setup(flows[i].f, c.cfg));
  const size_t mid = resp.size() - 8;  // inside the body
  const uint64_t before = engine::engine_scratch_counters(*x).no_body_memory;

  ASSERT_EQ(feed(flows[0], 0, mid).error, engine::engine_error::none);
  ASSERT_EQ(feed(flows[1], 0, mid).error, engine::engine_error::none);
  EXPECT_EQ(engine::engine_scratch_body_stats(*x).in_use, 2u);
  // A third body finds the pool empty: refused, so the caller resets it; nothing is released.
  const engine::feed_result r = feed(flows[2], 0, resp.size());
  EXPECT_EQ(r.error, engine::engine_error::no_body_memory);
  EXPECT_STREQ(engine::engine_error_name(r.error), "no_body_memory");
  EXPECT_LE(r.final_offset, resp.size() - body.size());
  EXPECT_EQ(engine::engine_scratch_counters(*x).no_body_memory, before + 1);
  EXPECT_EQ(engine::engine_scratch_body_stats(*x).failed, 1u);

  // An ended body returns its state: the flow between bodies holds none, and the next body fits.
  ASSERT_EQ(feed(flows[0], mid, resp.size()).error, engine::engine_error::none);
  EXPECT_EQ(flows[0].f.body, nullptr);
  EXPECT_EQ(flows[0].out.find("6789"), std::string::npos) << flows[0].out;
  EXPECT_EQ(engine::engine_scratch_body_stats(*x).in_use, 1u);
  ASSERT_EQ(feed(flows[3], 0, resp.size()).error, engine::engine_error::none);
  EXPECT_EQ(flows[3].out.find("6789"), std::string::npos) << flows[3].out;

  // A body abandoned mid-way (connection reset) returns its state too.
  engine::flow_engine_reset(flows[1].f);
  EXPECT_EQ(engine::engine_scratch_body_stats(*x).in_use, 0u);
  EXPECT_EQ(engine::engine_scratch_body_stats(*x).high_water, 2u);
  // A reused state starts clean: the same body split differently masks the same way.
  for (size_t cut = resp.size() - body.size() + 1; cut < resp.size(); ++cut) {
    engine::flow_engine_reset(flows[1].f);
    ASSERT_EQ(feed(flows[1], 0, cut).error, engine::engine_error::none);
    ASSERT_EQ(feed(flows[1], cut, resp.size()).error, engine::engine_error::none);
    EXPECT_EQ(flows[1].out, flows[0].out) << cut;
  }
  for (int i = 0; i < 4; ++i) engine::flow_engine_teardown(flows[i].f);
  EXPECT_EQ(engine::engine_scratch_body_stats(*x).in_use, 0u);
  engine::engine_scratch_destroy(x);
}

// An SSE response whose text is "see " followed by the first `url_chars` bytes of a URL, one byte
// per event: every held byte of the unfinished URL is its own raw-map entry.
std::string url_one_byte_per_event(size_t url_chars) {
  const std::string url = "https://portal.example.net/records/abcdefghijklmnopqrstuvwxyz0123456789abcdefghij";
  std::string body = openai_event("see ");
  for (size_t i = 0; i < url_chars; ++i) body += openai_event(url.substr(i, 1));
  return body;
}

TEST(flow_engine, held_map_bound_fails_closed_at_49_entries) {
  // Regression for the held-map bound (kHeldMapEntries = 48): the response is cut right after the
  // last URL byte, so the whole unfinished URL is held at the end of the first feed.
  for (size_t chars : {size_t{48}, size_t{49}}) {
    SCOPED_TRACE(chars);
    const std::string body = url_one_byte_per_event(chars);
    const std::string resp = http_response("text/event-stream", body + openai_event(" ok"));
    const size_t cut = resp.size() - openai_event(" ok").size();
    scan::scan_counters& n = engine::engine_scratch_counters(*catalog::shared().x);
    const uint64_t before = n.map_overflow;
    const run_result r = run_guarded(resp, {cut, resp.size() - cut});
    if (chars == scan::kHeldMapEntries) {
      EXPECT_TRUE(r.ok) << engine::engine_error_name(r.error);
      EXPECT_EQ(n.map_overflow, before);
      EXPECT_TRUE(contains(r.released, "\"see \"")) << r.released;
    } else {
      EXPECT_FALSE(r.ok);
      EXPECT_EQ(r.error, engine::engine_error::map_overflow);
      EXPECT_EQ(n.map_overflow, before + 1);
      // Fail closed: nothing of the held URL left before the refusal.
      EXPECT_FALSE(contains(r.released, "\"h\"")) << r.released;
    }
  }
}

// The held map keeps raw offsets relative to the first held byte in 32 signed bits (kHeldRawSpan).
// Driven through the scanner directly, since a real 2 GiB gap between two held bytes cannot be fed.
TEST(flow_engine, held_raw_span_bound_fails_closed) {
  const scan::pattern_db& db = *catalog::shared().db;
  scan::scan_scratch* s = scan::scan_scratch_create(db);
  ASSERT_NE(s, nullptr);
  struct out {
    std::vector<mask::mask_action> masks;
    std::vector<scan::finding> findings;
  };
  scan::scan_sink sink;
  sink.db = &db;
  sink.on_mask = [](void* ctx, const mask::mask_action& a) { static_cast<out*>(ctx)->masks.push_back(a); };
  sink.on_finding = [](void* ctx, const scan::finding& f) { static_cast<out*>(ctx)->findings.push_back(f); };
  auto put = [&](std::string_view t, uint64_t raw) {
    scan::channel_put_run(*s, 0, reinterpret_cast<const uint8_t*>(t.data()), t.size(), raw, scan::source_kind::text);
  };
  for (const uint64_t gap : {uint64_t{INT32_MAX}, uint64_t{INT32_MAX} + 1}) {
    SCOPED_TRACE(gap);
    out o;
    sink.ctx = &o;
    scan::channel_state ch;
    scan::channel_init(ch);
    ASSERT_TRUE(scan::channel_open(ch, db));
    const uint64_t before = scan::scan_scratch_counters(*s).map_overflow;
    // "see " is final; "https://portal" is held, its two pieces `gap` raw bytes apart.
    scan::channel_begin(*s, 0, ch, sink);
    put("see ", 0);
    put("https://", 100);
    put("portal", 100 + gap);
    const bool ok = scan::channel_end(*s, 0);
    EXPECT_EQ(ch.first_held_raw, 100u);
    if (gap == uint64_t{INT32_MAX}) {
      ASSERT_TRUE(ok);
      EXPECT_FALSE(ch.overflow);
      EXPECT_EQ(ch.held_count, 2u);
      // The held map round-trips: the completed URL is masked at its real raw offsets.
      scan::channel_begin(*s, 0, ch, sink);
      put(".example.net/x1 ", 100 + gap + 6);
      EXPECT_TRUE(scan::channel_end(*s, 0));
      scan::channel_close(*s, 0, ch, sink);
      ASSERT_EQ(o.findings.size(), 1u);
      EXPECT_EQ(o.findings[0].raw_start, 100u);
      EXPECT_EQ(o.findings[0].raw_end, 100 + gap + 6 + 15);
      // Masks repeat per reported match end; their union is "https://" and "portal.example.net/x1".
      std::set<uint64_t> masked;
      for (const auto& m : o.masks)
        for (uint64_t b = m.raw_off; b < m.raw_off + m.raw_len; ++b) masked.insert(b);
      std::set<uint64_t> want;
      for (uint64_t b = 100; b < 108; ++b) want.insert(b);
      for (uint64_t b = 100 + gap; b < 100 + gap + 6 + 15; ++b) want.insert(b);
      EXPECT_EQ(masked, want);
      EXPECT_EQ(scan::scan_scratch_counters(*s).map_overflow, before);
    } else {
      EXPECT_FALSE(ok);
      EXPECT_TRUE(ch.overflow);
      EXPECT_EQ(scan::scan_scratch_counters(*s).map_overflow, before + 1);
    }
    scan::channel_release(ch);
  }
  scan::scan_scratch_destroy(s);
}

}  // namespace
}  // namespace phigate::test
