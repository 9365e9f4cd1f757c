// Issue 4 section 2: a new pattern database is swapped in while flows are mid-body. Bodies that
// started keep the database they started with (stream, start and hold databases and metadata
// must agree for a whole message); bodies that start afterwards use the new one. A database slot
// is reused only when no body is open on it. Stream state comes from a per-thread block pool.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "dataplane/engine/flow_engine.hh"
#include "dataplane/mask/mask_action.hh"
#include "dataplane/scan/pattern_db.hh"
#include "dataplane/scan/stream_pool.hh"
#include "tests/support/engine_fixture.hh"

namespace phigate::test {
namespace {

catalog& oncology() {
  static catalog c;
  static const bool loaded = (c.load({std::string(PHIGATE_TEST_DATA) + "/oncology-research.json"}), true);
  (void)loaded;
  return c;
}

std::string http_json(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// Both sets' values: us-phi-core masks the SSN, oncology-research the study subject id.
const std::string kBody = R"({"content":"subject ONC-123456 has SSN 123-45-6789."})";
const std::string kResp = http_json(kBody);

bool has(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

// One flow fed by hand: masks land in a copy of the whole response.
struct flow {
  std::unique_ptr<engine::flow_engine> f = std::make_unique<engine::flow_engine>();
  std::string out;
  engine::engine_sink sink;
  explicit flow(const engine::engine_config& cfg) {
    EXPECT_TRUE(engine::flow_engine_setup(*f, cfg));
    out = kResp;
    sink.ctx = this;
    sink.on_mask = [](void* ctx, const mask::mask_action& a) {
      auto& self = *static_cast<flow*>(ctx);
      mask::mask_apply(reinterpret_cast<uint8_t*>(self.out.data()), self.out.size(), 0, a);
    };
  }
  ~flow() { engine::flow_engine_teardown(*f); }
  engine::feed_result feed(engine::engine_scratch& x, size_t from, size_t to) {
    const std::string req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    if (from == 0) engine::feed_request(*f, x, reinterpret_cast<const uint8_t*>(req.data()), req.size(), 1, sink);
    return engine::feed_response(*f, x, reinterpret_cast<const uint8_t*>(kResp.data()) + from, to - from, 2, sink);
  }
};

// A scratch pair that serves both databases, as the dataplane's main thread builds it.
struct both_scratches {
  hs_scratch_t* stream = nullptr;
  hs_scratch_t* block = nullptr;
  both_scratches(const scan::pattern_db& a, const scan::pattern_db& b) {
    stream = b.alloc_scratch(a.alloc_scratch(nullptr));
    block = b.alloc_scratch(a.alloc_scratch(nullptr));
  }
  ~both_scratches() {
    hs_free_scratch(stream);
    hs_free_scratch(block);
  }
};

TEST(pattern_swap, body_in_progress_finishes_on_its_database_at_every_split) {
  const scan::pattern_db& core = *catalog::shared().db;
  const scan::pattern_db& onc = *oncology().db;
  const size_t body_at = kResp.size() - kBody.size();
  for (size_t cut = body_at + 1; cut < kResp.size(); ++cut) {
    SCOPED_TRACE(cut);
    engine::engine_scratch* x = engine::engine_scratch_create(catalog::shared().cfg);
    ASSERT_NE(x, nullptr);
    both_scratches sc(core, onc);
    {
      flow old_body(catalog::shared().cfg);
      ASSERT_EQ(old_body.feed(*x, 0, cut).error, engine::engine_error::none);
      EXPECT_EQ(engine::engine_scratch_open_bodies(*x, 0), 1);
      ASSERT_EQ(engine::engine_scratch_adopt(*x, onc, sc.stream, sc.block), 1);
      EXPECT_EQ(engine::engine_scratch_db(*x), &onc);
      flow new_body(catalog::shared().cfg);
      ASSERT_EQ(new_body.feed(*x, 0, kResp.size()).error, engine::engine_error::none);
      ASSERT_EQ(old_body.feed(*x, cut, kResp.size()).error, engine::engine_error::none);
      // The old body: us-phi-core's SSN masked, the oncology id untouched.
      EXPECT_TRUE(has(old_body.out, "ONC-123456")) << old_body.out;
      EXPECT_FALSE(has(old_body.out, "6789")) << old_body.out;
      // The new body: the other way round.
      EXPECT_FALSE(has(new_body.out, "123456 ")) << new_body.out;
      EXPECT_TRUE(has(new_body.out, "123-45-6789")) << new_body.out;
      EXPECT_EQ(engine::engine_scratch_open_bodies(*x, 0), 0);
      EXPECT_EQ(engine::engine_scratch_open_bodies(*x, 1), 0);
    }
    engine::engine_scratch_destroy(x);
  }
}

TEST(pattern_swap, slot_is_reused_only_when_its_bodies_ended) {
  const scan::pattern_db& core = *catalog::shared().db;
  const scan::pattern_db& onc = *oncology().db;
  engine::engine_scratch* x = engine::engine_scratch_create(catalog::shared().cfg);
  ASSERT_NE(x, nullptr);
  both_scratches sc(core, onc);
  {
    flow a(catalog::shared().cfg);
    ASSERT_EQ(a.feed(*x, 0, kResp.size() - 5).error, engine::engine_error::none);  // open on core
    ASSERT_EQ(engine::engine_scratch_adopt(*x, onc, sc.stream, sc.block), 1);
    // Back to core while a's body is still open on slot 0: refused, nothing changes.
    EXPECT_EQ(engine::engine_scratch_adopt(*x, core, sc.stream, sc.block), -1);
    EXPECT_EQ(engine::engine_scratch_db(*x), &onc);
    // Adopting the current database again only swaps the scratches.
    EXPECT_EQ(engine::engine_scratch_adopt(*x, onc, sc.stream, sc.block), 1);
    ASSERT_EQ(a.feed(*x, kResp.size() - 5, kResp.size()).error, engine::engine_error::none);
    EXPECT_EQ(engine::engine_scratch_open_bodies(*x, 0), 0);
    EXPECT_EQ(engine::engine_scratch_adopt(*x, core, sc.stream, sc.block), 0);
    EXPECT_EQ(engine::engine_scratch_db(*x), &core);
  }
  // A body abandoned mid-way (connection reset) gives its count back at reset.
  {
    flow b(catalog::shared().cfg);
    ASSERT_EQ(b.feed(*x, 0, kResp.size() - 5).error, engine::engine_error::none);
    EXPECT_EQ(engine::engine_scratch_open_bodies(*x, 0), 1);
    engine::flow_engine_reset(*b.f);
    EXPECT_EQ(engine::engine_scratch_open_bodies(*x, 0), 0);
  }
  engine::engine_scratch_destroy(x);
}

// A profile's entity bits name the slots of the database it was resolved against; on another
// database the body masks every entity (fail closed) and the fallback is counted.
TEST(pattern_swap, profile_of_another_database_masks_everything) {
  const scan::pattern_db& core = *catalog::shared().db;
  engine::engine_scratch* x = engine::engine_scratch_create(catalog::shared().cfg);
  ASSERT_NE(x, nullptr);
  const int ssn = core.entity_index("ssn");
  ASSERT_GE(ssn, 0);
  for (const bool same_db : {true, false}) {
    SCOPED_TRACE(same_db);
    scan::response_mode m;
    m.entities = scan::all_entities & ~(uint64_t{1} << ssn);  // everything but SSNs
    m.db = same_db ? core.serial() : core.serial() + 1000;
    const uint64_t before = engine::engine_scratch_counters(*x).profile_db_fallback;
    flow f(catalog::shared().cfg);
    engine::set_response_mode(*f.f, m);
    ASSERT_EQ(f.feed(*x, 0, kResp.size()).error, engine::engine_error::none);
    EXPECT_EQ(has(f.out, "123-45-6789"), same_db) << f.out;
    EXPECT_EQ(engine::engine_scratch_counters(*x).profile_db_fallback, before + (same_db ? 0 : 1));
  }
  engine::engine_scratch_destroy(x);
}

// Stream state comes from the bound thread's pool: taken when a body starts, returned when it
// ends; an exhausted pool fails the body closed (counted), never passes it unscanned.
TEST(pattern_swap, stream_pool_bounds_open_bodies_and_fails_closed) {
  ASSERT_TRUE(scan::stream_pool_install());
  const scan::pattern_db& core = *catalog::shared().db;
  ASSERT_GT(core.stream_bytes(), 0u);
  scan::stream_pool* pool = scan::stream_pool_create(3, core.stream_bytes());
  ASSERT_NE(pool, nullptr);
  scan::stream_pool_bind(pool);
  engine::engine_scratch* x = engine::engine_scratch_create(catalog::shared().cfg);
  ASSERT_NE(x, nullptr);
  {
    flow a(catalog::shared().cfg);  // a JSON body opens one channel (fields)
    ASSERT_EQ(a.feed(*x, 0, kResp.size() - 5).error, engine::engine_error::none);
    EXPECT_EQ(scan::stream_pool_read(*pool).in_use, 1u);
    // Timer flush probes a copy of the stream: a block taken and given back.
    ASSERT_EQ(engine::flush_response(*a.f, *x, 3, a.sink).error, engine::engine_error::none);
    EXPECT_EQ(scan::stream_pool_read(*pool).in_use, 1u);
    EXPECT_EQ(scan::stream_pool_read(*pool).high_water, 2u);
    flow b(catalog::shared().cfg), c(catalog::shared().cfg);
    ASSERT_EQ(b.feed(*x, 0, kResp.size() - 5).error, engine::engine_error::none);
    ASSERT_EQ(c.feed(*x, 0, kResp.size() - 5).error, engine::engine_error::none);
    EXPECT_EQ(scan::stream_pool_read(*pool).in_use, 3u);
    flow d(catalog::shared().cfg);
    EXPECT_EQ(d.feed(*x, 0, kResp.size()).error, engine::engine_error::no_stream_memory);
    EXPECT_EQ(scan::stream_pool_read(*pool).failed, 1u);
    EXPECT_EQ(engine::engine_scratch_counters(*x).no_stream_memory, 1u);
    ASSERT_EQ(a.feed(*x, kResp.size() - 5, kResp.size()).error, engine::engine_error::none);
    EXPECT_FALSE(has(a.out, "6789"));
    EXPECT_EQ(scan::stream_pool_read(*pool).in_use, 2u);
  }
  EXPECT_EQ(scan::stream_pool_read(*pool).in_use, 0u);  // teardown released b and c
  engine::engine_scratch_destroy(x);
  scan::stream_pool_bind(nullptr);
  scan::stream_pool_destroy(pool);
  // A database whose streams do not fit the blocks: every open fails. Scanning with Hyperscan
  // alone, each channel needs the full stream database's state; with the stream automata only
  // the state of the groups they miss (us-phi-core: URL's), which fits.
  scan::stream_pool* tiny = scan::stream_pool_create(4, 64);
  ASSERT_NE(tiny, nullptr);
  ASSERT_GT(core.stream_bytes(), 64u);
  ASSERT_NE(core.rest_stream_db(), nullptr);
  size_t rest_bytes = 0;
  ASSERT_EQ(hs_stream_size(core.rest_stream_db(), &rest_bytes), HS_SUCCESS);
  ASSERT_LE(rest_bytes, 64u);
  scan::stream_pool_bind(tiny);
  for (const bool automata : {false, true}) {
    SCOPED_TRACE(automata);
    engine::engine_config cfg = catalog::shared().cfg;
    cfg.stream_automata = automata;
    engine::engine_scratch* y = engine::engine_scratch_create(cfg);
    {
      flow e(cfg);
      EXPECT_EQ(e.feed(*y, 0, kResp.size()).error,
                automata ? engine::engine_error::none : engine::engine_error::no_stream_memory);
      if (automata) {
        EXPECT_FALSE(has(e.out, "6789"));
      }
    }
    engine::engine_scratch_destroy(y);
  }
  scan::stream_pool_bind(nullptr);
  scan::stream_pool_destroy(tiny);
}

}  // namespace
}  // namespace phigate::test
