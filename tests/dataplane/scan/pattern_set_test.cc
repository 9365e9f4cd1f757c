// pattern_set: the loader accepts the documented format and rejects each malformed input
// with a precise `where` and a reason that never quotes example values.
#include "dataplane/scan/pattern_set.hh"

#include <gtest/gtest.h>
#include <hs.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace phigate::scan {
namespace {

using json = nlohmann::json;

// A valid two-entry set, with both comment styles.
const char* const valid_set = R"({
  // line comment
  "name": "test-set",
  "version": 3,
  "description": "unit test set",
  /* block comment */
  "patterns": [
    {
      "id": "ssn-delimited",
      "entity": "ssn",
      "safe_harbor": "ssn",
      "expression": "\\b\\d{3}[- .]\\d{2}[- .]\\d{4}\\b",
      "max_length": 11,
      "validator": "ssn",
      "mask": "alnum",
      "examples": {
        "match": ["123-45-6789", {"text": "ssn: 123 45 6789.", "value": "123 45 6789"}],
        "no_match": ["123-456-789"]
      }
    },
    {
      "id": "mrn-context",
      "entity": "mrn",
      "safe_harbor": "mrn",
      "expression": "\\b[a-z]{2}\\d{6,8}\\b",
      "flags": ["caseless"],
      "max_length": 12,
      "context": {"keywords": ["MRN", "medical record"], "window": 32},
      "mask": "all",
      "examples": {"match": ["AB1234567"], "no_match": ["A1234567"]}
    }
  ]
})";

json base() { return json::parse(valid_set, nullptr, true, true); }

load_error expect_error(const std::string& text) {
  auto r = pattern_set_parse(text, "test.json");
  if (!std::holds_alternative<load_error>(r)) {
    ADD_FAILURE() << "accepted: " << text;
    return {};
  }
  return std::get<load_error>(r);
}

TEST(pattern_set, parses_the_documented_format) {
  auto r = pattern_set_parse(valid_set, "test.json");
  ASSERT_TRUE(std::holds_alternative<pattern_set>(r)) << std::get<load_error>(r).where << ": "
                                                      << std::get<load_error>(r).reason;
  const pattern_set& s = std::get<pattern_set>(r);
  EXPECT_EQ(s.name, "test-set");
  EXPECT_EQ(s.version, 3);
  EXPECT_EQ(s.description, "unit test set");
  ASSERT_EQ(s.entries.size(), 2u);
  const pattern_entry& a = s.entries[0];
  EXPECT_EQ(a.id, "ssn-delimited");
  EXPECT_EQ(a.entity, "ssn");
  EXPECT_EQ(a.safe_harbor, "ssn");
  EXPECT_EQ(a.expression, R"(\b\d{3}[- .]\d{2}[- .]\d{4}\b)");
  EXPECT_EQ(a.flags, 0u);
  EXPECT_EQ(a.max_length, 11);
  EXPECT_EQ(a.validator, validate::validator::ssn);
  EXPECT_EQ(a.mask, mask_style::alnum);
  EXPECT_TRUE(a.keywords.empty());
  EXPECT_EQ(a.context_window, 0);
  ASSERT_EQ(a.match.size(), 2u);
  EXPECT_EQ(a.match[0].text, "123-45-6789");
  EXPECT_EQ(a.match[0].value, "");
  EXPECT_EQ(a.match[1].text, "ssn: 123 45 6789.");
  EXPECT_EQ(a.match[1].value, "123 45 6789");
  ASSERT_EQ(a.no_match.size(), 1u);
  const pattern_entry& b = s.entries[1];
  EXPECT_EQ(b.flags, static_cast<unsigned>(HS_FLAG_CASELESS));
  EXPECT_EQ(b.validator, validate::validator::none);
  EXPECT_EQ(b.mask, mask_style::all);
  EXPECT_EQ(b.keywords, (std::vector<std::string>{"mrn", "medical record"}));  // lowercased
  EXPECT_EQ(b.context_window, 32);
}

struct error_case {
  const char* name;
  std::function<void(json&)> mutate;
  std::string where;
  std::string reason_part;
};

