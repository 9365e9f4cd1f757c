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
#include "tests/support/segmentation.hh"

namespace phigate::test {
namespace {

struct merged {
  std::unique_ptr<scan::pattern_db> db;
  engine::engine_config cfg;
  engine::engine_scratch* x = nullptr;
  static merged& shared() {
    static merged m = [] {
      merged k;
      std::vector<scan::pattern_set> sets;
      for (const std::string path : {std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json",
                                     std::string(PHIGATE_TEST_DATA) + "/oncology-research.json"}) {
        auto s = scan::pattern_set_load(path);
        if (auto* e = std::get_if<scan::load_error>(&s)) {
          ADD_FAILURE() << path << ": " << e->where << ": " << e->reason;
          return k;
        }
        sets.push_back(std::move(std::get<scan::pattern_set>(s)));
      }
      auto set = scan::pattern_set_merge(std::move(sets));
      if (auto* e = std::get_if<scan::load_error>(&set)) {
        ADD_FAILURE() << e->where << ": " << e->reason;
        return k;
      }
      auto r = scan::pattern_db::compile(std::get<scan::pattern_set>(set));
      if (auto* e = std::get_if<scan::load_error>(&r)) {
        ADD_FAILURE() << e->where << ": " << e->reason;
        return k;
      }
      k.db = std::move(std::get<0>(r));
      k.cfg.db = k.db.get();
      k.x = engine::engine_scratch_create(k.cfg);
      return k;
    }();
    return m;
  }
};

struct run_out {
  bool ok = false;
  std::string released;
  std::vector<std::string> finding_ids;
  uint64_t late = 0;
};

// One GET, then `response` cut by `seg` under `mode`; masks applied in place to held pieces,
// bytes copied out as the engine declares them final (as the dataplane forwards them).
run_out run(std::string_view response, const segmentation& seg, const scan::response_mode& mode) {
  merged& m = merged::shared();
  run_out out;
  auto f = std::make_unique<engine::flow_engine>();
  if (m.x == nullptr || !engine::flow_engine_setup(*f, m.cfg)) return out;
  struct held_piece {
    uint8_t* p;
    size_t n;
    uint64_t off;
  };
  struct state {
    std::vector<held_piece> held;
    uint64_t released = 0, late = 0;
    std::vector<std::string>* ids;
    const scan::pattern_db* db;
  } st;
  st.ids = &out.finding_ids;
  st.db = m.db.get();
  engine::engine_sink sink;
  sink.ctx = &st;
  sink.on_mask = [](void* ctx, const mask::mask_action& a) {
    auto& s = *static_cast<state*>(ctx);
    if (a.raw_off < s.released) s.late += std::min<uint64_t>(s.released - a.raw_off, a.raw_len);
    for (auto& h : s.held) mask::mask_apply(h.p, h.n, h.off, a);
  };
  sink.on_finding = [](void* ctx, const scan::finding& fd) {
    auto& s = *static_cast<state*>(ctx);
    s.ids->push_back(s.db->patterns()[fd.pattern].id);
  };
  const std::string req = "GET /v1/x HTTP/1.1\r\nHost: t\r\n\r\n";
  engine::feed_request(*f, *m.x, reinterpret_cast<const uint8_t*>(req.data()), req.size(), 0, sink);
  engine::set_response_mode(*f, mode);
  auto release_to = [&](uint64_t fin) {
    while (st.released < fin) {
      bool moved = false;
      for (auto& h : st.held)
        if (st.released >= h.off && st.released < h.off + h.n) {
          const uint64_t upto = std::min<uint64_t>(fin, h.off + h.n);
          out.released.append(reinterpret_cast<const char*>(h.p + (st.released - h.off)), upto - st.released);
          st.released = upto;
          moved = true;
          break;
        }
      if (!moved) break;
    }
  };
  uint64_t now = 1000, off = 0;
  engine::feed_result r;
  bool failed = false;
  feed_segmented(response, seg, [&](std::span<uint8_t> piece) {
    if (failed) return;
    st.held.push_back({piece.data(), piece.size(), off});
    off += piece.size();
    r = engine::feed_response(*f, *m.x, piece.data(), piece.size(), now += 1000, sink);
    if (r.error != engine::engine_error::none) {
      failed = true;
      return;
    }
    release_to(r.final_offset);
  });
  if (!failed) {
    r = engine::finish_response(*f, *m.x, now += 1000, sink);
    if (r.error == engine::engine_error::none) release_to(r.final_offset);
  }
  engine::flow_engine_teardown(*f);
  out.ok = r.error == engine::engine_error::none;
  out.late = st.late;
  return out;
}

std::string http_json(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

bool contains(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

scan::response_mode mode_for(std::vector<std::string> sets, std::vector<std::string> entities) {
  scan::response_mode m;
  const auto r = merged::shared().db->entity_mask(sets, entities);
  EXPECT_EQ(r.error, "");
  m.entities = r.mask;
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
  const scan::pattern_db& db = *merged::shared().db;
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
