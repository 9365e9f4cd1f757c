// Masking profiles in the engine (issue 4 section 2): a response's entity mask leaves excluded
// entities intact, a style override changes how values are masked, and an unmasked response is
// scanned (findings reported, errors still fail) without any mask. Checked under every
// segmentation of each response, each piece in a guarded buffer.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/engine_fixture.hh"

namespace phigate::test {
namespace {

using mode_run = run_result;

// run_guarded with one request and the response mode set before the response head (as the
// session does from on_response_head). `flush_each` fires the hold timer after every feed that
// held bytes.
mode_run run_mode(std::string_view response, const segmentation& seg, const scan::response_mode& mode,
                  bool flush_each = false) {
  return run_guarded(response, seg, scan::flush_mode::mask, flush_each, 1, false, &mode);
}

bool contains(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

uint64_t bits(std::initializer_list<const char*> names) {
  uint64_t m = 0;
  for (const char* n : names) {
    const int i = catalog::shared().db->entity_index(n);
    EXPECT_GE(i, 0) << n;
    if (i >= 0) m |= uint64_t{1} << i;
  }
  return m;
}

const std::string kJson = http_response(
    "application/json", R"({"content":"SSN 123-45-6789, mail jane.doe@example.com, ok"})");
const std::string kSse = http_response("text/event-stream",
                                       openai_event("SSN 123-4") + openai_event("5-6789 mail jane.d") +
                                           openai_event("oe@example.com ok") + "data: [DONE]\n\n");

TEST(response_mode, catalog_numbers_its_entities) {
  const scan::pattern_db& db = *catalog::shared().db;
  ASSERT_GT(db.entity_count(), 10u);
  EXPECT_EQ(db.entity_index("ssn"), 0);  // first entry of us-phi-core
  EXPECT_EQ(db.entity_index("no_such_entity"), -1);
  for (uint32_t p = 0; p < db.patterns().size(); ++p) {
    const uint8_t b = db.entity_bit(p);
    ASSERT_LT(b, db.entity_count());
    EXPECT_EQ(db.entity_name(b), std::string_view(db.patterns()[p].entity));
    EXPECT_TRUE(db.entity_enabled(p, uint64_t{1} << b));
    EXPECT_FALSE(db.entity_enabled(p, ~(uint64_t{1} << b)));
  }
  EXPECT_EQ(db.entity_bit(100000), scan::no_entity_bit);
  EXPECT_TRUE(db.entity_enabled(100000, 0));  // no bit: always masked (fail closed)
}

TEST(response_mode, entity_mask_without_email_keeps_emails_masks_ssns_every_segmentation) {
  scan::response_mode m;
  m.entities = scan::all_entities & ~bits({"email"});
  m.db = catalog::shared().db->serial();
  for (const std::string* resp : {&kJson, &kSse}) {
    SCOPED_TRACE(resp == &kJson ? "json" : "sse");
    const mode_run whole = run_mode(*resp, {resp->size()}, m);
    ASSERT_TRUE(whole.ok) << engine::engine_error_name(whole.error);
    ASSERT_EQ(whole.released.size(), resp->size());
    EXPECT_FALSE(contains(whole.released, "6789"));
    EXPECT_TRUE(contains(whole.released, "jane.d")) << whole.released;
    EXPECT_TRUE(contains(whole.released, "oe@example.com")) << whole.released;
    ASSERT_FALSE(whole.findings.empty());
    for (const auto& fd : whole.findings) EXPECT_NE(catalog::shared().entity(fd.pattern), "email");
    // Control: the default mode masks the email too (the test can fail).
    const mode_run dflt = run_mode(*resp, {resp->size()}, scan::default_response_mode);
    EXPECT_FALSE(contains(dflt.released, "example.com")) << dflt.released;
    for (const auto& seg : all_segmentations(resp->size(), 24, 11)) {
      const mode_run r = run_mode(*resp, seg, m);
      ASSERT_TRUE(r.ok) << describe(seg);
      ASSERT_EQ(r.late, 0u) << describe(seg);
      ASSERT_EQ(r.released, whole.released) << describe(seg);
      ASSERT_EQ(r.findings.size(), whole.findings.size()) << describe(seg);
    }
  }
}

TEST(response_mode, style_override_all_masks_every_byte_of_the_value) {
  scan::response_mode all;
  all.style = scan::style_override::all;
  const std::string resp = http_response("text/plain", "SSN 123-45-6789 ok");
  for (const auto& seg : all_segmentations(resp.size(), 8, 3)) {
    const mode_run r = run_mode(resp, seg, all);
    ASSERT_TRUE(r.ok) << describe(seg);
    ASSERT_TRUE(contains(r.released, "SSN *********** ok")) << r.released << " " << describe(seg);
  }
  // Without the override the SSN pattern keeps its punctuation (its own style, alnum).
  const mode_run own = run_mode(resp, {resp.size()}, scan::default_response_mode);
  EXPECT_TRUE(contains(own.released, "SSN ***-**-**** ok")) << own.released;
  // alnum override on a pattern whose own style is alnum changes nothing.
  scan::response_mode alnum;
  alnum.style = scan::style_override::alnum;
  EXPECT_EQ(run_mode(resp, {resp.size()}, alnum).released, own.released);
}

TEST(response_mode, timer_flush_under_style_all_and_entity_mask) {
  // The hold timer after every held feed: held candidates are masked before anyone knows what
  // they become (so an excluded entity may be masked too); the promise is that included entities
  // never leak.
  scan::response_mode m;
  m.entities = scan::all_entities & ~bits({"email"});
  m.db = catalog::shared().db->serial();
  m.style = scan::style_override::all;
  for (const auto& seg : {segmentation(kSse.size(), 1), segmentation{kSse.size() / 2, kSse.size() - kSse.size() / 2}}) {
    const mode_run r = run_mode(kSse, seg, m, true);
    ASSERT_TRUE(r.ok);
    EXPECT_FALSE(contains(r.released, "6789")) << describe(seg);
  }
}

TEST(response_mode, unmasked_response_is_scanned_but_not_masked) {
  scan::response_mode u;
  u.unmasked = true;
  for (const std::string* resp : {&kJson, &kSse}) {
    for (const auto& seg : all_segmentations(resp->size(), 8, 5)) {
      const mode_run r = run_mode(*resp, seg, u);
      ASSERT_TRUE(r.ok) << describe(seg);
      ASSERT_EQ(r.released, *resp) << describe(seg);
      ASSERT_EQ(r.mask_actions, 0u) << describe(seg);
      bool ssn = false, email = false;
      for (const auto& fd : r.findings) {
        ssn |= catalog::shared().entity(fd.pattern) == "ssn";
        email |= catalog::shared().entity(fd.pattern) == "email";
      }
      ASSERT_TRUE(ssn && email) << describe(seg);
    }
    // Timer flushes emit no masks either.
    const mode_run flushed = run_mode(*resp, segmentation(resp->size(), 1), u, true);
    ASSERT_TRUE(flushed.ok);
    EXPECT_EQ(flushed.released, *resp);
  }
}

TEST(response_mode, unmasked_still_fails_closed_on_compressed_and_malformed) {
  scan::response_mode u;
  u.unmasked = true;
  const std::string gz =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd";
  const mode_run r = run_mode(gz, {gz.size()}, u);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, engine::engine_error::content_encoding);
  EXPECT_TRUE(r.released.size() < gz.size());  // the body never left
  const std::string bad = http_response("application/json", R"({"content":"SSN 123-45-6789"]})");
  const mode_run m = run_mode(bad, {bad.size()}, u);
  EXPECT_FALSE(m.ok);
  EXPECT_EQ(m.error, engine::engine_error::json);
}

TEST(response_mode, reset_returns_to_default_mode) {
  catalog& c = catalog::shared();
  auto f = std::make_unique<engine::flow_engine>();
  ASSERT_TRUE(engine::flow_engine_setup(*f, c.cfg));
  scan::response_mode u;
  u.unmasked = true;
  u.entities = 1;
  u.style = scan::style_override::all;
  engine::set_response_mode(*f, u);
  engine::flow_engine_reset(*f);
  EXPECT_FALSE(f->mode.unmasked);
  EXPECT_EQ(f->mode.entities, scan::all_entities);
  EXPECT_EQ(f->mode.style, scan::style_override::pattern);
  engine::flow_engine_teardown(*f);
}

}  // namespace
}  // namespace phigate::test