TEST(pattern_set, rejects_each_error_with_where_and_reason) {
  const std::string e0 = "patterns[0] (id ssn-delimited)";
  const std::string e1 = "patterns[1] (id mrn-context)";
  auto p0 = [](json& j) -> json& { return j["patterns"][0]; };
  auto p1 = [](json& j) -> json& { return j["patterns"][1]; };
  const std::vector<error_case> cases = {
      {"unknown top-level field", [](json& j) { j["nmae"] = "x"; }, "nmae", "unknown field"},
      {"missing name", [](json& j) { j.erase("name"); }, "name", "missing"},
      {"bad name", [](json& j) { j["name"] = "Bad Name"; }, "name", "[a-z0-9-]"},
      {"name too long", [](json& j) { j["name"] = std::string(48, 'a'); }, "name", "[a-z0-9-]"},
      {"version zero", [](json& j) { j["version"] = 0; }, "version", ">= 1"},
      {"version float", [](json& j) { j["version"] = 1.5; }, "version", "integer"},
      {"version string", [](json& j) { j["version"] = "1"; }, "version", "integer"},
      {"description not string", [](json& j) { j["description"] = 5; }, "description", "string"},
      {"patterns missing", [](json& j) { j.erase("patterns"); }, "patterns", "missing"},
      {"patterns empty", [](json& j) { j["patterns"] = json::array(); }, "patterns", "1..512"},
      {"too many patterns",
       [&](json& j) {
         json one = p0(j);
         j["patterns"] = json::array();
         for (int i = 0; i < 513; ++i) {
           one["id"] = "p" + std::to_string(i);
           j["patterns"].push_back(one);
         }
       },
       "patterns", "1..512"},
      {"entry not object", [](json& j) { j["patterns"][0] = 3; }, "patterns[0]", "object"},
      {"typo in optional field",
       [&](json& j) { p0(j)["validater"] = "ssn"; }, e0 + ".validater", "unknown field"},
      {"missing id", [&](json& j) { p0(j).erase("id"); }, "patterns[0].id", "missing"},
      {"bad id", [&](json& j) { p0(j)["id"] = "Bad_Id"; }, "patterns[0].id", "[a-z0-9]"},
      {"id leading dash", [&](json& j) { p0(j)["id"] = "-x"; }, "patterns[0].id", "[a-z0-9]"},
      {"duplicate id", [&](json& j) { p1(j)["id"] = "ssn-delimited"; },
       "patterns[1] (id ssn-delimited).id", "duplicate id"},
      {"missing entity", [&](json& j) { p0(j).erase("entity"); }, e0 + ".entity", "missing"},
      {"bad entity", [&](json& j) { p0(j)["entity"] = "s-s-n"; }, e0 + ".entity", "[a-z0-9_]"},
      {"entity too long", [&](json& j) { p0(j)["entity"] = std::string(24, 'a'); },
       e0 + ".entity", "[a-z0-9_]"},
      {"missing safe_harbor", [&](json& j) { p0(j).erase("safe_harbor"); },
       e0 + ".safe_harbor", "missing"},
      {"unknown safe_harbor", [&](json& j) { p0(j)["safe_harbor"] = "social"; },
       e0 + ".safe_harbor", "unknown safe_harbor"},
      {"missing expression", [&](json& j) { p0(j).erase("expression"); },
       e0 + ".expression", "missing"},
      {"expression not string", [&](json& j) { p0(j)["expression"] = 1; },
       e0 + ".expression", "string"},
      {"unsupported expression", [&](json& j) { p0(j)["expression"] = R"(\d{3}.\d{2})"; },
       e0 + ".expression", "offset 5: '.'"},
      {"negated class", [&](json& j) { p0(j)["expression"] = R"(\d{3}[^a]\d{2})"; },
       e0 + ".expression", "offset 6: negated"},
      {"lookahead", [&](json& j) { p0(j)["expression"] = R"(\d{3}(?=x))"; },
       e0 + ".expression", "offset 5: lookahead"},
      {"hyperscan rejects", [&](json& j) { p0(j)["expression"] = R"(\d$\d)"; },
       e0 + ".expression", "Embedded end anchors"},
      {"unbounded width", [&](json& j) { p0(j)["expression"] = R"(\d+)"; },
       e0 + ".expression", "unbounded"},
      {"empty match", [&](json& j) { p0(j)["expression"] = R"(\d{0,4})"; },
       e0 + ".expression", "empty string"},
      {"max_length below width", [&](json& j) { p0(j)["max_length"] = 10; },
       e0 + ".max_length", "below the expression's maximum width 11"},
      {"max_length missing", [&](json& j) { p0(j).erase("max_length"); },
       e0 + ".max_length", "missing"},
      {"max_length zero", [&](json& j) { p0(j)["max_length"] = 0; }, e0 + ".max_length",
       "1..255"},
      {"max_length 256", [&](json& j) { p0(j)["max_length"] = 256; }, e0 + ".max_length",
       "1..255"},
      {"max_length negative", [&](json& j) { p0(j)["max_length"] = -3; }, e0 + ".max_length",
       "1..255"},
      {"unknown validator", [&](json& j) { p0(j)["validator"] = "ssn2"; }, e0 + ".validator",
       "unknown validator"},
      {"unknown flag", [&](json& j) { p0(j)["flags"] = {"caseless", "dotall"}; },
       e0 + ".flags[1]", "unknown flag"},
      {"duplicate flag", [&](json& j) { p0(j)["flags"] = {"caseless", "caseless"}; },
       e0 + ".flags[1]", "duplicate flag"},
      {"flags not array", [&](json& j) { p0(j)["flags"] = "caseless"; }, e0 + ".flags",
       "array"},
      {"unknown mask", [&](json& j) { p0(j)["mask"] = "digits"; }, e0 + ".mask", "alnum"},
      {"window zero", [&](json& j) { p1(j)["context"]["window"] = 0; }, e1 + ".context.window",
       "1..64"},
      {"window 65", [&](json& j) { p1(j)["context"]["window"] = 65; }, e1 + ".context.window",
       "1..64"},
      {"window missing", [&](json& j) { p1(j)["context"].erase("window"); },
       e1 + ".context.window", "missing"},
      {"keywords missing", [&](json& j) { p1(j)["context"].erase("keywords"); },
       e1 + ".context.keywords", "missing"},
      {"keywords empty", [&](json& j) { p1(j)["context"]["keywords"] = json::array(); },
       e1 + ".context", "at least one keyword"},
      {"keyword not string", [&](json& j) { p1(j)["context"]["keywords"] = {"mrn", 7}; },
       e1 + ".context.keywords[1]", "string"},
      {"keyword empty", [&](json& j) { p1(j)["context"]["keywords"] = {"mrn", ""}; },
       e1 + ".context.keywords[1]", "empty"},
      {"keyword longer than window",
       [&](json& j) { p1(j)["context"]["window"] = 3; }, e1 + ".context.keywords[1]",
       "longer than the context window"},
      {"duplicate keyword", [&](json& j) { p1(j)["context"]["keywords"] = {"mrn", "MRN"}; },
       e1 + ".context.keywords[1]", "duplicate keyword"},
      {"context typo", [&](json& j) { p1(j)["context"]["windw"] = 3; }, e1 + ".context.windw",
       "unknown field"},
      {"examples missing", [&](json& j) { p0(j).erase("examples"); }, e0 + ".examples",
       "missing"},
      {"match missing", [&](json& j) { p0(j)["examples"].erase("match"); },
       e0 + ".examples.match", "missing"},
      {"no_match missing", [&](json& j) { p0(j)["examples"].erase("no_match"); },
       e0 + ".examples.no_match", "missing"},
      {"match empty", [&](json& j) { p0(j)["examples"]["match"] = json::array(); },
       e0 + ".examples.match", "at least one"},
      {"no_match empty", [&](json& j) { p0(j)["examples"]["no_match"] = json::array(); },
       e0 + ".examples.no_match", "at least one"},
      {"value not in text",
       [&](json& j) { p0(j)["examples"]["match"][1]["value"] = "987-65-4321"; },
       e0 + ".examples.match[1].value", "does not occur"},
      {"example object in no_match",
       [&](json& j) { p0(j)["examples"]["no_match"] = {{{"text", "a"}, {"value", "a"}}}; },
       e0 + ".examples.no_match[0]", "string"},
      {"example object typo",
       [&](json& j) { p0(j)["examples"]["match"][1]["valeu"] = "x"; },
       e0 + ".examples.match[1].valeu", "unknown field"},
      {"example empty string", [&](json& j) { p0(j)["examples"]["match"][0] = ""; },
       e0 + ".examples.match[0]", "empty"},
  };
  for (const error_case& c : cases) {
    json j = base();
    c.mutate(j);
    load_error e = expect_error(j.dump());
    EXPECT_EQ(e.where, c.where) << c.name << " (reason: " << e.reason << ")";
    EXPECT_NE(e.reason.find(c.reason_part), std::string::npos)
        << c.name << ": reason was " << e.reason;
  }
}

