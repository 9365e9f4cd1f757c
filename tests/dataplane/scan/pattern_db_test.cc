// pattern_db: compile a small set, recover starts and hold-back lengths the way the engine
// will, round-trip through serialize/deserialize, reject corrupted blobs.
#include "dataplane/scan/pattern_db.hh"

#include <gtest/gtest.h>

#include <cstring>
#include <hs.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "dataplane/core/crc32.hh"
#include "dataplane/engine/flow_engine.hh"
#include "dataplane/scan/channel.hh"
#include "tests/support/segmentation.hh"

namespace phigate::scan {
namespace {

pattern_entry entry(std::string id, std::string entity, std::string harbor, std::string expr,
                    uint16_t max_length) {
  pattern_entry e;
  e.id = std::move(id);
  e.entity = std::move(entity);
  e.safe_harbor = std::move(harbor);
  e.expression = std::move(expr);
  e.max_length = max_length;
  e.match = {{"m", ""}};
  e.no_match = {{"n", ""}};
  return e;
}

pattern_set small_set() {
  pattern_set s;
  s.name = "unit-set";
  s.version = 7;
  s.entries.push_back(entry("ssn", "ssn", "ssn", R"(\b\d{3}[- .]\d{2}[- .]\d{4}\b)", 11));
  s.entries[0].validator = validate::validator::ssn;
  s.entries.push_back(entry("phone", "phone", "telephone",
                            R"((?:\+?1[-. ]?)?\(?[2-9]\d{2}\)?[-. ]?[2-9]\d{2}[-. ]?\d{4}\b)",
                            18));
  s.entries.push_back(entry("email", "email", "email",
                            R"(\b[a-z0-9._%+\-]{1,32}@(?:[a-z0-9\-]{1,20}\.){1,3}[a-z]{2,12}\b)",
                            108));
  s.entries[2].mask = mask_style::all;
  s.entries.push_back(entry("mrn", "mrn", "mrn", R"(\b[a-z]{2}\d{6,8}\b)", 10));
  s.entries[3].flags = HS_FLAG_CASELESS;
  s.entries[3].keywords = {"mrn", "medical record"};
  s.entries[3].context_window = 32;
  return s;
}

std::unique_ptr<pattern_db> compile_ok(const pattern_set& s) {
  auto r = pattern_db::compile(s);
  if (auto* e = std::get_if<load_error>(&r)) {
    ADD_FAILURE() << e->where << ": " << e->reason;
    return nullptr;
  }
  return std::move(std::get<std::unique_ptr<pattern_db>>(r));
}

struct scanner {
  explicit scanner(const pattern_db& db) : db(db), scratch(db.alloc_scratch()) {}
  ~scanner() { hs_free_scratch(scratch); }
  const pattern_db& db;
  hs_scratch_t* scratch;

  using match = std::pair<unsigned, unsigned long long>;  // id, end
  static int collect(unsigned id, unsigned long long, unsigned long long to, unsigned,
                     void* ctx) {
    static_cast<std::vector<match>*>(ctx)->push_back({id, to});
    return 0;
  }

  // Forward stream scan, fed in the given segmentation.
  std::vector<match> stream(const std::string& text, const test::segmentation& seg) const {
    std::vector<match> out;
    hs_stream_t* st = nullptr;
    EXPECT_EQ(hs_open_stream(db.stream_db(), 0, &st), HS_SUCCESS);
    size_t off = 0;
    for (size_t len : seg) {
      hs_scan_stream(st, text.data() + off, static_cast<unsigned>(len), 0, scratch, collect, &out);
      off += len;
    }
    hs_close_stream(st, scratch, collect, &out);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  // Every reported m of the start scan: text[e-m, e) matches pattern id.
  std::vector<size_t> start_lengths(const std::string& text, size_t e, unsigned id) const {
    size_t window = db.max_length() + 1u;
    size_t lo = e > window ? e - window : 0;
    std::string rev(text.begin() + static_cast<long>(lo), text.begin() + static_cast<long>(e));
    std::reverse(rev.begin(), rev.end());
    std::vector<match> ends;
    EXPECT_EQ(hs_scan(db.start_db(id), rev.data(), static_cast<unsigned>(rev.size()), 0, scratch,
                      collect, &ends),
              HS_SUCCESS);
    std::vector<size_t> out;
    for (auto [mid, m] : ends) {
      EXPECT_EQ(mid, id);
      out.push_back(static_cast<size_t>(m));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // How many trailing bytes of `text` must be held back.
  size_t hold(const std::string& text) const {
    size_t window = db.max_length();
    size_t lo = text.size() > window ? text.size() - window : 0;
    std::string rev(text.begin() + static_cast<long>(lo), text.end());
    std::reverse(rev.begin(), rev.end());
    std::vector<match> ends;
    EXPECT_EQ(hs_scan(db.hold_db(), rev.data(), static_cast<unsigned>(rev.size()), 0, scratch,
                      collect, &ends),
              HS_SUCCESS);
    size_t best = 0;
    for (auto [id, m] : ends) best = std::max(best, static_cast<size_t>(m));
    return best;
  }

  // (id, start, end) of every finding, start = longest recovered. Stream reports name a group
  // (stream_members); each member whose start database confirms the end is a finding.
  std::set<std::tuple<unsigned, size_t, size_t>> findings(const std::string& text) const {
    std::set<std::tuple<unsigned, size_t, size_t>> out;
    for (auto [group, e] : stream(text, {text.size()})) {
      bool any = false;
      for (const uint16_t id : db.stream_members(group)) {
        auto lens = start_lengths(text, e, id);
        if (!lens.empty()) out.insert({id, e - lens.back(), e});
        any = any || !lens.empty();
      }
      EXPECT_TRUE(any) << "no start for group " << group << " end " << e;
    }
    return out;
  }
};

const std::string sample =
    "my ssn is 123-45-6789, call (415) 555-0100 or mail jo.doe@example.org; MRN ab1234567.";

TEST(pattern_db, compiles_and_exposes_metadata) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  EXPECT_EQ(db->name(), "unit-set");
  EXPECT_EQ(db->version(), 7);
  ASSERT_EQ(db->patterns().size(), 4u);
  EXPECT_STREQ(db->patterns()[0].id, "ssn");
  EXPECT_STREQ(db->patterns()[1].entity, "phone");
  EXPECT_EQ(db->patterns()[0].validator, validate::validator::ssn);
  EXPECT_EQ(db->patterns()[2].mask, mask_style::all);
  const pattern_meta& mrn = db->patterns()[3];
  EXPECT_EQ(mrn.context_window, 32);
  ASSERT_EQ(mrn.keyword_count, 2);
  EXPECT_EQ(db->keyword(mrn.keyword_first), "mrn");
  EXPECT_EQ(db->keyword(mrn.keyword_first + 1u), "medical record");
  EXPECT_EQ(db->keyword(99), "");
  EXPECT_EQ(db->max_length(), 108);
  EXPECT_EQ(db->max_context_window(), 32);
  EXPECT_EQ(db->start_db(4), nullptr);

  // Modes as documented: one streaming database, block-mode start and hold databases.
  auto mode_of = [](const hs_database_t* d) {
    char* info = nullptr;
    EXPECT_EQ(hs_database_info(d, &info), HS_SUCCESS);
    std::string s = info ? info : "";
    std::free(info);
    return s;
  };
  EXPECT_NE(mode_of(db->stream_db()).find("STREAM"), std::string::npos);
  EXPECT_NE(mode_of(db->hold_db()).find("BLOCK"), std::string::npos);
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_NE(mode_of(db->start_db(i)).find("BLOCK"), std::string::npos);
  }
}

TEST(pattern_db, start_db_recovers_match_starts) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  scanner sc(*db);
  ASSERT_NE(sc.scratch, nullptr);
  auto found = sc.findings(sample);
  auto at = [&](const char* s) { return sample.find(s); };
  auto expect = [&](unsigned id, const char* value) {
    size_t s = at(value);
    ASSERT_NE(s, std::string::npos);
    EXPECT_TRUE(found.count({id, s, s + std::string(value).size()}))
        << "missing " << id << " at " << s;
  };
  expect(0, "123-45-6789");
  expect(1, "(415) 555-0100");
  expect(2, "jo.doe@example.org");
  expect(3, "ab1234567");
  EXPECT_EQ(found.size(), 4u);

