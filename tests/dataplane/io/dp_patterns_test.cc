// dp_patterns: phigate-cp's pattern databases staged, checked and installed as generations while
// workers run (issue 4 section 2). The workers are simulated: their adopted index and open
// bodies per engine slot are what settled() reads.
#include "dataplane/io/dp_patterns.hh"

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <sstream>

#include "dataplane/engine/flow_engine.hh"
#include "dataplane/scan/pattern_set.hh"

namespace phigate::io {
namespace {

std::unique_ptr<scan::pattern_db> compile(const std::string& path) {
  auto set = scan::pattern_set_load_all({path});
  EXPECT_TRUE(std::holds_alternative<scan::pattern_set>(set));
  auto db = scan::pattern_db::compile(std::get<scan::pattern_set>(set));
  EXPECT_TRUE(std::holds_alternative<std::unique_ptr<scan::pattern_db>>(db));
  return std::move(std::get<0>(db));
}

ipc::patterns message(const scan::pattern_db& db, const std::string& sha) {
  ipc::patterns m;
  const std::vector<uint8_t> b = db.serialize();
  m.db.assign(b.begin(), b.end());
  m.sha256 = sha;
  m.sets = {std::string(db.name())};
  return m;
}

const std::string kCore = std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json";
const std::string kOnc = std::string(PHIGATE_TEST_DATA) + "/oncology-research.json";
const std::string kShaA(64, 'a'), kShaB(64, 'b'), kShaC(64, 'c');

struct workers {
  std::array<std::array<int64_t, 2>, 2> open{};  // [worker][slot]
  std::function<int64_t(unsigned, int)> fn() {
    return [this](unsigned w, int slot) { return open[w][slot]; };
  }
};

TEST(dp_patterns, stage_refuses_bad_blobs_and_oversized_streams_with_a_reason) {
  dp_patterns p(compile(kCore), "us-phi-core", 2, 192);
  ipc::patterns bad;
  bad.sha256 = kShaA;
  bad.db = "not a database";
  const std::string e = p.stage(bad);
  EXPECT_NE(e.find("patterns: "), std::string::npos) << e;
  std::string why;
  EXPECT_EQ(p.staged(kShaA, why), nullptr);
  EXPECT_EQ(why, e);
  EXPECT_EQ(p.staged(kShaB, why), nullptr);
  EXPECT_NE(why.find("not received"), std::string::npos) << why;
  // Stream state beyond the pool's blocks: refused, naming the setting to raise.
  dp_patterns tiny(compile(kCore), "us-phi-core", 1, 64);
  auto onc = compile(kCore);
  const std::string e2 = tiny.stage(message(*onc, kShaB));
  EXPECT_NE(e2.find("stream_state_bytes"), std::string::npos) << e2;
  EXPECT_EQ(tiny.install(kShaB, nullptr).empty(), false);
}

TEST(dp_patterns, generations_install_only_when_settled_and_retire_two_back) {
  auto core = compile(kCore);
  const uint32_t core_serial = core->serial();
  dp_patterns p(std::move(core), "us-phi-core", 2, 192);
  workers w;
  EXPECT_TRUE(p.settled(w.fn()));  // generation 0 everywhere, nothing before it
  auto onc = compile(kOnc);
  ASSERT_EQ(p.stage(message(*onc, kShaA)), "");
  std::vector<std::pair<int, uint32_t>> retired;
  auto hook = [&](int slot, uint32_t serial) { retired.emplace_back(slot, serial); };
  ASSERT_EQ(p.install(kShaA, hook), "");
  const pattern_gen* g1 = p.current();
  EXPECT_EQ(g1->index, 1u);
  EXPECT_EQ(g1->scratch.size(), 2u);
  EXPECT_TRUE(retired.empty());  // slot 1 held nothing
  EXPECT_EQ(p.slot_serial(0), core_serial);
  EXPECT_EQ(p.slot_serial(1), g1->db->serial());
  std::string entity, id;
  EXPECT_TRUE(p.names().lookup(core_serial, 0, entity, id));
  // Not settled until both workers adopted generation 1 and slot 0 has no open body.
  EXPECT_FALSE(p.settled(w.fn()));
  p.adopted(0, 1);
  EXPECT_FALSE(p.settled(w.fn()));
  p.adopted(1, 1);
  w.open[1][0] = 1;  // worker 1 still finishes a body on us-phi-core
  EXPECT_FALSE(p.settled(w.fn()));
  w.open[1][1] = 5;  // bodies on the current database do not matter
  w.open[1][0] = 0;
  EXPECT_TRUE(p.settled(w.fn()));
  // Generation 2 takes slot 0: us-phi-core's counters are final, named by its serial.
  auto core2 = compile(kCore);
  ASSERT_EQ(p.stage(message(*core2, kShaB)), "");
  ASSERT_EQ(p.install(kShaB, hook), "");
  ASSERT_EQ(retired.size(), 1u);
  EXPECT_EQ(retired[0], std::make_pair(0, core_serial));
  EXPECT_EQ(p.current()->index, 2u);
  EXPECT_EQ(p.slot_serial(0), p.current()->db->serial());
  EXPECT_EQ(p.swaps(), 2u);
  // The names outlive the database: records of its findings are still named.
  EXPECT_TRUE(p.names().lookup(core_serial, 0, entity, id));
  // An installed digest is no longer staged.
  std::string why;
  EXPECT_EQ(p.staged(kShaB, why), nullptr);
}

// The per-worker scratch pair of a generation serves both it and the one before: a body that
// started on the old database finishes with it, a new body runs on the new one.
TEST(dp_patterns, scratch_pairs_serve_the_old_and_the_new_database) {
  auto core = compile(kCore);
  engine::engine_config cfg;
  cfg.db = core.get();
  dp_patterns p(std::move(core), "us-phi-core", 1, 192);
  auto onc = compile(kOnc);
  ASSERT_EQ(p.stage(message(*onc, kShaC)), "");
  ASSERT_EQ(p.install(kShaC, nullptr), "");
  const pattern_gen* g = p.current();
  engine::engine_scratch* x = engine::engine_scratch_create(cfg);
  ASSERT_NE(x, nullptr);
  const std::string body = R"({"content":"subject ONC-123456 has SSN 123-45-6789."})";
  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body;
  struct out { std::string s; };
  auto run = [&](engine::flow_engine& f, out& o, size_t from, size_t to) {
    engine::engine_sink sink;
    sink.ctx = &o;
    sink.on_mask = [](void* ctx, const mask::mask_action& a) {
      auto& s = static_cast<out*>(ctx)->s;
      mask::mask_apply(reinterpret_cast<uint8_t*>(s.data()), s.size(), 0, a);
    };
    if (from == 0) {
      const std::string req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
      engine::feed_request(f, *x, reinterpret_cast<const uint8_t*>(req.data()), req.size(), 1, sink);
    }
    return engine::feed_response(f, *x, reinterpret_cast<const uint8_t*>(resp.data()) + from, to - from, 2, sink).error;
  };
  auto old_f = std::make_unique<engine::flow_engine>(), new_f = std::make_unique<engine::flow_engine>();
  ASSERT_TRUE(engine::flow_engine_setup(*old_f, cfg));
  ASSERT_TRUE(engine::flow_engine_setup(*new_f, cfg));
  out o1{resp}, o2{resp};
  ASSERT_EQ(run(*old_f, o1, 0, resp.size() - 10), engine::engine_error::none);
  ASSERT_EQ(engine::engine_scratch_adopt(*x, *g->db, g->scratch[0].stream, g->scratch[0].block), 1);
  ASSERT_EQ(run(*new_f, o2, 0, resp.size()), engine::engine_error::none);
  ASSERT_EQ(run(*old_f, o1, resp.size() - 10, resp.size()), engine::engine_error::none);
  EXPECT_NE(o1.s.find("ONC-123456"), std::string::npos) << o1.s;
  EXPECT_EQ(o1.s.find("6789"), std::string::npos) << o1.s;
  EXPECT_EQ(o2.s.find("123456 "), std::string::npos) << o2.s;
  EXPECT_NE(o2.s.find("123-45-6789"), std::string::npos) << o2.s;
  engine::flow_engine_teardown(*old_f);
  engine::flow_engine_teardown(*new_f);
  engine::engine_scratch_destroy(x);
}

}  // namespace
}  // namespace phigate::io