TEST(pattern_set, syntax_errors_name_the_byte_and_never_quote_values) {
  // The broken literal sits inside an example that looks like PHI.
  std::string text = valid_set;
  size_t at = text.find("\"123-456-789\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 13, "123-456-789");  // unquoted: invalid JSON right at the SSN
  load_error e = expect_error(text);
  EXPECT_EQ(e.where, "test.json");
  EXPECT_NE(e.reason.find("JSON syntax error at byte"), std::string::npos) << e.reason;
  EXPECT_EQ(e.reason.find("456"), std::string::npos) << e.reason;

  load_error dup = expect_error(R"({"name":"a","name":"b","version":1,"patterns":[]})");
  EXPECT_EQ(dup.where, "test.json");
  EXPECT_NE(dup.reason.find("duplicate key \"name\""), std::string::npos) << dup.reason;

  load_error top = expect_error("[1,2]");
  EXPECT_NE(top.reason.find("object"), std::string::npos);

  // Reasons for value checks name the field, not the value.
  json j = base();
  j["patterns"][0]["examples"]["match"][1]["value"] = "111-22-3333";
  load_error v = expect_error(j.dump());
  EXPECT_EQ(v.reason.find("111-22-3333"), std::string::npos) << v.reason;
}

TEST(pattern_set, check_validates_sets_built_in_code) {
  auto r = pattern_set_parse(valid_set, "x");
  ASSERT_TRUE(std::holds_alternative<pattern_set>(r));
  pattern_set s = std::get<pattern_set>(r);
  EXPECT_FALSE(pattern_set_check(s).has_value());
  s.entries[1].flags |= HS_FLAG_SOM_LEFTMOST;  // never allowed: SOM is what the design avoids
  auto e = pattern_set_check(s);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->where, "patterns[1] (id mrn-context).flags");
  s = std::get<pattern_set>(r);
  s.entries[0].keywords = {"mrn"};  // keywords without a window
  e = pattern_set_check(s);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->where, "patterns[0] (id ssn-delimited).context");
  s = std::get<pattern_set>(r);
  s.entries[1].keywords = {"MRN"};  // must already be lowercased
  e = pattern_set_check(s);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->where, "patterns[1] (id mrn-context).context.keywords[0]");
}