  // A shorter alternative start is reported too: the phone also matches without "(".
  size_t e = at("0100") + 4;
  auto lens = sc.start_lengths(sample, e, 1);
  EXPECT_NE(std::find(lens.begin(), lens.end(), std::string("415) 555-0100").size()), lens.end());
  EXPECT_EQ(lens.back(), std::string("(415) 555-0100").size());

  // Caseless entries recover starts caselessly.
  std::string upper = "MRN AB1234567 ";
  auto f2 = sc.findings(upper);
  EXPECT_TRUE(f2.count({3u, 4u, 13u}));
}

// Regression: an expression ending in an assertion that needs the byte AFTER the match
// (\B after a digit wants a word byte next). Kept in the start form, Hyperscan rejected
// ^(?:\B\d{3}...) as "can never match" and the whole set failed to compile.
TEST(pattern_db, trailing_assertions_do_not_break_start_recovery) {
  pattern_set s;
  s.name = "trailing";
  s.version = 1;
  s.entries.push_back(entry("ref", "other", "other_id", R"(\b[a-z]{2}-\d{3}\B)", 6));
  s.entries.push_back(entry("dash", "other", "other_id", R"(\bq\d{2}-\b)", 4));
  auto db = compile_ok(s);
  ASSERT_TRUE(db);
  scanner sc(*db);
  const std::string text = "id ab-123x and q12-z";
  auto found = sc.findings(text);
  EXPECT_TRUE(found.count({0u, 3u, 9u}));
  EXPECT_TRUE(found.count({1u, 15u, 19u}));
  EXPECT_EQ(found.size(), 2u);
}

TEST(pattern_db, hold_db_gives_the_hold_start_on_tails) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  scanner sc(*db);
  struct tail {
    std::string text;
    size_t hold;
  };
  const std::vector<tail> tails = {
      {"my ssn is 123-4", 5},       // "123-4"
      {"my ssn is 123-45-678", 10}, // "123-45-678"
      {"call (415) 55", 8},         // "(415) 55"
      {"x 415-555-010", 11},        // "415-555-010"
      {"name: jo.doe@exa", 10},     // "jo.doe@exa"
      {"mrn AB12345", 7},           // caseless "AB12345"
      {"done!", 0},
      {"", 0},
      {"ok; ", 0},
  };
  for (const tail& t : tails) {
    EXPECT_EQ(sc.hold(t.text), t.hold) << t.text;
  }
  // Completed values are held too: more bytes may still extend or break them.
  EXPECT_EQ(sc.hold("is 123-45-6789"), 11u);
  // Never more than the longest pattern.
  EXPECT_LE(sc.hold(std::string(300, 'a')), db->max_length());
}

TEST(pattern_db, stream_results_do_not_depend_on_segmentation) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  scanner sc(*db);
  auto whole = sc.stream(sample, {sample.size()});
  EXPECT_EQ(whole.size(), 4u);
  for (const auto& seg : test::all_segmentations(sample.size(), 8)) {
    ASSERT_EQ(sc.stream(sample, seg), whole);
  }
}

TEST(pattern_db, serialize_round_trip_scans_the_same) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  std::vector<uint8_t> blob = db->serialize();
  ASSERT_GT(blob.size(), 24u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(blob.data()), 8),
            std::string("PHIGDB1\0", 8));
  auto r = pattern_db::deserialize(blob);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<pattern_db>>(r))
      << std::get<load_error>(r).reason;
  auto& copy = std::get<std::unique_ptr<pattern_db>>(r);
  EXPECT_EQ(copy->name(), db->name());
  EXPECT_EQ(copy->version(), db->version());
  EXPECT_EQ(copy->max_length(), db->max_length());
  EXPECT_EQ(copy->max_context_window(), db->max_context_window());
  ASSERT_EQ(copy->patterns().size(), db->patterns().size());
  for (size_t i = 0; i < db->patterns().size(); ++i) {
    const pattern_meta& a = db->patterns()[i];
    const pattern_meta& b = copy->patterns()[i];
    EXPECT_STREQ(a.id, b.id);
    EXPECT_STREQ(a.entity, b.entity);
    EXPECT_EQ(a.validator, b.validator);
    EXPECT_EQ(a.mask, b.mask);
    EXPECT_EQ(a.max_length, b.max_length);
    EXPECT_EQ(a.context_window, b.context_window);
    EXPECT_EQ(a.keyword_first, b.keyword_first);
    EXPECT_EQ(a.keyword_count, b.keyword_count);
  }
  ASSERT_EQ(copy->keyword_total(), db->keyword_total());
  for (uint32_t i = 0; i < db->keyword_total(); ++i) EXPECT_EQ(copy->keyword(i), db->keyword(i));

  scanner a(*db), b(*copy);
  EXPECT_EQ(a.findings(sample), b.findings(sample));
  for (const char* t : {"my ssn is 123-4", "call (415) 55", "name: jo.doe@exa", "done!"}) {
    EXPECT_EQ(a.hold(t), b.hold(t)) << t;
  }
  EXPECT_EQ(copy->serialize(), blob);  // deterministic
}

TEST(pattern_db, corrupted_blobs_are_rejected) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  const std::vector<uint8_t> blob = db->serialize();
  std::vector<size_t> positions = {0, 7, 8, 12, 16, 23, 24, 30, 60, blob.size() / 2,
                                   blob.size() - 1};
  for (size_t step = 97; step < blob.size(); step += 997) positions.push_back(step);
  for (size_t pos : positions) {
    std::vector<uint8_t> bad = blob;
    bad[pos] ^= 0x20;
    auto r = pattern_db::deserialize(bad);
    ASSERT_TRUE(std::holds_alternative<load_error>(r)) << "flip at " << pos << " accepted";
    EXPECT_EQ(std::get<load_error>(r).where, "(pattern db)");
  }
  std::vector<uint8_t> truncated(blob.begin(), blob.end() - 1);
  EXPECT_TRUE(std::holds_alternative<load_error>(pattern_db::deserialize(truncated)));
  std::vector<uint8_t> longer = blob;
  longer.push_back(0);
  EXPECT_TRUE(std::holds_alternative<load_error>(pattern_db::deserialize(longer)));
  EXPECT_TRUE(std::holds_alternative<load_error>(pattern_db::deserialize({})));
  // The checksum is what catches a body flip: name it.
  std::vector<uint8_t> body_flip = blob;
  body_flip[blob.size() / 2] ^= 1;
  auto r = pattern_db::deserialize(body_flip);
  ASSERT_TRUE(std::holds_alternative<load_error>(r));
  EXPECT_NE(std::get<load_error>(r).reason.find("checksum"), std::string::npos);
}

TEST(pattern_db, compile_errors_name_the_entry) {
  pattern_set s = small_set();
  s.entries[2].max_length = 60;  // true maximum width is 108
  auto r = pattern_db::compile(s);
  ASSERT_TRUE(std::holds_alternative<load_error>(r));
  EXPECT_EQ(std::get<load_error>(r).where, "patterns[2] (id email).max_length");

  s = small_set();
  s.entries[1].expression = R"(\d{3}\b\B\d)";  // Hyperscan: can never match
  s.entries[1].max_length = 4;
  r = pattern_db::compile(s);
  ASSERT_TRUE(std::holds_alternative<load_error>(r));
  EXPECT_EQ(std::get<load_error>(r).where, "patterns[1] (id phone).expression");
  EXPECT_NE(std::get<load_error>(r).reason.find("never match"), std::string::npos)
      << std::get<load_error>(r).reason;

  s = small_set();
  s.entries[0].expression = R"(\d{3}.\d{4})";
  r = pattern_db::compile(s);
  ASSERT_TRUE(std::holds_alternative<load_error>(r));
  EXPECT_EQ(std::get<load_error>(r).where, "patterns[0] (id ssn).expression");
  EXPECT_NE(std::get<load_error>(r).reason.find("offset 5"), std::string::npos);

  s = small_set();
  s.entries[3].id = "ssn";
  r = pattern_db::compile(s);
  ASSERT_TRUE(std::holds_alternative<load_error>(r));
  EXPECT_EQ(std::get<load_error>(r).reason, "duplicate id");

  s.entries.clear();
  r = pattern_db::compile(s);
  ASSERT_TRUE(std::holds_alternative<load_error>(r));
  EXPECT_EQ(std::get<load_error>(r).where, "patterns");
}

