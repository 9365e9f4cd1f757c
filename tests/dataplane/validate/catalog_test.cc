// patterns/us-phi-core.json checked without the engine: the JSON follows the
// pattern-set contract, every expression stays inside the allowed subset and
// compiles with Hyperscan (streaming mode without SOM, as the engine uses it),
// max_length covers the true max width, and every example behaves: a `match`
// value is a matched span that its validator accepts; no span of a `no_match`
// text passes the validator. Context keywords are NOT applied here (the engine
// does that), so context-gated entries must fail their no_match examples on shape
// or validator alone.
//
// Spans: HS_FLAG_SOM_LEFTMOST would give only the leftmost start per end and the
// URL expression is too large to compile with it. Instead each expression is also
// compiled anchored, as "^(?:E)" and, with DOTALL, "^.(?:E)"; scanning the text from
// every offset s (the second form starts one byte early so \b sees the real byte
// before s) yields EVERY (start, end) the expression can match with its true left
// and right context. That is a superset of whatever start the engine's backward
// validation picks, so no_match examples are checked against all of them.
#include <hs/hs.h>

#include <gtest/gtest.h>

#include <cctype>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/validate/validators.hh"
#include "tests/support/phi_values.hh"

#ifndef PHIGATE_CATALOG_PATH
#error "PHIGATE_CATALOG_PATH must name patterns/us-phi-core.json"
#endif