TEST(pattern_set, load_reads_files_and_reports_missing_ones) {
  char path[] = "/tmp/phigate_pattern_set_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path, std::ios::binary);
    out << valid_set;
  }
  auto r = pattern_set_load(path);
  ASSERT_TRUE(std::holds_alternative<pattern_set>(r));
  EXPECT_EQ(std::get<pattern_set>(r).entries.size(), 2u);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "{\"name\": ";
  }
  auto bad = pattern_set_load(path);
  ASSERT_TRUE(std::holds_alternative<load_error>(bad));
  EXPECT_EQ(std::get<load_error>(bad).where, path);
  std::remove(path);
  auto missing = pattern_set_load("/nonexistent/phigate/set.json");
  ASSERT_TRUE(std::holds_alternative<load_error>(missing));
  EXPECT_EQ(std::get<load_error>(missing).where, "/nonexistent/phigate/set.json");
  EXPECT_NE(std::get<load_error>(missing).reason.find("cannot open"), std::string::npos);
}

TEST(pattern_set, where_helpers) {
  EXPECT_EQ(pattern_entry_where(3, "ssn-delimited"), "patterns[3] (id ssn-delimited)");
  EXPECT_EQ(pattern_entry_where(3, "Bad Id"), "patterns[3]");
  EXPECT_TRUE(pattern_id_valid(std::string(47, 'a')));
  EXPECT_FALSE(pattern_id_valid(std::string(48, 'a')));
  EXPECT_TRUE(safe_harbor_valid("other_id"));
  EXPECT_FALSE(safe_harbor_valid("phone"));
}

// Several pattern sets per appliance (dp config "patterns": [...]): merged before compiling.
pattern_set parsed_valid(std::string name) {
  auto r = pattern_set_parse(valid_set, "valid");
  EXPECT_TRUE(std::holds_alternative<pattern_set>(r));
  pattern_set s = std::get<pattern_set>(r);
  s.name = std::move(name);
  return s;
}