TEST(pattern_db, alloc_scratch_grows_an_existing_scratch) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  // A scratch sized for a trivial database must come back usable for all of ours.
  hs_database_t* tiny = nullptr;
  hs_compile_error_t* err = nullptr;
  ASSERT_EQ(hs_compile("a", 0, HS_MODE_BLOCK, nullptr, &tiny, &err), HS_SUCCESS);
  hs_scratch_t* s = nullptr;
  ASSERT_EQ(hs_alloc_scratch(tiny, &s), HS_SUCCESS);
  s = db->alloc_scratch(s);
  ASSERT_NE(s, nullptr);
  auto none = [](unsigned, unsigned long long, unsigned long long, unsigned, void*) { return 0; };
  EXPECT_EQ(hs_scan(tiny, "a", 1, 0, s, none, nullptr), HS_SUCCESS);
  EXPECT_EQ(hs_scan(db->hold_db(), "abc", 3, 0, s, none, nullptr), HS_SUCCESS);
  for (uint32_t i = 0; i < db->patterns().size(); ++i) {
    EXPECT_EQ(hs_scan(db->start_db(i), "abc", 3, 0, s, none, nullptr), HS_SUCCESS);
  }
  hs_stream_t* st = nullptr;
  ASSERT_EQ(hs_open_stream(db->stream_db(), 0, &st), HS_SUCCESS);
  EXPECT_EQ(hs_scan_stream(st, "123-45-6789 ", 12, 0, s, none, nullptr), HS_SUCCESS);
  EXPECT_EQ(hs_close_stream(st, s, none, nullptr), HS_SUCCESS);
  hs_free_scratch(s);
  hs_free_database(tiny);
}

// ---- Several pattern sets in one db (pattern_set_merge): origins, entity slots, masks. ----

// A second set whose "mrn" entity shares its name with small_set's.
pattern_set onc_set() {
  pattern_set s;
  s.name = "onc";
  s.version = 4;
  s.entries.push_back(entry("onc-subject", "study_subject", "other_id", R"(\bONC-\d{6}\b)", 10));
  s.entries.push_back(entry("onc-registry", "mrn", "mrn", R"(\bTR-\d{7}\b)", 10));
  return s;
}

std::unique_ptr<pattern_db> merged_db() {
  auto m = pattern_set_merge({small_set(), onc_set()});
  if (auto* e = std::get_if<load_error>(&m)) {
    ADD_FAILURE() << e->where << ": " << e->reason;
    return nullptr;
  }
  return compile_ok(std::get<pattern_set>(m));
}

uint64_t bit(const pattern_db& db, const char* id) {
  for (uint32_t p = 0; p < db.patterns().size(); ++p)
    if (std::string_view(db.patterns()[p].id) == id) return uint64_t{1} << db.entity_bit(p);
  ADD_FAILURE() << "no pattern " << id;
  return 0;
}

TEST(pattern_db_sets, single_set_has_one_origin_and_entity_per_slot) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  ASSERT_EQ(db->set_count(), 1u);
  EXPECT_EQ(db->set_name(0), "unit-set");
  EXPECT_EQ(db->set_version(0), 7);
  EXPECT_EQ(db->set_index("unit-set"), 0);
  EXPECT_EQ(db->set_index("onc"), -1);
  // Slots are the entities in order of first appearance, as before merged sets existed.
  ASSERT_EQ(db->entity_count(), 4u);
  const char* want[] = {"ssn", "phone", "email", "mrn"};
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(db->entity_name(i), want[i]);
    EXPECT_EQ(db->entity_set(i), 0u);
    EXPECT_EQ(db->entity_bit(i), i);
    EXPECT_EQ(db->pattern_set_of(i), 0u);
  }
  // entity_mask with no set named: the entity alone, as resolve_profiles used to build it.
  std::vector<std::string> none, ents = {"email", "ssn"};
  auto m = db->entity_mask(none, ents);
  ASSERT_EQ(m.error, "");
  EXPECT_EQ(m.mask, uint64_t{0b101});
  EXPECT_EQ(db->entity_mask(none, none).mask, all_entities);
  std::vector<std::string> typo = {"emial"};
  EXPECT_EQ(db->entity_mask(none, typo).error, "entity emial is not in pattern set unit-set");
}

TEST(pattern_db_sets, slots_are_per_set_and_entity) {
  auto db = merged_db();
  ASSERT_TRUE(db);
  EXPECT_EQ(db->name(), "unit-set+onc");
  EXPECT_EQ(db->version(), 1);
  ASSERT_EQ(db->set_count(), 2u);
  EXPECT_EQ(db->set_name(1), "onc");
  EXPECT_EQ(db->set_version(1), 4);
  ASSERT_EQ(db->patterns().size(), 6u);
  // Ids stay plain: audit records and metrics name "onc-registry", not "onc/onc-registry".
  EXPECT_STREQ(db->patterns()[5].id, "onc-registry");
  EXPECT_STREQ(db->patterns()[5].entity, "mrn");
  EXPECT_EQ(db->pattern_set_of(3), 0u);
  EXPECT_EQ(db->pattern_set_of(4), 1u);
  EXPECT_EQ(db->pattern_set_of(5), 1u);
  // small_set's slots keep their numbers; onc adds study_subject and its own mrn.
  ASSERT_EQ(db->entity_count(), 6u);
  EXPECT_EQ(db->entity_name(3), "mrn");
  EXPECT_EQ(db->entity_set(3), 0u);
  EXPECT_EQ(db->entity_name(5), "mrn");
  EXPECT_EQ(db->entity_set(5), 1u);
  EXPECT_NE(db->entity_bit(3), db->entity_bit(5));
  EXPECT_EQ(db->entity_index("mrn"), 3);
}

TEST(pattern_db_sets, entity_mask_chooses_sets_and_entities) {
  auto db = merged_db();
  ASSERT_TRUE(db);
  const pattern_db& d = *db;
  std::vector<std::string> none;
  std::vector<std::string> onc = {"onc"}, unit = {"unit-set"}, both = {"unit-set", "onc"};
  std::vector<std::string> mrn = {"mrn"}, ssn = {"ssn"};

  auto r = d.entity_mask(onc, none);  // every entity of onc only
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.mask, bit(d, "onc-subject") | bit(d, "onc-registry"));
  r = d.entity_mask(unit, mrn);  // unit-set's mrn, not onc's
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.mask, bit(d, "mrn"));
  EXPECT_TRUE(d.entity_enabled(3, r.mask));
  EXPECT_FALSE(d.entity_enabled(5, r.mask));
  r = d.entity_mask(none, mrn);  // no set named: the entity in every set
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.mask, bit(d, "mrn") | bit(d, "onc-registry"));
  r = d.entity_mask(both, mrn);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.mask, bit(d, "mrn") | bit(d, "onc-registry"));

  // Fail closed: an unknown set, or an entity none of the chosen sets has, is an error.
  std::vector<std::string> ghost = {"onc", "ghost-set"};
  r = d.entity_mask(ghost, none);
  EXPECT_EQ(r.error, "pattern set ghost-set is not loaded (loaded: unit-set, onc)");
  EXPECT_EQ(r.mask, all_entities);
  r = d.entity_mask(onc, ssn);
  EXPECT_EQ(r.error, "entity ssn is not in pattern set onc");
  std::vector<std::string> nope = {"nope"};
  r = d.entity_mask(none, nope);
  EXPECT_EQ(r.error, "entity nope is not in pattern sets unit-set, onc");
}

TEST(pattern_db_sets, two_set_db_round_trips_with_origins) {
  auto db = merged_db();
  ASSERT_TRUE(db);
  const std::vector<uint8_t> blob = db->serialize();
  auto r = pattern_db::deserialize(blob);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<pattern_db>>(r)) << std::get<load_error>(r).reason;
  const pattern_db& copy = *std::get<std::unique_ptr<pattern_db>>(r);
  EXPECT_EQ(copy.name(), "unit-set+onc");
  ASSERT_EQ(copy.set_count(), 2u);
  for (uint32_t k = 0; k < 2; ++k) {
    EXPECT_EQ(copy.set_name(k), db->set_name(k));
    EXPECT_EQ(copy.set_version(k), db->set_version(k));
  }
  ASSERT_EQ(copy.patterns().size(), db->patterns().size());
  for (uint32_t p = 0; p < db->patterns().size(); ++p) {
    EXPECT_STREQ(copy.patterns()[p].id, db->patterns()[p].id);
    EXPECT_EQ(copy.pattern_set_of(p), db->pattern_set_of(p)) << p;
    EXPECT_EQ(copy.entity_bit(p), db->entity_bit(p)) << p;
  }
  ASSERT_EQ(copy.entity_count(), db->entity_count());
  for (uint32_t i = 0; i < db->entity_count(); ++i) EXPECT_EQ(copy.entity_set(i), db->entity_set(i));
  std::vector<std::string> unit = {"unit-set"}, mrn = {"mrn"};
  EXPECT_EQ(copy.entity_mask(unit, mrn).mask, db->entity_mask(unit, mrn).mask);
  EXPECT_EQ(copy.serialize(), blob);
  scanner a(*db), b(copy);
  const std::string text = sample + " subject ONC-123456, registry TR-1234567.";
  EXPECT_EQ(a.findings(text), b.findings(text));
  EXPECT_EQ(a.findings(text).size(), 6u);
}