namespace phigate::validate {
namespace {

using json = nlohmann::json;
using span = std::pair<size_t, size_t>;  // [start, end)

struct db_deleter {
  void operator()(hs_database_t* d) const { hs_free_database(d); }
};
struct scratch_deleter {
  void operator()(hs_scratch_t* s) const { hs_free_scratch(s); }
};
using db_ptr = std::unique_ptr<hs_database_t, db_deleter>;
using scratch_ptr = std::unique_ptr<hs_scratch_t, scratch_deleter>;

struct entry {
  std::string id;
  std::string entity;
  std::string expression;
  unsigned flags = 0;
  unsigned max_length = 0;
  validator v = validator::none;
  bool has_context = false;
  std::string compile_error;
  json j;
  db_ptr db;   // "^(?:E)": spans starting at offset 0
  db_ptr db1;  // "^.(?:E)" DOTALL: spans starting at s > 0, byte s-1 as left context
  scratch_ptr scratch;
};

json load_catalog() {
  std::ifstream in(PHIGATE_CATALOG_PATH);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str(), /*cb=*/nullptr, /*allow_exceptions=*/true,
                     /*ignore_comments=*/true);
}

// The expression subset of docs/pattern-format.md, plus the catalog's own rule that
// every repeat is bounded. Returns "" or the reason.
std::string lint_expression(const std::string& e) {
  auto is_quant_end = [&](size_t i) -> std::string {
    if (i + 1 < e.size() && (e[i + 1] == '?' || e[i + 1] == '+'))
      return "lazy or possessive quantifier at " + std::to_string(i);
    return "";
  };
  auto check_escape = [&](size_t i, bool in_class) -> std::string {
    if (i + 1 >= e.size()) return "trailing backslash";
    const char c = e[i + 1];
    if (c == 'D' || c == 'W' || c == 'S') return std::string("\\") + c + " is rejected";
    if (c >= '0' && c <= '9') return "backreference or octal escape";
    if (c == 'x') {
      if (i + 3 >= e.size() || !std::isxdigit(static_cast<unsigned char>(e[i + 2])) ||
          !std::isxdigit(static_cast<unsigned char>(e[i + 3])))
        return "\\x needs two hex digits";
      return "";
    }
    if (std::isalpha(static_cast<unsigned char>(c))) {
      const std::string ok = in_class ? "dws" : "dwsbB";
      if (ok.find(c) == std::string::npos) return std::string("escape \\") + c + " not in subset";
    }
    return "";
  };
  for (size_t i = 0; i < e.size(); ++i) {
    const char c = e[i];
    if (c == '\\') {
      if (auto r = check_escape(i, false); !r.empty()) return r;
      ++i;
      continue;
    }
    if (c == '.') return "'.' is rejected (would match the field separator)";
    if (c == '[') {
      if (i + 1 < e.size() && e[i + 1] == '^') return "negated class is rejected";
      size_t k = i + 1;
      if (k < e.size() && e[k] == ']') ++k;
      for (; k < e.size() && e[k] != ']'; ++k) {
        if (e[k] == '\\') {
          if (auto r = check_escape(k, true); !r.empty()) return r;
          ++k;
        } else if (e[k] == '[' && k + 1 < e.size() && e[k + 1] == ':') {
          return "POSIX class not in subset";
        }
      }
      if (k >= e.size()) return "unterminated class";
      i = k;
      continue;
    }
    if (c == '(') {
      if (i + 1 < e.size() && e[i + 1] == '?') {
        if (i + 2 >= e.size() || e[i + 2] != ':') return "only (?: ) groups are allowed";
        i += 2;
      }
      continue;
    }
    if (c == '*' || c == '+') return "unbounded repeat";
    if (c == '?') {
      if (auto r = is_quant_end(i); !r.empty()) return r;
      continue;
    }
    if (c == '{') {
      const size_t close = e.find('}', i);
      if (close == std::string::npos) return "unterminated {";
      const std::string body = e.substr(i + 1, close - i - 1);
      if (!std::regex_match(body, std::regex("[0-9]{1,3}(,[0-9]{1,3})?")))
        return "repeat {" + body + "} is not bounded {n} or {n,m}";
      i = close;
      if (auto r = is_quant_end(i); !r.empty()) return r;
      continue;
    }
  }
  return "";
}

db_ptr compile(const std::string& expr, unsigned flags, unsigned mode, std::string& err) {
  hs_database_t* db = nullptr;
  hs_compile_error_t* ce = nullptr;
  if (hs_compile(expr.c_str(), flags, mode, nullptr, &db, &ce) != HS_SUCCESS) {
    err = ce ? ce->message : "unknown";
    hs_free_compile_error(ce);
    return nullptr;
  }
  return db_ptr(db);
}

std::vector<span> scan(entry& e, const std::string& text) {
  struct ctx_t {
    std::vector<span>* out;
    size_t start;
    size_t skip;  // bytes of left context consumed by the anchored form
  };
  std::vector<span> out;
  auto on_match = [](unsigned, unsigned long long, unsigned long long to, unsigned,
                     void* p) -> int {
    auto* c = static_cast<ctx_t*>(p);
    if (to > c->skip) c->out->emplace_back(c->start, c->start + (to - c->skip));
    return 0;
  };
  for (size_t s = 0; s < text.size(); ++s) {
    const size_t from = s == 0 ? 0 : s - 1;
    ctx_t ctx{&out, s, s == 0 ? 0u : 1u};
    const hs_error_t rc =
        hs_scan((s == 0 ? e.db : e.db1).get(), text.data() + from,
                static_cast<unsigned>(text.size() - from), 0, e.scratch.get(), on_match, &ctx);
    EXPECT_EQ(rc, HS_SUCCESS) << e.id;
  }
  return out;
}

// Spans the validator accepts.
std::vector<span> findings(entry& e, const std::string& text) {
  std::vector<span> out;
  for (const auto& s : scan(e, text))
    if (validate(e.v, reinterpret_cast<const uint8_t*>(text.data()) + s.first,
                 s.second - s.first))
      out.push_back(s);
  return out;
}

class Catalog : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new json(load_catalog());
    entries_ = new std::vector<entry>();
    for (const auto& p : (*root_)["patterns"]) {
      entry e;
      e.j = p;
      e.id = p.value("id", "");
      e.entity = p.value("entity", "");
      e.expression = p.value("expression", "");
      e.max_length = p.value("max_length", 0u);
      e.has_context = p.contains("context");
      for (const auto& f : p.value("flags", json::array()))
        if (f == "caseless") e.flags |= HS_FLAG_CASELESS;
      std::string vname = p.value("validator", "none");
      validator_from_name(vname, e.v);
      e.db = compile("^(?:" + e.expression + ")", e.flags, HS_MODE_BLOCK, e.compile_error);
      e.db1 = compile("^.(?:" + e.expression + ")", e.flags | HS_FLAG_DOTALL, HS_MODE_BLOCK,
                      e.compile_error);
      if (e.db && e.db1) {
        hs_scratch_t* s = nullptr;
        hs_alloc_scratch(e.db.get(), &s);
        hs_alloc_scratch(e.db1.get(), &s);
        e.scratch.reset(s);
      } else {
        e.db.reset();
      }
      entries_->push_back(std::move(e));
    }
  }
  static void TearDownTestSuite() {
    delete entries_;
    delete root_;
  }
  static json* root_;
  static std::vector<entry>* entries_;
};
json* Catalog::root_ = nullptr;
std::vector<entry>* Catalog::entries_ = nullptr;