pattern_set second_set() {
  pattern_set s;
  s.name = "oncology-research";
  s.version = 2;
  pattern_entry e;
  e.id = "onc-subject";
  e.entity = "study_subject";
  e.safe_harbor = "other_id";
  e.expression = R"(\bONC-\d{6}\b)";
  e.max_length = 10;
  e.keywords = {"subject"};
  e.context_window = 32;
  e.match = {{"subject ONC-123456", "ONC-123456"}};
  e.no_match = {{"ONC-12345", ""}};
  s.entries.push_back(e);
  e.id = "onc-registry";
  e.entity = "mrn";
  e.safe_harbor = "mrn";
  e.expression = R"(\bTR-\d{7}\b)";
  e.keywords = {"registry"};
  e.match = {{"registry TR-1234567", "TR-1234567"}};
  s.entries.push_back(e);
  return s;
}

TEST(pattern_set_merge, one_set_is_returned_unchanged) {
  const pattern_set core = parsed_valid("test-set");
  auto r = pattern_set_merge({core});
  ASSERT_TRUE(std::holds_alternative<pattern_set>(r)) << std::get<load_error>(r).reason;
  const pattern_set& m = std::get<pattern_set>(r);
  EXPECT_EQ(m.name, "test-set");
  EXPECT_EQ(m.version, 3);
  EXPECT_EQ(m.description, core.description);
  EXPECT_TRUE(m.origins.empty());
  ASSERT_EQ(m.entries.size(), core.entries.size());
  for (size_t i = 0; i < m.entries.size(); ++i) {
    EXPECT_EQ(m.entries[i].id, core.entries[i].id);
    EXPECT_EQ(m.entries[i].origin, 0);
  }
}

TEST(pattern_set_merge, two_sets_keep_order_and_origins) {
  auto r = pattern_set_merge({parsed_valid("test-set"), second_set()});
  ASSERT_TRUE(std::holds_alternative<pattern_set>(r)) << std::get<load_error>(r).where << ": "
                                                      << std::get<load_error>(r).reason;
  const pattern_set& m = std::get<pattern_set>(r);
  EXPECT_EQ(m.name, "test-set+oncology-research");
  EXPECT_EQ(m.version, 1);
  ASSERT_EQ(m.origins.size(), 2u);
  EXPECT_EQ(m.origins[0].name, "test-set");
  EXPECT_EQ(m.origins[0].version, 3);
  EXPECT_EQ(m.origins[1].name, "oncology-research");
  EXPECT_EQ(m.origins[1].version, 2);
  ASSERT_EQ(m.entries.size(), 4u);
  const char* ids[] = {"ssn-delimited", "mrn-context", "onc-subject", "onc-registry"};
  const uint8_t origins[] = {0, 0, 1, 1};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(m.entries[i].id, ids[i]);
    EXPECT_EQ(m.entries[i].origin, origins[i]) << ids[i];
  }
  EXPECT_EQ(pattern_set_check(m), std::nullopt);
  // A merged set is not merged again.
  auto again = pattern_set_merge({m, parsed_valid("other")});
  ASSERT_TRUE(std::holds_alternative<load_error>(again));
  EXPECT_EQ(std::get<load_error>(again).reason, "is already a merged set");
}

TEST(pattern_set_merge, duplicate_set_name_is_an_error_naming_both) {
  auto r = pattern_set_merge({second_set(), parsed_valid("test-set"), second_set()});
  ASSERT_TRUE(std::holds_alternative<load_error>(r));
  EXPECT_EQ(std::get<load_error>(r).where, "oncology-research");
  EXPECT_EQ(std::get<load_error>(r).reason, "pattern set name given twice (sets 0 and 2)");
}

TEST(pattern_set_merge, duplicate_id_across_sets_is_an_error_naming_both) {
  pattern_set onc = second_set();
  onc.entries[1].id = "mrn-context";  // also an id of test-set (its entry 1)
  auto r = pattern_set_merge({parsed_valid("test-set"), onc});
  ASSERT_TRUE(std::holds_alternative<load_error>(r));
  EXPECT_EQ(std::get<load_error>(r).where, "oncology-research: patterns[1] (id mrn-context).id");
  EXPECT_EQ(std::get<load_error>(r).reason,
            "duplicate id: also in pattern set test-set (patterns[1] (id mrn-context))");
}