// Little-endian helpers to rewrite a blob in the test (the format is private to pattern_db.cc).
void put_le(std::vector<uint8_t>& b, size_t at, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
}

constexpr uint32_t kFormat = 8;  // what serialize() writes

// Where the optional sections of a current (format 8) blob sit.
struct blob_sections {
  size_t sets_at = 0, sets_len = 0;      // member sets and origins (format 3 on)
  size_t runs_at = 0, runs_len = 0;      // run classes (format 5 on)
  size_t groups_at = 0, groups_len = 0;  // stream groups (format 4 on)
  size_t hold_at = 0, hold_len = 0;      // automata and their CRC (hold: format 6 on, start: 7 on)
  size_t starts_at = 0;                  // the start automata's count, after the hold automata
  size_t streams_at = 0;                 // the stream automata's count, after the start automata (8 on)
  size_t rest_at = 0, rest_len = 0;      // the missing groups' stream database, last (8 on; may be empty)
  uint32_t entries = 0;
};
blob_sections find_sections(const std::vector<uint8_t>& blob) {
  auto u16 = [&](size_t o) { return uint32_t{blob[o]} | uint32_t{blob[o + 1]} << 8; };
  auto u32 = [&](size_t o) { return u16(o) | u16(o + 2) << 16; };
  blob_sections b;
  // Name, version, count, per-pattern metadata.
  size_t at = 24;
  at += 4 + u32(at);
  at += 4;
  const uint32_t n = u32(at);
  at += 4;
  for (uint32_t i = 0; i < n; ++i) {
    at += 1 + blob[at];  // id
    at += 1 + blob[at];  // entity
    at += 9;             // validator, mask, max_length, context_window, keyword range
  }
  b.sets_at = at;
  for (uint32_t k = 0, sets = blob[at++]; k < sets; ++k) at += 1 + blob[at] + 4;
  at += n;  // origins
  b.sets_len = at - b.sets_at;
  const uint32_t keywords = u32(at);
  at += 4;
  for (uint32_t k = 0; k < keywords; ++k) at += 1 + blob[at];
  at += 1 + 256 * (3 + 32);  // trigger table
  b.runs_at = at;
  at += 1 + blob[at] * (32 + 3);  // run classes: members, min_run, before, after
  b.runs_len = at - b.runs_at;
  b.groups_at = at;
  const uint32_t groups = u16(at);
  at += 2;
  for (uint32_t g = 0; g < groups; ++g) at += 2 + 2 * u16(at);
  b.groups_len = at - b.groups_at;
  b.entries = n;
  b.hold_at = at;
  auto skip_dfa = [&] {
    const size_t states = u16(at), classes = u16(at + 2);
    at += 6 + 256 + states + 2 * states * classes;  // states, classes, start, byte classes, accept, next
  };
  for (uint32_t k = 0, parts = blob[at++]; k < parts; ++k) skip_dfa();
  b.starts_at = at;
  at += 2;
  for (uint32_t i = 0; i < n; ++i)
    if (blob[at++] != 0) skip_dfa();
  b.streams_at = at;
  for (uint32_t k = 0, parts = blob[at++]; k < parts; ++k) {
    const size_t states = u16(at), classes = u16(at + 2);
    at += 8 + 256 + 8 * states + 2 * states * classes;  // header, byte classes, report masks, next
  }
  const uint32_t missing = blob[at++];
  at += 2 * missing;
  at += 4;  // CRC-32 of the section
  b.hold_len = at - b.hold_at;
  // Hyperscan databases: stream, hold, one start per entry, then the missing groups' if any.
  auto u64 = [&](size_t o) { return uint64_t{u32(o)} | uint64_t{u32(o + 4)} << 32; };
  for (uint32_t k = 0; k < 2 + n; ++k) at += 8 + u64(at);
  b.rest_at = at;
  b.rest_len = blob.size() - at;
  if (missing == 0) {
    EXPECT_EQ(b.rest_len, 0u);
  }
  return b;
}

std::vector<uint8_t> without(const std::vector<uint8_t>& blob, size_t at, size_t len) {
  std::vector<uint8_t> out(blob.begin(), blob.begin() + static_cast<long>(at));
  out.insert(out.end(), blob.begin() + static_cast<long>(at + len), blob.end());
  return out;
}

void reseal(std::vector<uint8_t>& b, uint32_t format) {
  put_le(b, 8, format, 4);
  put_le(b, 16, b.size() - 24, 8);
  put_le(b, 12, core::crc32(b.data() + 24, b.size() - 24), 4);
}

// The blob without its hold automata: what a format 2-5 blob carries.
std::vector<uint8_t> without_hold(const std::vector<uint8_t>& blob, const blob_sections& b) {
  return without(without(blob, b.rest_at, b.rest_len), b.hold_at, b.hold_len);
}

// The blob as it re-serializes once its run classes and hold automata are gone (counts of zero).
std::vector<uint8_t> with_no_runs(const std::vector<uint8_t>& blob, const blob_sections& b) {
  std::vector<uint8_t> out = without_hold(blob, b);
  // No hold automata, no start automaton for any entry, the CRC-32 of that.
  std::vector<uint8_t> none = {0, static_cast<uint8_t>(b.entries), static_cast<uint8_t>(b.entries >> 8)};
  none.resize(none.size() + b.entries, 0);
  none.push_back(0);  // no stream automata
  none.push_back(0);  // no missing groups
  const uint32_t crc = core::crc32(none.data(), none.size());
  for (int i = 0; i < 4; ++i) none.push_back(static_cast<uint8_t>(crc >> (8 * i)));
  out.insert(out.begin() + static_cast<long>(b.hold_at), none.begin(), none.end());
  out = without(out, b.runs_at, b.runs_len);
  out.insert(out.begin() + static_cast<long>(b.runs_at), uint8_t{0});
  reseal(out, kFormat);
  return out;
}

// The blob as a set without stream automata serializes (counts of zero, no missing groups'
// database): its scanner uses the full Hyperscan stream database.
std::vector<uint8_t> without_stream_automata(const std::vector<uint8_t>& blob, const blob_sections& b) {
  const size_t crc_at = b.hold_at + b.hold_len - 4;
  std::vector<uint8_t> out = without(without(blob, b.rest_at, b.rest_len), b.streams_at, crc_at - b.streams_at);
  const uint8_t none[] = {0, 0};
  out.insert(out.begin() + static_cast<long>(b.streams_at), std::begin(none), std::end(none));
  put_le(out, b.streams_at + 2, core::crc32(out.data() + b.hold_at, b.streams_at + 2 - b.hold_at), 4);
  reseal(out, kFormat);
  return out;
}

// Blobs written before merged sets (format 2: no member-set section) still load, as one set.
TEST(pattern_db_sets, format_2_blob_loads_as_a_single_set) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  ASSERT_EQ(db->stream_group_count(), db->patterns().size());  // nothing to group: one gated entry
  std::vector<uint8_t> blob = db->serialize();
  ASSERT_EQ(blob[8], kFormat);
  const blob_sections b = find_sections(blob);
  ASSERT_EQ(blob[b.sets_at], 1);  // one member set
  std::vector<uint8_t> old =
      without(without(without(without_hold(blob, b), b.groups_at, b.groups_len), b.runs_at, b.runs_len), b.sets_at,
              b.sets_len);
  reseal(old, 2);
  auto r = pattern_db::deserialize(old);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<pattern_db>>(r)) << std::get<load_error>(r).reason;
  const pattern_db& copy = *std::get<std::unique_ptr<pattern_db>>(r);
  EXPECT_EQ(copy.set_count(), 1u);
  EXPECT_EQ(copy.set_name(0), "unit-set");
  EXPECT_EQ(copy.set_version(0), 7);
  EXPECT_EQ(copy.entity_count(), db->entity_count());
  EXPECT_EQ(copy.serialize(), with_no_runs(blob, b));  // re-serialized in the current format
  // Control: the same surgery with format 3 left in place is rejected (the test can fail).
  put_le(old, 8, 3, 4);
  EXPECT_TRUE(std::holds_alternative<load_error>(pattern_db::deserialize(old)));
}