TEST_F(Catalog, TopLevelContract) {
  const json& r = *root_;
  ASSERT_TRUE(r.is_object());
  EXPECT_TRUE(std::regex_match(r.value("name", ""), std::regex("[a-z0-9-]{1,47}")));
  EXPECT_EQ(r.value("name", ""), "us-phi-core");
  ASSERT_TRUE(r.contains("version") && r["version"].is_number_integer());
  EXPECT_GE(r["version"].get<int>(), 1);
  EXPECT_TRUE(r.contains("description") && r["description"].is_string());
  ASSERT_TRUE(r["patterns"].is_array());
  EXPECT_GE(r["patterns"].size(), 1u);
  EXPECT_LE(r["patterns"].size(), 512u);
}

TEST_F(Catalog, EntriesFollowTheContract) {
  static const std::set<std::string> kSafeHarbor = {
      "names",   "geographic", "dates",   "telephone", "fax",     "email",
      "ssn",     "mrn",        "health_plan", "account", "license", "vehicle",
      "device",  "url",        "ip",      "biometric", "photo",   "other_id"};
  static const std::set<std::string> kKnownFields = {
      "id", "entity", "safe_harbor", "expression", "flags", "max_length",
      "validator", "context", "mask", "examples"};
  std::set<std::string> ids;
  for (const auto& e : *entries_) {
    const json& p = e.j;
    SCOPED_TRACE(e.id);
    for (const auto& [k, _] : p.items()) EXPECT_TRUE(kKnownFields.count(k)) << "field " << k;
    EXPECT_TRUE(std::regex_match(e.id, std::regex("[a-z0-9][a-z0-9-]{0,46}")));
    EXPECT_TRUE(ids.insert(e.id).second) << "duplicate id";
    EXPECT_TRUE(std::regex_match(e.entity, std::regex("[a-z0-9_]{1,23}")));
    EXPECT_TRUE(kSafeHarbor.count(p.value("safe_harbor", ""))) << "safe_harbor";
    EXPECT_FALSE(e.expression.empty());
    for (const auto& f : p.value("flags", json::array())) EXPECT_EQ(f, "caseless");
    validator v;
    EXPECT_TRUE(validator_from_name(p.value("validator", "none"), v)) << "validator name";
    const unsigned limit = (e.entity == "email" || e.entity == "url") ? 128 : 64;
    EXPECT_GE(e.max_length, 1u);
    EXPECT_LE(e.max_length, limit);
    if (p.contains("mask")) {
      const std::string m = p["mask"];
      EXPECT_TRUE(m == "alnum" || m == "all") << m;
    }
    if (e.has_context) {
      const json& c = p["context"];
      ASSERT_TRUE(c["keywords"].is_array());
      EXPECT_GE(c["keywords"].size(), 1u);
      for (const auto& k : c["keywords"]) {
        const std::string kw = k;
        EXPECT_FALSE(kw.empty());
        for (char ch : kw) EXPECT_TRUE(static_cast<unsigned char>(ch) < 0x80) << kw;
      }
      const int w = c.value("window", 0);
      EXPECT_GE(w, 1);
      EXPECT_LE(w, 64);
    }
    ASSERT_TRUE(p.contains("examples"));
    EXPECT_GE(p["examples"]["match"].size(), 3u);
    EXPECT_GE(p["examples"]["no_match"].size(), 3u);
    for (const auto& n : p["examples"]["no_match"]) EXPECT_TRUE(n.is_string());
  }
}