TEST(pattern_set_merge, other_errors) {
  auto none = pattern_set_merge({});
  ASSERT_TRUE(std::holds_alternative<load_error>(none));
  EXPECT_EQ(std::get<load_error>(none).reason, "no pattern set given");

  pattern_set bad = second_set();
  bad.entries[0].entity = "Bad Entity";
  auto r = pattern_set_merge({parsed_valid("test-set"), bad});
  ASSERT_TRUE(std::holds_alternative<load_error>(r));
  EXPECT_EQ(std::get<load_error>(r).where, "oncology-research: patterns[0] (id onc-subject).entity");

  std::vector<pattern_set> many;
  for (int i = 0; i < 17; ++i) many.push_back(parsed_valid("s" + std::to_string(i)));
  auto too_many = pattern_set_merge(many);
  ASSERT_TRUE(std::holds_alternative<load_error>(too_many));
  EXPECT_EQ(std::get<load_error>(too_many).reason, "more than 16 pattern sets");

  // 2 x 300 entries: each set is fine, together they exceed the per-db limit.
  pattern_set big_a = second_set(), big_b = second_set();
  big_a.name = "big-a";
  big_b.name = "big-b";
  big_a.entries.resize(1);
  big_b.entries.resize(1);
  for (int i = 1; i < 300; ++i) {
    big_a.entries.push_back(big_a.entries[0]);
    big_a.entries.back().id = "a" + std::to_string(i);
    big_b.entries.push_back(big_b.entries[0]);
    big_b.entries.back().id = "b" + std::to_string(i);
  }
  big_b.entries[0].id = "b0";
  auto big = pattern_set_merge({big_a, big_b});
  ASSERT_TRUE(std::holds_alternative<load_error>(big));
  EXPECT_EQ(std::get<load_error>(big).reason, "the sets hold 600 entries together, more than 512");
}

TEST(pattern_set_merge, check_rejects_inconsistent_merged_sets) {
  auto r = pattern_set_merge({parsed_valid("test-set"), second_set()});
  ASSERT_TRUE(std::holds_alternative<pattern_set>(r));
  pattern_set m = std::get<pattern_set>(r);
  pattern_set bad = m;
  bad.entries[3].origin = 2;
  ASSERT_NE(pattern_set_check(bad), std::nullopt);
  EXPECT_EQ(pattern_set_check(bad)->where, "patterns[3] (id onc-registry).origin");
  bad = m;
  bad.name = "test-set";
  ASSERT_NE(pattern_set_check(bad), std::nullopt);
  EXPECT_EQ(pattern_set_check(bad)->where, "name");
  bad = m;
  bad.origins[1].name = "test-set";
  ASSERT_NE(pattern_set_check(bad), std::nullopt);
  EXPECT_EQ(pattern_set_check(bad)->reason, "duplicate set name");
  bad = m;
  bad.origins.resize(1);
  bad.name = "test-set";
  ASSERT_NE(pattern_set_check(bad), std::nullopt);
  EXPECT_EQ(pattern_set_check(bad)->where, "origins");
  // A single (unmerged) set may only use origin 0.
  pattern_set single = parsed_valid("test-set");
  single.entries[0].origin = 1;
  ASSERT_NE(pattern_set_check(single), std::nullopt);
  EXPECT_EQ(pattern_set_check(single)->where, "patterns[0] (id ssn-delimited).origin");
}

TEST(pattern_set_merge, load_all_names_the_file_and_merges) {
  const std::string core = std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json";
  const std::string onc = std::string(PHIGATE_TEST_DATA) + "/oncology-research.json";
  auto both = pattern_set_load_all({core, onc});
  ASSERT_TRUE(std::holds_alternative<pattern_set>(both)) << std::get<load_error>(both).reason;
  EXPECT_EQ(std::get<pattern_set>(both).name, "us-phi-core+oncology-research");
  auto missing = pattern_set_load_all({core, "/nonexistent/set.json"});
  ASSERT_TRUE(std::holds_alternative<load_error>(missing));
  EXPECT_TRUE(std::get<load_error>(missing).where.starts_with("/nonexistent/set.json: "))
      << std::get<load_error>(missing).where;
}

TEST(pattern_set_merge, fixture_second_set_loads) {
  auto r = pattern_set_load(std::string(PHIGATE_TEST_DATA) + "/oncology-research.json");
  ASSERT_TRUE(std::holds_alternative<pattern_set>(r)) << std::get<load_error>(r).where << ": "
                                                      << std::get<load_error>(r).reason;
  EXPECT_EQ(std::get<pattern_set>(r).name, "oncology-research");
  EXPECT_EQ(std::get<pattern_set>(r).entries.size(), 2u);
}

}  // namespace
}  // namespace phigate::scan