// Blobs written before stream groups (format 3) load with one entry per stream report id, which
// is what their stream database reports.
TEST(pattern_db_sets, format_3_blob_loads_with_one_entry_per_group) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  const std::vector<uint8_t> blob = db->serialize();
  const blob_sections b = find_sections(blob);
  std::vector<uint8_t> old = without(without(without_hold(blob, b), b.groups_at, b.groups_len), b.runs_at, b.runs_len);
  reseal(old, 3);
  auto r = pattern_db::deserialize(old);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<pattern_db>>(r)) << std::get<load_error>(r).reason;
  const pattern_db& copy = *std::get<std::unique_ptr<pattern_db>>(r);
  ASSERT_EQ(copy.stream_group_count(), copy.patterns().size());
  for (uint32_t g = 0; g < copy.stream_group_count(); ++g) {
    ASSERT_EQ(copy.stream_members(g).size(), 1u);
    EXPECT_EQ(copy.stream_members(g)[0], g);
  }
  EXPECT_EQ(copy.serialize(), with_no_runs(blob, b));
  EXPECT_EQ(scanner(copy).findings(sample), scanner(*db).findings(sample));
  // Control: the same bytes called format 4 lack the section and are rejected.
  reseal(old, 4);
  EXPECT_TRUE(std::holds_alternative<load_error>(pattern_db::deserialize(old)));
}

// Run classes (format 5) round-trip; blobs written before them (format 4) load with none, which
// is right for them: their byte table was built with every expression in it.
TEST(pattern_db_sets, run_classes_round_trip_and_format_4_blobs_load_without) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  const trigger_table& t = db->triggers();
  ASSERT_TRUE(t.enabled);
  ASSERT_GE(t.run_count, 1u);  // the SSN and MRN shapes: runs of digits
  const std::vector<uint8_t> blob = db->serialize();
  const blob_sections b = find_sections(blob);
  ASSERT_EQ(b.runs_len, 1u + t.run_count * 35u);
  auto r = pattern_db::deserialize(blob);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<pattern_db>>(r)) << std::get<load_error>(r).reason;
  const trigger_table& u = std::get<std::unique_ptr<pattern_db>>(r)->triggers();
  ASSERT_EQ(u.run_count, t.run_count);
  for (uint32_t j = 0; j < t.run_count; ++j) {
    EXPECT_EQ(u.runs[j].min_run, t.runs[j].min_run);
    EXPECT_EQ(u.runs[j].before, t.runs[j].before);
    EXPECT_EQ(u.runs[j].after, t.runs[j].after);
    for (int w = 0; w < 4; ++w) EXPECT_EQ(u.runs[j].members[w], t.runs[j].members[w]);
  }
  for (int c = 0; c < 256; ++c) EXPECT_EQ(u.bits[c], t.bits[c]) << c;  // derived again on load
  EXPECT_EQ(std::get<std::unique_ptr<pattern_db>>(r)->trigger_before_max(), db->trigger_before_max());

  std::vector<uint8_t> old = without(without_hold(blob, b), b.runs_at, b.runs_len);
  reseal(old, 4);
  auto o = pattern_db::deserialize(old);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<pattern_db>>(o)) << std::get<load_error>(o).reason;
  EXPECT_EQ(std::get<std::unique_ptr<pattern_db>>(o)->triggers().run_count, 0u);
  EXPECT_EQ(std::get<std::unique_ptr<pattern_db>>(o)->serialize(), with_no_runs(blob, b));
  // Control: the same bytes called format 5 lack the section and are rejected.
  reseal(old, 5);
  EXPECT_TRUE(std::holds_alternative<load_error>(pattern_db::deserialize(old)));
}

// Hold automata (format 6) round-trip table for table; blobs written before them load with none
// (the Hyperscan hold database answers); a corrupt table is refused at load, never walked.
TEST(pattern_db_sets, hold_automata_round_trip_and_corrupt_ones_are_rejected) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  ASSERT_FALSE(db->hold_automata().empty());
  const std::vector<uint8_t> blob = db->serialize();
  const blob_sections b = find_sections(blob);
  ASSERT_EQ(blob[b.hold_at], db->hold_automata().size());
  auto r = pattern_db::deserialize(blob);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<pattern_db>>(r)) << std::get<load_error>(r).reason;
  const pattern_db& copy = *std::get<std::unique_ptr<pattern_db>>(r);
  ASSERT_EQ(copy.hold_automata().size(), db->hold_automata().size());
  for (size_t k = 0; k < copy.hold_automata().size(); ++k) {
    const byte_dfa &u = copy.hold_automata()[k], &t = db->hold_automata()[k];
    EXPECT_EQ(u.states, t.states);
    EXPECT_EQ(u.classes, t.classes);
    EXPECT_EQ(u.start, t.start);
    EXPECT_EQ(std::memcmp(u.byte_class, t.byte_class, sizeof u.byte_class), 0);
    EXPECT_EQ(u.accept, t.accept);
    EXPECT_EQ(u.next, t.next);
  }
  EXPECT_EQ(copy.serialize(), blob);

  std::vector<uint8_t> old = without_hold(blob, b);
  reseal(old, 5);
  auto o = pattern_db::deserialize(old);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<pattern_db>>(o)) << std::get<load_error>(o).reason;
  EXPECT_TRUE(std::get<std::unique_ptr<pattern_db>>(o)->hold_automata().empty());
  EXPECT_EQ(scanner(*std::get<std::unique_ptr<pattern_db>>(o)).findings(sample), scanner(*db).findings(sample));

  // Rewrites the section's own checksum too, so the checks behind it are reached.
  auto reason = [&](std::vector<uint8_t> bad, bool inner = true) {
    if (inner && bad[b.hold_at] == blob[b.hold_at]) {
      const size_t crc_at = b.hold_at + b.hold_len - 4;
      put_le(bad, crc_at, core::crc32(bad.data() + b.hold_at, crc_at - b.hold_at), 4);
    }
    reseal(bad, kFormat);
    auto x = pattern_db::deserialize(bad);
    return std::holds_alternative<load_error>(x) ? std::get<load_error>(x).reason : std::string("accepted");
  };
  const size_t first = b.hold_at + 1;  // states, classes, start (u16 each), byte classes, accept, next
  const byte_dfa& t = db->hold_automata()[0];
  const size_t next_at = first + 6 + 256 + t.states;
  {
    std::vector<uint8_t> bad = blob;
    bad[b.hold_at] = kHoldDfaMaxParts + 1;
    EXPECT_EQ(reason(bad), "bad hold automaton count");
  }
  {
    std::vector<uint8_t> bad = blob;
    put_le(bad, next_at + 2 * (t.next.size() - 1), t.states, 2);  // the last transition leaves the table
    EXPECT_EQ(reason(bad), "hold automaton 0: transition out of range");
  }
  {
    std::vector<uint8_t> bad = blob;
    put_le(bad, next_at, 1, 2);  // out of the dead state
    EXPECT_EQ(reason(bad), "hold automaton 0: the dead state has a way out");
  }
  {
    std::vector<uint8_t> bad = blob;
    put_le(bad, first, 0, 2);  // no states
    EXPECT_EQ(reason(bad), "bad hold automaton 0");
  }
  {
    std::vector<uint8_t> bad = blob;
    // The last transition (not the dead state's) moved to another state, still in range.
    put_le(bad, next_at + 2 * (t.next.size() - 1), (t.next.back() + 1u) % t.states, 2);
    EXPECT_EQ(reason(bad, false), "automata checksum mismatch");
    EXPECT_EQ(reason(bad), "accepted");  // its range checks alone would let it through
  }
  EXPECT_EQ(reason(blob), "accepted");  // control
}