TEST_F(Catalog, ExpressionsStayInTheSubset) {
  for (const auto& e : *entries_) EXPECT_EQ(lint_expression(e.expression), "") << e.id;
}

// Regression for the linter itself: it must catch what the format forbids.
TEST(CatalogLint, RejectsForbiddenConstructs) {
  for (const char* bad : {"a.b", "[^0-9]", "\\D{3}", "\\W", "\\S", "(?=x)", "(?!x)",
                          "(?<=x)", "(?i)abc", "(a)\\1", "\\d+", "\\d*", "\\d{2,}",
                          "\\d{2,5}?", "a??", "[\\S]", "\\p{L}"}) {
    EXPECT_NE(lint_expression(bad), "") << bad;
  }
  for (const char* good : {"\\b\\d{3}[- .]\\d{2}\\b", "(?:ab|cd)?x", "[A-Z0-9._%+-]{1,4}",
                           "\\x41\\.\\-", "a{3}"}) {
    EXPECT_EQ(lint_expression(good), "") << good;
  }
}

TEST_F(Catalog, CompilesAndMaxLengthCoversMaxWidth) {
  for (auto& e : *entries_) {
    SCOPED_TRACE(e.id);
    ASSERT_NE(e.db, nullptr) << "anchored block compile failed: " << e.compile_error;
    ASSERT_NE(e.scratch, nullptr);
    // The engine compiles in streaming mode without SOM.
    std::string err;
    EXPECT_NE(compile(e.expression, e.flags, HS_MODE_STREAM, err), nullptr) << err;
    hs_expr_info_t* info = nullptr;
    hs_compile_error_t* ce = nullptr;
    ASSERT_EQ(hs_expression_info(e.expression.c_str(), e.flags, &info, &ce), HS_SUCCESS);
    EXPECT_NE(info->max_width, UINT_MAX) << "unbounded";
    EXPECT_GE(e.max_length, info->max_width);
    EXPECT_GE(info->min_width, 1u);
    // Keep max_length tight: the engine retains max_length bytes per stream.
    EXPECT_LE(e.max_length, info->max_width + 8) << "max_length far above max width";
    std::free(info);
  }
}

TEST_F(Catalog, MatchExamplesAreFoundAndValidate) {
  for (auto& e : *entries_) {
    if (!e.db) continue;
    for (const auto& m : e.j["examples"]["match"]) {
      const std::string text = m.is_string() ? m.get<std::string>() : m["text"].get<std::string>();
      const std::string value = m.is_string() ? text : m["value"].get<std::string>();
      SCOPED_TRACE(e.id + ": \"" + text + "\"");
      const size_t start = text.find(value);
      ASSERT_NE(start, std::string::npos) << "value not inside text";
      const span want{start, start + value.size()};
      const auto spans = scan(e, text);
      bool found = false;
      for (const auto& s : spans) found |= s == want;
      EXPECT_TRUE(found) << "expression does not produce the value's span";
      EXPECT_TRUE(validate(e.v, value)) << "validator rejects the value";
      // One finding: every accepted span that touches the value lies inside it.
      for (const auto& s : findings(e, text)) {
        if (s.second <= want.first || s.first >= want.second) continue;
        EXPECT_TRUE(s.first >= want.first && s.second <= want.second)
            << "accepted span [" << s.first << "," << s.second << ") leaks past the value";
      }
      EXPECT_LE(value.size(), e.max_length);
    }
  }
}

