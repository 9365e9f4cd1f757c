// Several loaded pattern sets (dp config "patterns": [...]): the shipped us-phi-core and the
// oncology-research fixture merged into one db, and masking profiles that choose sets. Through
// the whole engine (HTTP parse, decode, scan, mask), under every segmentation of each response,
// each piece in a guarded buffer: a profile choosing one set masks that set's findings and leaves
// the other set's intact; the same entity name ("mrn") in two sets is told apart by the set.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/engine/flow_engine.hh"
#include "dataplane/mask/mask_action.hh"
#include "dataplane/scan/pattern_db.hh"
#include "tests/support/engine_fixture.hh"
#include "tests/support/segmentation.hh"

namespace phigate::test {
namespace {

// us-phi-core and the oncology-research fixture, merged (tests/support/engine_fixture.hh).
catalog& merged() {
  static catalog c;
  static const bool loaded = (c.load({std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json",
                                      std::string(PHIGATE_TEST_DATA) + "/oncology-research.json"}),
                              true);
  (void)loaded;
  return c;
}

struct run_out {
  bool ok = false;
  std::string released;
  std::vector<std::string> finding_ids;
  uint64_t late = 0;
};

// One GET, then `response` cut by `seg` under `mode` (run_guarded with the merged catalog).
run_out run(std::string_view response, const segmentation& seg, const scan::response_mode& mode) {
  const run_result r = run_guarded(response, seg, scan::flush_mode::mask, false, 1, false, &mode, &merged());
  run_out out;
  out.ok = r.ok;
  out.released = r.released;
  out.late = r.late;
  for (const scan::finding& f : r.findings) out.finding_ids.push_back(merged().db->patterns()[f.pattern].id);
  return out;
}

std::string http_json(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

bool contains(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

scan::response_mode mode_for(std::vector<std::string> sets, std::vector<std::string> entities) {
  scan::response_mode m;
  const auto r = merged().db->entity_mask(sets, entities);
  EXPECT_EQ(r.error, "");
  m.entities = r.mask;
  m.db = merged().db->serial();
  return m;
}

// Study subject and registry MRN (oncology-research), then SSN and core MRN (us-phi-core). The
// oncology values come first: us-phi-core's MRN shape (context "mrn" before the value) would
// also match the digits of an oncology id that followed an "MRN" keyword closely.
const std::string kResp = http_json(
    R"({"content":"subject ONC-123456; tumor registry TR-1234567; SSN 123-45-6789; MRN: 00123456."})");

void expect_every_segmentation(const scan::response_mode& m, const run_out& whole) {
  for (const auto& seg : all_segmentations(kResp.size(), 24, 5)) {
    const run_out r = run(kResp, seg, m);
    ASSERT_TRUE(r.ok) << describe(seg);
    ASSERT_EQ(r.late, 0u) << describe(seg);
    ASSERT_EQ(r.released, whole.released) << describe(seg);
    ASSERT_EQ(r.finding_ids.size(), whole.finding_ids.size()) << describe(seg);
  }
}

TEST(pattern_sets, merged_db_holds_both_sets) {
  const scan::pattern_db& db = *merged().db;
  ASSERT_EQ(db.set_count(), 2u);
  EXPECT_EQ(db.set_name(0), "us-phi-core");
  EXPECT_EQ(db.set_name(1), "oncology-research");
  EXPECT_EQ(db.name(), "us-phi-core+oncology-research");
}

TEST(pattern_sets, default_mode_masks_both_sets) {
  const run_out whole = run(kResp, {kResp.size()}, scan::default_response_mode);
  ASSERT_TRUE(whole.ok);
  ASSERT_EQ(whole.released.size(), kResp.size());
  for (const char* v : {"6789", "00123456", "123456;", "1234567;"}) EXPECT_FALSE(contains(whole.released, v)) << v;
  EXPECT_TRUE(contains(whole.released, "***-******")) << whole.released;
  expect_every_segmentation(scan::default_response_mode, whole);
}

TEST(pattern_sets, profile_choosing_oncology_masks_only_its_findings) {
  const scan::response_mode m = mode_for({"oncology-research"}, {});
  const run_out whole = run(kResp, {kResp.size()}, m);
  ASSERT_TRUE(whole.ok);
  ASSERT_EQ(whole.released.size(), kResp.size());
  EXPECT_TRUE(contains(whole.released, "SSN 123-45-6789")) << whole.released;
  EXPECT_TRUE(contains(whole.released, "MRN: 00123456")) << whole.released;
  EXPECT_TRUE(contains(whole.released, "subject ***-******")) << whole.released;
  EXPECT_TRUE(contains(whole.released, "registry **-*******")) << whole.released;
  expect_every_segmentation(m, whole);
}

TEST(pattern_sets, profile_choosing_core_masks_only_its_findings) {
  const scan::response_mode m = mode_for({"us-phi-core"}, {});
  const run_out whole = run(kResp, {kResp.size()}, m);
  ASSERT_TRUE(whole.ok);
  EXPECT_TRUE(contains(whole.released, "SSN ***-**-****")) << whole.released;
  EXPECT_TRUE(contains(whole.released, "MRN: ********")) << whole.released;
  EXPECT_TRUE(contains(whole.released, "subject ONC-123456")) << whole.released;
  EXPECT_TRUE(contains(whole.released, "registry TR-1234567")) << whole.released;
  expect_every_segmentation(m, whole);
}

TEST(pattern_sets, same_entity_in_two_sets_is_told_apart_by_the_set) {
  // "mrn" of oncology-research only: the registry number, not us-phi-core's MRN.
  const scan::response_mode onc = mode_for({"oncology-research"}, {"mrn"});
  const run_out a = run(kResp, {kResp.size()}, onc);
  ASSERT_TRUE(a.ok);
  EXPECT_TRUE(contains(a.released, "MRN: 00123456")) << a.released;
  EXPECT_TRUE(contains(a.released, "registry **-*******")) << a.released;
  EXPECT_TRUE(contains(a.released, "subject ONC-123456")) << a.released;
  expect_every_segmentation(onc, a);
  // "mrn" with no set named: both sets' MRNs.
  const scan::response_mode any = mode_for({}, {"mrn"});
  const run_out b = run(kResp, {kResp.size()}, any);
  ASSERT_TRUE(b.ok);
  EXPECT_TRUE(contains(b.released, "MRN: ********")) << b.released;
  EXPECT_TRUE(contains(b.released, "registry **-*******")) << b.released;
  EXPECT_TRUE(contains(b.released, "SSN 123-45-6789")) << b.released;
}

}  // namespace
}  // namespace phigate::test