// Start automata (format 7): one per entry whose start form allows it, with the leading \b kept
// as a flag; they round-trip, format 6 blobs (hold automata only) load without them, and a bad
// kind, count or table is refused at load.
TEST(pattern_db_sets, start_automata_round_trip_and_format_6_blobs_load_without) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  for (uint32_t id = 0; id < db->patterns().size(); ++id) ASSERT_NE(db->start_automaton(id), nullptr) << id;
  EXPECT_TRUE(db->start_automaton(0)->leading_boundary);   // ssn: \b\d{3}...
  EXPECT_FALSE(db->start_automaton(1)->leading_boundary);  // phone: (?:\+?1...)?...
  EXPECT_EQ(db->start_automaton(4), nullptr);              // out of range
  const std::vector<uint8_t> blob = db->serialize();
  const blob_sections b = find_sections(blob);
  auto r = pattern_db::deserialize(blob);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<pattern_db>>(r)) << std::get<load_error>(r).reason;
  const pattern_db& copy = *std::get<std::unique_ptr<pattern_db>>(r);
  for (uint32_t id = 0; id < db->patterns().size(); ++id) {
    ASSERT_NE(copy.start_automaton(id), nullptr);
    EXPECT_EQ(copy.start_automaton(id)->leading_boundary, db->start_automaton(id)->leading_boundary);
    EXPECT_EQ(copy.start_automaton(id)->dfa.next, db->start_automaton(id)->dfa.next);
  }

  // Format 6: the start part cut out, the section's CRC rewritten.
  const size_t crc_at = b.hold_at + b.hold_len - 4;
  std::vector<uint8_t> six = without(without(blob, b.rest_at, b.rest_len), b.starts_at, crc_at - b.starts_at);
  put_le(six, b.starts_at, core::crc32(six.data() + b.hold_at, b.starts_at - b.hold_at), 4);
  reseal(six, 6);
  auto o = pattern_db::deserialize(six);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<pattern_db>>(o)) << std::get<load_error>(o).reason;
  const pattern_db& old = *std::get<std::unique_ptr<pattern_db>>(o);
  EXPECT_EQ(old.hold_automata().size(), db->hold_automata().size());
  for (uint32_t id = 0; id < old.patterns().size(); ++id) EXPECT_EQ(old.start_automaton(id), nullptr);
  EXPECT_EQ(scanner(old).findings(sample), scanner(*db).findings(sample));
  // Control: the same bytes called format 7 lack the start part and are refused.
  reseal(six, kFormat);
  EXPECT_TRUE(std::holds_alternative<load_error>(pattern_db::deserialize(six)));

  auto reason = [&](std::vector<uint8_t> bad) {
    put_le(bad, crc_at, core::crc32(bad.data() + b.hold_at, crc_at - b.hold_at), 4);
    reseal(bad, kFormat);
    auto x = pattern_db::deserialize(bad);
    return std::holds_alternative<load_error>(x) ? std::get<load_error>(x).reason : std::string("accepted");
  };
  const size_t kind0 = b.starts_at + 2;
  {
    std::vector<uint8_t> bad = blob;
    bad[kind0] = 3;
    EXPECT_EQ(reason(bad), "bad start automaton 0");
  }
  {
    std::vector<uint8_t> bad = blob;
    put_le(bad, b.starts_at, b.entries + 1, 2);
    EXPECT_EQ(reason(bad), "bad start automaton count");
  }
  {
    std::vector<uint8_t> bad = blob;
    const byte_dfa& d = db->start_automaton(0)->dfa;
    put_le(bad, kind0 + 1 + 6 + 256 + d.states + 2 * (d.next.size() - 1), d.states, 2);
    EXPECT_EQ(reason(bad), "start automaton 0: transition out of range");
  }
  EXPECT_EQ(reason(blob), "accepted");  // control
}

// Stream automata (format 8) survive serialization table for table, scan as the original does,
// and format 7 blobs (none, and no missing groups' database) load and scan with Hyperscan alone.
TEST(pattern_db_sets, stream_automata_round_trip_and_format_7_blobs_load_without) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  ASSERT_FALSE(db->stream_automata().empty());
  ASSERT_NE(db->rest_stream_db(), nullptr);
  const std::string sample = "ssn 123-45-6789 call (212) 555-0100 mail jo.doe@example.org mrn AB1234567.";
  const std::vector<uint8_t> blob = db->serialize();
  const blob_sections b = find_sections(blob);
  auto r = pattern_db::deserialize(blob);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<pattern_db>>(r)) << std::get<load_error>(r).reason;
  const pattern_db& copy = *std::get<std::unique_ptr<pattern_db>>(r);
  ASSERT_EQ(copy.stream_automata().size(), db->stream_automata().size());
  for (size_t k = 0; k < copy.stream_automata().size(); ++k) {
    const stream_dfa &x = copy.stream_automata()[k], &y = db->stream_automata()[k];
    EXPECT_EQ(x.next, y.next);
    EXPECT_EQ(x.ends_word, y.ends_word);
    EXPECT_EQ(x.ends_other, y.ends_other);
    EXPECT_EQ(x.start, y.start);
    EXPECT_EQ(x.first_reporting, y.first_reporting);
  }
  EXPECT_TRUE(std::equal(copy.stream_automata_missing().begin(), copy.stream_automata_missing().end(),
                         db->stream_automata_missing().begin(), db->stream_automata_missing().end()));
  EXPECT_EQ(copy.serialize(), blob);

  // Format 7: the stream part and the last database cut out, the section's CRC rewritten.
  const size_t crc_at = b.hold_at + b.hold_len - 4;
  std::vector<uint8_t> seven = without(without(blob, b.rest_at, b.rest_len), b.streams_at, crc_at - b.streams_at);
  put_le(seven, b.streams_at, core::crc32(seven.data() + b.hold_at, b.streams_at - b.hold_at), 4);
  reseal(seven, 7);
  auto o = pattern_db::deserialize(seven);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<pattern_db>>(o)) << std::get<load_error>(o).reason;
  const pattern_db& old = *std::get<std::unique_ptr<pattern_db>>(o);
  EXPECT_TRUE(old.stream_automata().empty());
  EXPECT_EQ(old.rest_stream_db(), nullptr);
  EXPECT_EQ(scanner(old).findings(sample), scanner(*db).findings(sample));

  auto reason = [&](std::vector<uint8_t> bad, bool fix_crc = true) {
    if (fix_crc) put_le(bad, crc_at, core::crc32(bad.data() + b.hold_at, crc_at - b.hold_at), 4);
    reseal(bad, kFormat);
    auto x = pattern_db::deserialize(bad);
    return std::holds_alternative<load_error>(x) ? std::get<load_error>(x).reason : std::string("accepted");
  };
  const stream_dfa& d0 = db->stream_automata()[0];
  const size_t part0 = b.streams_at + 1;
  const size_t next0 = part0 + 8 + 256 + 8 * d0.states;
  // The blob holds rows (state-major), as format 8 was defined; memory is class-major for the walk.
  for (uint32_t s = 0; s < d0.states; ++s)
    for (uint32_t c = 0; c < d0.classes; ++c) {
      const size_t at = next0 + 2 * (size_t{s} * d0.classes + c);
      ASSERT_EQ(uint32_t{blob[at]} | uint32_t{blob[at + 1]} << 8, stream_dfa_next(d0, s, c)) << s << " " << c;
    }
  {
    std::vector<uint8_t> bad = blob;
    put_le(bad, next0 + 2 * (d0.next.size() - 1), d0.states, 2);
    EXPECT_EQ(reason(bad), "stream automaton 0: transition out of range");
    // In range but wrong: only the section's checksum tells.
    put_le(bad, next0 + 2 * (d0.next.size() - 1), d0.next.back() == 0 ? 1 : 0, 2);
    EXPECT_EQ(reason(bad, false), "automata checksum mismatch");
  }
  {
    std::vector<uint8_t> bad = blob;
    bad[b.streams_at] = kStreamDfaMaxParts + 1;
    EXPECT_EQ(reason(bad), "bad stream automaton count");
  }
  {
    // Report masks: group 0 moved to a group the set does not have.
    std::vector<uint8_t> bad = blob;
    const size_t words = part0 + 8 + 256;
    for (uint32_t s = d0.first_reporting; s < d0.states; ++s) put_le(bad, words + 4 * s, 1u << 20, 4);
    EXPECT_EQ(reason(bad), "stream automaton 0: report of a group out of range");
  }
  {
    // The missing group listed twice, and a group both missing and in an automaton.
    const size_t missing_at = crc_at - 2 * db->stream_automata_missing().size() - 1;
    ASSERT_EQ(blob[missing_at], 1u);
    std::vector<uint8_t> bad = blob;
    put_le(bad, missing_at + 1, 0, 2);  // group 0 (ssn) has an automaton
    EXPECT_EQ(reason(bad), "a missing group has a stream automaton");
    // E-mail neither missing nor in an automaton (its database dropped too).
    bad = without(without(blob, b.rest_at, b.rest_len), missing_at + 1, 2);
    bad[missing_at] = 0;
    put_le(bad, crc_at - 2, core::crc32(bad.data() + b.hold_at, crc_at - 2 - b.hold_at), 4);
    EXPECT_EQ(reason(bad, false), "a group without stream automaton");
  }
  EXPECT_EQ(reason(blob), "accepted");  // control
}