TEST_F(Catalog, NoMatchExamplesFailOnShapeOrValidator) {
  for (auto& e : *entries_) {
    if (!e.db) continue;
    for (const auto& n : e.j["examples"]["no_match"]) {
      const std::string text = n.get<std::string>();
      const auto f = findings(e, text);
      EXPECT_TRUE(f.empty()) << e.id << ": \"" << text << "\" yields an accepted span ["
                             << (f.empty() ? 0 : f[0].first) << ","
                             << (f.empty() ? 0 : f[0].second) << ")";
    }
  }
}

// Values from tests/support/phi_values (with their context prefix) are found as a
// whole by an entry of their entity: generators and catalog agree on shapes.
TEST_F(Catalog, GeneratedValuesAreFoundByTheirEntity) {
  std::mt19937_64 rng(4242);
  for (const auto& kind : test::phi_kinds()) {
    for (int i = 0; i < 300; ++i) {
      const test::phi_value pv = test::make_phi(kind.c_str(), rng);
      const std::string text =
          std::string("x ") + test::phi_context_prefix(kind) + pv.text + "\x1f" "end";
      const size_t start = text.find(pv.text);
      bool found = false;
      for (auto& e : *entries_) {
        if (!e.db || e.entity != pv.entity) continue;
        for (const auto& s : findings(e, text)) found |= s == span{start, start + pv.text.size()};
      }
      ASSERT_TRUE(found) << kind << ": \"" << pv.text << "\" not found by entity " << pv.entity;
    }
  }
}

// Hard negatives must not produce a finding from any entry that has no context rule
// (context-gated entries may fire on them only next to their keywords).
TEST_F(Catalog, HardNegativesProduceNoContextFreeFindings) {
  std::mt19937_64 rng(1234);
  for (int i = 0; i < 3000; ++i) {
    const std::string text = test::make_hard_negative(rng);
    for (auto& e : *entries_) {
      if (!e.db || e.has_context) continue;
      const auto f = findings(e, text);
      ASSERT_TRUE(f.empty()) << e.id << " fires on hard negative \"" << text << "\" at ["
                             << f[0].first << "," << f[0].second << ")";
    }
  }
}

// Regression: with a leading \b and a bounded local part, an e-mail whose local
// part exceeds the bound had no match at all and leaked whole. Now its tail and
// domain are still found.
TEST_F(Catalog, LongEmailLocalPartIsStillFound) {
  const std::string text = "to " + std::string(60, 'x') + "@example.org";
  bool found = false;
  for (auto& e : *entries_) {
    if (!e.db || e.entity != "email") continue;
    for (const auto& s : findings(e, text)) found |= s.second == text.size();
  }
  EXPECT_TRUE(found);
}

TEST_F(Catalog, CoversTheRequiredFamilies) {
  std::set<std::string> entities;
  std::map<std::string, bool> gated;
  for (const auto& e : *entries_) {
    entities.insert(e.entity);
    gated[e.id] = e.has_context;
  }
  for (const char* need : {"ssn", "itin", "mbi", "npi", "dea", "phone", "fax", "email", "url",
                           "ip_address", "date", "mrn", "health_plan_id", "account_number",
                           "credit_card", "iban", "aba_routing", "zip_code", "vin"})
    EXPECT_TRUE(entities.count(need)) << need;
  // Shapes that collide with ordinary numbers must stay context-gated.
  for (const char* id : {"ssn-bare", "itin-bare", "npi", "fax", "phone-bare", "mrn",
                         "health-plan", "account", "aba-routing", "zip"})
    EXPECT_TRUE(gated[id]) << id;
  EXPECT_FALSE(gated["ssn-delimited"]);
}

}  // namespace
}  // namespace phigate::validate