// More groups without an automaton than the scanner's merge queue is sized for: the set is
// scanned by Hyperscan alone, and still finds what it should.
TEST(pattern_db_sets, too_many_missing_groups_leave_the_set_to_hyperscan) {
  pattern_set s = small_set();
  ASSERT_EQ(compile_ok(s)->stream_automata_missing().size(), 1u);  // e-mail
  s.entries.push_back(entry("email2", "email", "email",
                            R"(\b[a-z0-9._%+\-]{1,32}@(?:[a-z0-9\-]{1,20}\.){1,3}(?:org|net|com)\b)", 104));
  s.entries.push_back(entry("email3", "email", "email",
                            R"(\b[a-z0-9._%+\-]{1,32}@(?:[a-z0-9\-]{1,20}\.){1,3}(?:edu|gov)\b)", 104));
  auto db = compile_ok(s);
  ASSERT_TRUE(db);
  EXPECT_TRUE(db->stream_automata().empty());
  EXPECT_TRUE(db->stream_automata_missing().empty());
  EXPECT_EQ(db->rest_stream_db(), nullptr);
  EXPECT_EQ(scanner(*db).findings("mail jo.doe@example.org now").size(), 2u);  // email and email2
}

// A run class that could leave its expressions unscanned is refused.
TEST(pattern_db_sets, bad_run_classes_are_rejected) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  const std::vector<uint8_t> blob = db->serialize();
  const blob_sections b = find_sections(blob);
  ASSERT_GE(blob[b.runs_at], 1);
  const size_t first = b.runs_at + 1;  // members (32), min_run, before, after
  auto reason = [&](std::vector<uint8_t> bad) {
    reseal(bad, kFormat);
    auto r = pattern_db::deserialize(bad);
    return std::holds_alternative<load_error>(r) ? std::get<load_error>(r).reason : std::string("accepted");
  };
  {
    std::vector<uint8_t> bad = blob;
    bad[b.runs_at] = kMaxRunClasses + 1;
    EXPECT_EQ(reason(bad), "bad run class count");
  }
  {
    std::vector<uint8_t> bad = blob;
    bad[first + 32] = 0;  // min_run 0
    EXPECT_EQ(reason(bad), "bad run class 0");
  }
  {
    std::vector<uint8_t> bad = blob;
    bad[first + 32] = kMaxRunLength + 1;
    EXPECT_EQ(reason(bad), "bad run class 0");
  }
  {
    std::vector<uint8_t> bad = blob;
    for (size_t i = 0; i < 32; ++i) bad[first + i] = 0;  // no member can fire
    EXPECT_EQ(reason(bad), "bad run class 0");
  }
  {
    std::vector<uint8_t> bad = blob;
    bad[first + 34] = 0;  // after 0
    EXPECT_EQ(reason(bad), "bad run class 0");
  }
  EXPECT_EQ(reason(blob), "accepted");  // control
}

// A group table that is not a partition of the entries is refused, not trusted.
TEST(pattern_db_sets, bad_stream_groups_are_rejected) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  const std::vector<uint8_t> blob = db->serialize();
  const blob_sections b = find_sections(blob);
  ASSERT_EQ(b.groups_len, 2u + 4u * 4u);  // 4 groups of one: (size 1, id)
  auto rejected = [&](std::vector<uint8_t> bad, const std::string& why) {
    reseal(bad, kFormat);
    auto r = pattern_db::deserialize(bad);
    if (!std::holds_alternative<load_error>(r)) return ::testing::AssertionFailure() << "accepted";
    if (std::get<load_error>(r).reason.find(why) == std::string::npos)
      return ::testing::AssertionFailure() << std::get<load_error>(r).reason;
    return ::testing::AssertionSuccess();
  };
  const size_t g0 = b.groups_at + 2;  // first group: size at g0, member at g0 + 2
  {
    std::vector<uint8_t> bad = blob;
    put_le(bad, g0 + 2 + 4, 0, 2);  // second group names entry 0 again
    EXPECT_TRUE(rejected(bad, "bad stream group 1"));
  }
  {
    std::vector<uint8_t> bad = blob;
    put_le(bad, g0 + 2, 9, 2);  // entry 9 of 4
    EXPECT_TRUE(rejected(bad, "bad stream group 0"));
  }
  {
    std::vector<uint8_t> bad = blob;
    put_le(bad, b.groups_at, 0, 2);  // no groups
    EXPECT_TRUE(rejected(bad, "bad stream group count"));
  }
  {
    // Three groups: entry 3 in none (the last group's bytes dropped).
    std::vector<uint8_t> bad = without(blob, b.groups_at + b.groups_len - 4, 4);
    put_le(bad, b.groups_at, 3, 2);
    EXPECT_TRUE(rejected(bad, "a pattern is in no stream group"));
  }
  std::vector<uint8_t> same = blob;
  reseal(same, kFormat);
  EXPECT_TRUE(std::holds_alternative<std::unique_ptr<pattern_db>>(pattern_db::deserialize(same)));  // control
}

// A group table can be a valid partition and still disagree with the stream database (a blob
// whose sections come from different compiles): a report naming no group cannot be attributed
// to an entry, so the scanner fails the body closed instead of letting its bytes through.
TEST(pattern_db_sets, reports_naming_no_group_fail_the_body_closed) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  const std::vector<uint8_t> blob = db->serialize();
  const blob_sections b = find_sections(blob);
  ASSERT_EQ(b.groups_len, 2u + 4u * 4u);  // 4 groups of one
  // Three groups: email and mrn share the third. The stream database still reports mrn as 3.
  // (Stream automata built for four groups would be refused at load: the scan uses Hyperscan's.)
  std::vector<uint8_t> merged = without(without_stream_automata(blob, b), b.groups_at, b.groups_len);
  const uint8_t table[] = {3, 0, 1, 0, 0, 0, 1, 0, 1, 0, 2, 0, 2, 0, 3, 0};
  merged.insert(merged.begin() + static_cast<long>(b.groups_at), std::begin(table), std::end(table));
  reseal(merged, kFormat);
  auto r = pattern_db::deserialize(merged);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<pattern_db>>(r)) << std::get<load_error>(r).reason;
  const pattern_db& bad = *std::get<std::unique_ptr<pattern_db>>(r);
  ASSERT_EQ(bad.stream_group_count(), 3u);

  struct out {
    size_t masks = 0, findings = 0;
  };
  // Feeds `text` to one channel of `use`; whether channel_end and channel_close accepted it.
  auto run = [](const pattern_db& use, const std::string& text, out& o, uint64_t& bad_reports) {
    scan_scratch* s = scan_scratch_create(use);
    scan_sink sink;
    sink.db = &use;
    sink.ctx = &o;
    sink.on_mask = [](void* ctx, const mask::mask_action&) { static_cast<out*>(ctx)->masks++; };
    sink.on_finding = [](void* ctx, const finding&) { static_cast<out*>(ctx)->findings++; };
    channel_state ch;
    channel_init(ch);
    EXPECT_TRUE(channel_open(ch, use));
    channel_begin(*s, 0, ch, sink);
    channel_put_run(*s, 0, reinterpret_cast<const uint8_t*>(text.data()), text.size(), 0, source_kind::text);
    const bool end_ok = channel_end(*s, 0);
    const bool close_ok = channel_close(*s, 0, ch, sink);
    EXPECT_EQ(ch.scan_failed, !(end_ok && close_ok));
    bad_reports = scan_scratch_counters(*s).bad_report;
    scan_scratch_destroy(s);
    return std::pair{end_ok, close_ok};
  };
  uint64_t bad_reports = 0;
  out o;
  // The mrn report completes inside the feed (the "." ends it): channel_end refuses the body.
  EXPECT_EQ(run(bad, "MRN ab1234567. ssn 123-45-6789.", o, bad_reports), std::pair(false, false));
  EXPECT_EQ(bad_reports, 1u);
  // At end of data (its trailing \b needs the end): channel_close refuses it.
  EXPECT_EQ(run(bad, "MRN ab1234567", o, bad_reports), std::pair(true, false));
  EXPECT_EQ(bad_reports, 1u);
  // Reports the table does name still work; text without mrn passes.
  o = out{};
  EXPECT_EQ(run(bad, "ssn 123-45-6789, mail jo@example.org.", o, bad_reports), std::pair(true, true));
  EXPECT_EQ(bad_reports, 0u);
  EXPECT_EQ(o.findings, 2u);
  // Control: the database the table came from accepts the same text and finds the MRN.
  o = out{};
  EXPECT_EQ(run(*db, "MRN ab1234567. ssn 123-45-6789.", o, bad_reports), std::pair(true, true));
  EXPECT_EQ(bad_reports, 0u);
  EXPECT_EQ(o.findings, 2u);

  // Through the engine: the response fails with scan_failed and its body is never released.
  const std::string body = R"({"note":"MRN ab1234567. ssn 123-45-6789."})";
  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body;
  const std::string req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
  for (const pattern_db* use : {&bad, static_cast<const pattern_db*>(db.get())}) {
    engine::engine_config cfg;
    cfg.db = use;
    engine::engine_scratch* x = engine::engine_scratch_create(cfg);
    ASSERT_NE(x, nullptr);
    auto f = std::make_unique<engine::flow_engine>();
    ASSERT_TRUE(engine::flow_engine_setup(*f, cfg));
    engine::engine_sink sink;
    engine::feed_request(*f, *x, reinterpret_cast<const uint8_t*>(req.data()), req.size(), 1, sink);
    const engine::feed_result r =
        engine::feed_response(*f, *x, reinterpret_cast<const uint8_t*>(resp.data()), resp.size(), 2, sink);
    if (use == &bad) {
      EXPECT_EQ(r.error, engine::engine_error::scan_failed);
      EXPECT_STREQ(engine::engine_error_name(r.error), "scan_failed");
      EXPECT_LE(r.final_offset, resp.size() - body.size());  // at most the head
      EXPECT_EQ(engine::engine_scratch_counters(*x).bad_report, 1u);
    } else {
      EXPECT_EQ(r.error, engine::engine_error::none);
      EXPECT_EQ(r.final_offset, resp.size());
    }
    engine::flow_engine_teardown(*f);
    engine::engine_scratch_destroy(x);
  }
}

// A start or hold database compiled for another mode would load and then fail every scan: it is
// refused at load.
TEST(pattern_db_sets, databases_of_the_wrong_mode_are_rejected) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  const std::vector<uint8_t> blob = db->serialize();
  const blob_sections b = find_sections(blob);
  // The databases follow the hold automata, each as a u64 length and its bytes: stream, hold, starts.
  std::vector<std::pair<size_t, size_t>> dbs;  // (offset of the length, total bytes)
  for (size_t at = b.hold_at + b.hold_len; at < blob.size();) {
    uint64_t len = 0;
    for (int i = 0; i < 8; ++i) len |= uint64_t{blob[at + static_cast<size_t>(i)]} << (8 * i);
    dbs.push_back({at, 8 + len});
    at += 8 + len;
  }
  // The missing groups' database last: e-mail's automaton does not fit.
  ASSERT_EQ(db->stream_automata_missing().size(), 1u);
  ASSERT_EQ(dbs.size(), 3u + db->patterns().size());
  // Blob with database k replaced by a copy of the stream database.
  auto with_stream_db_at = [&](size_t k) {
    std::vector<uint8_t> out(blob.begin(), blob.begin() + static_cast<long>(dbs[k].first));
    out.insert(out.end(), blob.begin() + static_cast<long>(dbs[0].first),
               blob.begin() + static_cast<long>(dbs[0].first + dbs[0].second));
    out.insert(out.end(), blob.begin() + static_cast<long>(dbs[k].first + dbs[k].second), blob.end());
    reseal(out, kFormat);
    return out;
  };
  auto reason = [](const std::vector<uint8_t>& bad) {
    auto r = pattern_db::deserialize(bad);
    return std::holds_alternative<load_error>(r) ? std::get<load_error>(r).reason : std::string("accepted");
  };
  EXPECT_EQ(reason(with_stream_db_at(1)), "hold database is not a block-mode database");
  EXPECT_EQ(reason(with_stream_db_at(2)), "start database 0 is not a block-mode database");
  EXPECT_EQ(reason(with_stream_db_at(5)), "start database 3 is not a block-mode database");
  // The hold database (block mode) where the missing groups' stream database belongs.
  {
    std::vector<uint8_t> out(blob.begin(), blob.begin() + static_cast<long>(dbs[6].first));
    out.insert(out.end(), blob.begin() + static_cast<long>(dbs[1].first),
               blob.begin() + static_cast<long>(dbs[1].first + dbs[1].second));
    reseal(out, kFormat);
    EXPECT_EQ(reason(out), "missing groups' database is not a streaming database");
    out.resize(dbs[6].first);  // and without it
    reseal(out, kFormat);
    EXPECT_EQ(reason(out), "missing groups' stream database does not deserialize");
  }
  // Control: the hold database moved into a start slot is block mode and loads.
  std::vector<uint8_t> swapped(blob.begin(), blob.begin() + static_cast<long>(dbs[2].first));
  swapped.insert(swapped.end(), blob.begin() + static_cast<long>(dbs[1].first),
                 blob.begin() + static_cast<long>(dbs[1].first + dbs[1].second));
  swapped.insert(swapped.end(), blob.begin() + static_cast<long>(dbs[2].first + dbs[2].second), blob.end());
  reseal(swapped, kFormat);
  EXPECT_EQ(reason(swapped), "accepted");
}

// Any Hyperscan call that fails leaves the scan without an answer: the body fails closed. Here the
// thread's scratches belong to a one-literal database, too small for the set: every call fails.
TEST(pattern_db_sets, hyperscan_errors_fail_the_body_closed) {
  auto db = compile_ok(small_set());
  ASSERT_TRUE(db);
  hs_database_t* tiny_stream = nullptr;
  hs_database_t* tiny_block = nullptr;
  hs_compile_error_t* cerr = nullptr;
  ASSERT_EQ(hs_compile("zq", 0, HS_MODE_STREAM, nullptr, &tiny_stream, &cerr), HS_SUCCESS);
  ASSERT_EQ(hs_compile("zq", 0, HS_MODE_BLOCK, nullptr, &tiny_block, &cerr), HS_SUCCESS);
  hs_scratch_t* small_stream = nullptr;
  hs_scratch_t* small_block = nullptr;
  ASSERT_EQ(hs_alloc_scratch(tiny_stream, &small_stream), HS_SUCCESS);
  ASSERT_EQ(hs_alloc_scratch(tiny_block, &small_block), HS_SUCCESS);
  for (const bool mismatched : {true, false}) {
    SCOPED_TRACE(mismatched ? "scratches of another database" : "control: its own scratches");
    scan_scratch* s = scan_scratch_create(*db);
    ASSERT_NE(s, nullptr);
    if (mismatched) scan_scratch_use(*s, small_stream, small_block);
    scan_sink sink;
    sink.db = db.get();
    channel_state ch;
    channel_init(ch);
    ASSERT_TRUE(channel_open(ch, *db));
    channel_begin(*s, 0, ch, sink);
    const std::string text = "ssn 123-45-6789, mail jo@exam";
    channel_put_run(*s, 0, reinterpret_cast<const uint8_t*>(text.data()), text.size(), 0, source_kind::text);
    EXPECT_EQ(channel_end(*s, 0), !mismatched);
    EXPECT_EQ(ch.scan_failed, mismatched);
    EXPECT_EQ(scan_scratch_counters(*s).hs_errors > 0, mismatched);
    if (mismatched) scan_scratch_use(*s, nullptr, nullptr);  // its own again, to close the stream
    EXPECT_EQ(channel_close(*s, 0, ch, sink), !mismatched);
    scan_scratch_destroy(s);
  }
  hs_free_scratch(small_stream);
  hs_free_scratch(small_block);
  hs_free_database(tiny_stream);
  hs_free_database(tiny_block);
}

TEST(pattern_db_sets, bad_origin_or_member_sets_are_rejected) {
  auto db = merged_db();
  ASSERT_TRUE(db);
  std::vector<uint8_t> blob = db->serialize();
  // Rename the db without renaming its members: the name no longer matches.
  const size_t name_at = 24 + 4;
  ASSERT_EQ(blob[name_at], 'u');
  blob[name_at] = 'v';
  put_le(blob, 12, core::crc32(blob.data() + 24, blob.size() - 24), 4);
  auto r = pattern_db::deserialize(blob);
  ASSERT_TRUE(std::holds_alternative<load_error>(r));
  EXPECT_EQ(std::get<load_error>(r).reason, "set name does not match the member sets");
}

}  // namespace
}  // namespace phigate::scan
