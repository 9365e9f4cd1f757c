// json_path: path syntax, one-pass extraction of several paths, string helpers, and robustness:
// every truncation of sample bodies and single-byte mutations, each body placed against a
// PROT_NONE page, with nlohmann_json as the reference for what is JSON.
#include "dataplane/policy/json_path.hh"

#include <array>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/guard_page.hh"

namespace phigate::policy {
namespace {

using test::guarded_buffer;

// Extracts `paths` from `body` placed in a guarded buffer; values are copied out with their raw
// views re-pointed into `keep` so the test can read them after the buffer is gone.
json_status run(const std::vector<std::string>& paths, std::string_view body,
                std::vector<json_value>& out, std::string& keep) {
  json_path_set set;
  for (const auto& p : paths) {
    std::string err;
    EXPECT_GE(set.add(p, err), 0) << p << ": " << err;
  }
  guarded_buffer buf(body);
  std::vector<json_value> vals(set.path_count());
  const json_status st =
      set.extract(std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()), vals);
  keep.assign(body);
  out.clear();
  for (auto v : vals) {
    if (!v.raw.empty()) {
      const size_t off = static_cast<size_t>(v.raw.data() - reinterpret_cast<const char*>(buf.data()));
      v.raw = std::string_view(keep).substr(off, v.raw.size());
    }
    out.push_back(v);
  }
  return st;
}

TEST(JsonPathParse, AcceptsDottedIndexedAndQuotedSegments) {
  std::vector<json_path_segment> s;
  ASSERT_EQ(json_path_parse("a.b[2].c", s), "");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].key, "a");
  EXPECT_EQ(s[1].key, "b");
  EXPECT_TRUE(s[2].is_index);
  EXPECT_EQ(s[2].index, 2u);
  EXPECT_EQ(s[3].key, "c");

  ASSERT_EQ(json_path_parse(R"([0]["x.y"]["q\"\\"].z)", s), "");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_TRUE(s[0].is_index);
  EXPECT_EQ(s[1].key, "x.y");
  EXPECT_EQ(s[2].key, "q\"\\");
  EXPECT_EQ(s[3].key, "z");

  ASSERT_EQ(json_path_parse("input", s), "");
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(json_path_parse("a[1000000]", s), "");
}

TEST(JsonPathParse, RejectsMalformedPaths) {
  std::vector<json_path_segment> s;
  for (const char* bad : {"", ".a", "a.", "a..b", "a.[0]", "a[", "a[]", "a[01]", "a[-1]", "a[1000001]",
                          "a[99999999]", "a b", "a]", "a\"b", "[\"\"]", "[\"abc", "[\"a\\x\"]", "a[0]b",
                          "a\\b", "a\tb"}) {
    EXPECT_NE(json_path_parse(bad, s), "") << bad;
  }
  EXPECT_NE(json_path_parse(std::string(129, 'k'), s), "");
  EXPECT_EQ(json_path_parse(std::string(128, 'k'), s), "");
  std::string deep = "a";
  for (int i = 0; i < 15; ++i) deep += ".a";
  EXPECT_EQ(json_path_parse(deep, s), "");
  EXPECT_NE(json_path_parse(deep + ".a", s), "");
}

TEST(JsonPathSet, SamePathSameIdAndLimits) {
  json_path_set set;
  std::string err;
  EXPECT_EQ(set.add("model", err), 0);
  EXPECT_EQ(set.add("n", err), 1);
  EXPECT_EQ(set.add("model", err), 0);
  EXPECT_EQ(set.add("[\"model\"]", err), 0);  // same path, other spelling
  EXPECT_EQ(set.path_count(), 2u);
  for (uint32_t i = 2; i < json_path_set_max_paths; ++i) {
    ASSERT_GE(set.add("p" + std::to_string(i), err), 0) << err;
  }
  EXPECT_EQ(set.add("one.more", err), -1);
  EXPECT_FALSE(err.empty());

  json_path_set nodes;
  // 16-segment paths: 4 of them use 64 nodes; the root plus 255 more is the cap.
  int added = 0;
  for (int i = 0; i < 40; ++i) {
    std::string p = "k" + std::to_string(i);
    for (int d = 0; d < 15; ++d) p += ".x";
    if (nodes.add(p, err) < 0) break;
    ++added;
  }
  EXPECT_EQ(added, 15);  // 15 * 16 = 240 nodes; the 16th would need 256 + root
  EXPECT_NE(err.find("256"), std::string::npos);
}

TEST(JsonPathExtract, ReadsScalarsNestedPathsAndLengths) {
  const std::string body = R"({
    "model": "gpt-4o", "n": 3, "temperature": -0.5e1, "stream": true, "user": null,
    "messages": [ {"role": "system", "content": "be brief"},
                  {"role": "user", "content": [ {"type": "text", "text": "hi"} ]} ],
    "input": ["a", "b", ["c"], {"d": 1}],
    "meta": {"a.b": {"c": [10, 20, 30]}, "empty": {}, "none": []}
  })";
  std::vector<json_value> v;
  std::string keep;
  ASSERT_EQ(run({"model", "n", "temperature", "stream", "user", "messages", "messages[1].role",
                 "messages[1].content[0].text", "input", "input[3].d", "[\"meta\"][\"a.b\"].c[2]",
                 "meta.empty", "meta.none", "absent", "messages[2].role", "model.x", "n[0]"},
                body, v, keep),
            json_status::ok);
  EXPECT_EQ(v[0].kind, json_kind::string);
  EXPECT_EQ(v[0].raw, "gpt-4o");
  EXPECT_FALSE(v[0].escaped);
  EXPECT_EQ(v[1].kind, json_kind::number);
  EXPECT_TRUE(v[1].number_finite);
  EXPECT_EQ(v[1].number, 3);
  EXPECT_EQ(v[2].number, -5);
  EXPECT_EQ(v[2].raw, "-0.5e1");
  EXPECT_EQ(v[3].kind, json_kind::boolean);
  EXPECT_TRUE(v[3].boolean);
  EXPECT_EQ(v[4].kind, json_kind::null);
  EXPECT_EQ(v[5].kind, json_kind::array);
  EXPECT_EQ(v[5].length, 2u);
  EXPECT_EQ(v[5].raw.front(), '[');
  EXPECT_EQ(v[5].raw.back(), ']');
  EXPECT_EQ(v[6].raw, "user");
  EXPECT_EQ(v[7].raw, "hi");
  EXPECT_EQ(v[8].kind, json_kind::array);
  EXPECT_EQ(v[8].length, 4u);
  EXPECT_EQ(v[9].number, 1);
  EXPECT_EQ(v[10].number, 30);
  EXPECT_EQ(v[11].kind, json_kind::object);
  EXPECT_EQ(v[11].length, 0u);
  EXPECT_EQ(v[12].kind, json_kind::array);
  EXPECT_EQ(v[12].length, 0u);
  EXPECT_EQ(v[13].kind, json_kind::missing);
  EXPECT_EQ(v[14].kind, json_kind::missing);  // index past the end
  EXPECT_EQ(v[15].kind, json_kind::missing);  // key under a string
  EXPECT_EQ(v[16].kind, json_kind::missing);  // index under a number
}

TEST(JsonPathExtract, EscapedKeysMatchTheirDecodedPath) {
  // Regression: a key spelled with escapes ("mo\u0064el") must be found as "model", or a rule
  // on the model could be dodged by escaping the key.
  std::vector<json_value> v;
  std::string keep;
  ASSERT_EQ(run({"model", "a/b", "\xc3\xa9t\xc3\xa9", "emoji"},
                R"({"mo\u0064el":"x\u002dy","a\/b":1,"\u00e9t\u00c9":2,"\ud83d\ude00":3})", v, keep),
            json_status::ok);
  EXPECT_EQ(v[0].kind, json_kind::string);
  EXPECT_TRUE(v[0].escaped);
  EXPECT_EQ(v[0].raw, "x\\u002dy");
  EXPECT_TRUE(json_string_equals(v[0].raw, "x-y"));
  EXPECT_EQ(v[1].number, 1);
  EXPECT_EQ(v[2].kind, json_kind::missing);  // \u00c9 is É, not é: the keys differ
  EXPECT_EQ(v[3].kind, json_kind::missing);

  ASSERT_EQ(run({"\xc3\xa9t\xc3\xa9", "\xf0\x9f\x98\x80"}, R"({"\u00e9t\u00e9":2,"\ud83d\ude00":3})",
                v, keep),
            json_status::ok);
  EXPECT_EQ(v[0].number, 2);
  EXPECT_EQ(v[1].number, 3);
}

TEST(JsonPathExtract, RepeatedWantedKeyIsDuplicateEvenWhenEscaped) {
  std::vector<json_value> v;
  std::string keep;
  EXPECT_EQ(run({"model"}, R"({"model":"a","model":"b"})", v, keep), json_status::duplicate_key);
  EXPECT_EQ(run({"model"}, R"({"model":"a","mod\u0065l":"b"})", v, keep), json_status::duplicate_key);
  // A repeated parent hides the child in one copy: still ambiguous.
  EXPECT_EQ(run({"a.b"}, R"({"a":{"b":1},"a":{"c":2}})", v, keep), json_status::duplicate_key);
  EXPECT_EQ(run({"a.b"}, R"({"a":{"b":1,"b":2}})", v, keep), json_status::duplicate_key);
  // Keys nobody asked for may repeat; the same key in different objects is no repeat.
  EXPECT_EQ(run({"model"}, R"({"x":1,"x":2,"model":"m"})", v, keep), json_status::ok);
  EXPECT_EQ(run({"m[0].k", "m[1].k"}, R"({"m":[{"k":1},{"k":2}]})", v, keep), json_status::ok);
  EXPECT_EQ(v[0].number, 1);
  EXPECT_EQ(v[1].number, 2);
}

TEST(JsonPathExtract, StatusTable) {
  struct row {
    const char* body;
    json_status want;
  };
  const row rows[] = {
      {R"({})", json_status::ok},
      {R"([])", json_status::ok},
      {R"("s")", json_status::ok},
      {R"(12)", json_status::ok},
      {R"( {"a" : [ 1 , 2 ] } )", json_status::ok},
      {R"(true)", json_status::ok},
      {"", json_status::truncated},
      {"   ", json_status::truncated},
      {R"({"a":1)", json_status::truncated},
      {R"({"a":"x)", json_status::truncated},
      {R"({"a":"x\)", json_status::truncated},
      {R"({"a":"\u00)", json_status::truncated},
      {R"({"a":"\ud83d)", json_status::truncated},
      {R"({"a":"\ud83d\)", json_status::truncated},
      {R"({"a":tr)", json_status::truncated},
      {R"({"a":-)", json_status::truncated},
      {R"({"a":1.)", json_status::truncated},
      {R"({"a":1e)", json_status::truncated},
      {R"({"a":1e+)", json_status::truncated},
      {R"({"a")", json_status::truncated},
      {R"({"a":1,)", json_status::truncated},
      {R"({"a":1}x)", json_status::malformed},
      {R"({"a":1}{})", json_status::malformed},
      {R"({"a":1,})", json_status::malformed},
      {R"([1,])", json_status::malformed},
      {R"([,1])", json_status::malformed},
      {R"({,})", json_status::malformed},
      {R"({"a" 1})", json_status::malformed},
      {R"({a:1})", json_status::malformed},
      {R"({"a":01})", json_status::malformed},
      {R"({"a":+1})", json_status::malformed},
      {R"({"a":.5})", json_status::malformed},
      {R"({"a":1.e5})", json_status::malformed},
      {R"({"a":NaN})", json_status::malformed},
      {R"({"a":tru})", json_status::malformed},
      {R"({"a":"\x"})", json_status::malformed},
      {R"({"a":"\u12g4"})", json_status::malformed},
      {R"({"a":"\udc00"})", json_status::malformed},    // lone low surrogate
      {R"({"a":"\ud800x"})", json_status::malformed},   // lone high surrogate
      {R"({"a":"\ud800\u0041"})", json_status::malformed},
      {"{\"a\":\"tab\there\"}", json_status::malformed},  // raw control byte in a string
      {"\xef\xbb\xbf{}", json_status::malformed},          // BOM
      {R"({"a":1]})", json_status::malformed},
      {R"([1}])", json_status::malformed},
      {"{\"a\":1}\n", json_status::ok},
      {"/*c*/{}", json_status::malformed},
  };
  for (const row& r : rows) {
    std::vector<json_value> v;
    std::string keep;
    EXPECT_EQ(run({"a"}, r.body, v, keep), r.want) << r.body;
  }
}

TEST(JsonPathExtract, DepthLimit) {
  std::vector<json_value> v;
  std::string keep;
  std::string ok_body(json_max_depth, '[');
  ok_body += std::string(json_max_depth, ']');
  EXPECT_EQ(run({"a"}, ok_body, v, keep), json_status::ok);
  std::string deep(json_max_depth + 1, '[');
  deep += std::string(json_max_depth + 1, ']');
  EXPECT_EQ(run({"a"}, deep, v, keep), json_status::too_deep);
  // Far deeper than the limit and unterminated: no stack growth, just the status.
  EXPECT_EQ(run({"a"}, std::string(100000, '['), v, keep), json_status::too_deep);
}

TEST(JsonPathExtract, NumbersOutOfRangeAreNotFinite) {
  std::vector<json_value> v;
  std::string keep;
  ASSERT_EQ(run({"big", "neg", "small", "int"},
                R"({"big":1e999,"neg":-1e400,"small":1e-2,"int":12345678901234567890})", v, keep),
            json_status::ok);
  EXPECT_FALSE(v[0].number_finite);
  EXPECT_FALSE(v[1].number_finite);
  EXPECT_TRUE(v[2].number_finite);
  EXPECT_DOUBLE_EQ(v[2].number, 0.01);
  EXPECT_TRUE(v[3].number_finite);
  EXPECT_DOUBLE_EQ(v[3].number, 12345678901234567890.0);
}

TEST(JsonPathExtract, LongStringsAcrossWordBoundaries) {
  // The string scanner skips eight bytes at a time: put the quote, escape and control byte at
  // every alignment.
  for (size_t pad = 0; pad < 24; ++pad) {
    const std::string s(pad, 'x');
    std::vector<json_value> v;
    std::string keep;
    ASSERT_EQ(run({"a", "b"}, "{\"a\":\"" + s + "\",\"b\":\"" + s + "\\n" + s + "\"}", v, keep),
              json_status::ok)
        << pad;
    EXPECT_EQ(v[0].raw, s);
    EXPECT_EQ(v[1].raw, s + "\\n" + s);
    EXPECT_TRUE(v[1].escaped);
    EXPECT_EQ(run({"a"}, "{\"a\":\"" + s + "\x01" + s + "\"}", v, keep), json_status::malformed) << pad;
    EXPECT_EQ(run({"a"}, "{\"a\":\"" + s + "\xc3\xa9" + s + "\"}", v, keep), json_status::ok) << pad;
  }
}

TEST(JsonStringHelpers, EqualsAndDecode) {
  EXPECT_TRUE(json_string_equals("abc", "abc"));
  EXPECT_FALSE(json_string_equals("abc", "abcd"));
  EXPECT_FALSE(json_string_equals("abcd", "abc"));
  EXPECT_TRUE(json_string_equals(R"(a\"b\\c\/d\b\f\n\r\t)", "a\"b\\c/d\b\f\n\r\t"));
  EXPECT_TRUE(json_string_equals(R"(\u0041\u00e9\u20ac\ud83d\ude00)", "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_TRUE(json_string_equals(R"(\u0000)", std::string_view("\0", 1)));
  // Malformed raw content never equals anything and never reads past its end.
  for (const char* bad : {"\\", "\\u12", "\\ud800", "\\udc00", "\\q", "a\"b"}) {
    EXPECT_FALSE(json_string_equals(bad, "")) << bad;
    guarded_buffer g{std::string_view(bad)};
    const std::string_view raw(reinterpret_cast<const char*>(g.data()), g.size());
    EXPECT_FALSE(json_string_equals(raw, "a"));
    char out[8];
    size_t len = 99;
    EXPECT_FALSE(json_string_decode(raw, out, sizeof out, len));
  }
  char out[4];
  size_t len = 0;
  EXPECT_TRUE(json_string_decode(R"(a\u00e9b)", out, sizeof out, len));
  EXPECT_EQ(std::string_view(out, len), "a\xc3\xa9" "b");
  EXPECT_FALSE(json_string_decode(R"(a\u00e9bc)", out, sizeof out, len));  // 5 bytes > 4
}

// Sample bodies for the robustness sweeps: realistic requests with escapes, unicode, numbers of
// every shape, nesting.
const std::vector<std::string>& samples() {
  static const std::vector<std::string> s = {
      R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a scribe."},)"
      R"({"role":"user","content":"Patient J\u00f6rg, SSN 123\u002d45-6789, \"BP\" 120/80\n"}],)"
      R"("n":2,"max_tokens":512,"temperature":0.7,"top_p":1e0,"stream":false,"stop":null,)"
      R"("logit_bias":{"50256":-100},"user":"clinic-7"})",
      R"({"model":"text-embedding-3-small","input":["note one","note \ud83d\ude00 two",)"
      R"("three"],"encoding_format":"float","dimensions":256})",
      R"([{"a":{"b":[0,1,{"c":-12.5E-3}]}},true,null,"\/\\\b\f\n\r\t"])",
  };
  return s;
}
const std::vector<std::string> kSweepPaths = {"model", "n", "max_tokens", "messages[1].content",
                                              "input", "[0].a.b[2].c", "logit_bias"};

TEST(JsonPathRobustness, EveryTruncationIsTruncatedAndStaysInBounds) {
  json_path_set set;
  for (const auto& p : kSweepPaths) {
    std::string err;
    ASSERT_GE(set.add(p, err), 0) << err;
  }
  std::vector<json_value> vals(set.path_count());
  for (const std::string& body : samples()) {
    ASSERT_TRUE(nlohmann::json::accept(body));
    for (size_t len = 0; len <= body.size(); ++len) {
      guarded_buffer buf(std::string_view(body).substr(0, len));
      const std::string_view view(reinterpret_cast<const char*>(buf.data()), buf.size());
      const json_status st = set.extract(view, vals);
      if (len == body.size()) {
        EXPECT_EQ(st, json_status::ok);
      } else {
        // Every proper prefix of an object or array is an unfinished value.
        EXPECT_EQ(st, json_status::truncated) << "prefix length " << len;
      }
      for (const auto& v : vals) {
        if (!v.raw.empty()) {
          EXPECT_GE(v.raw.data(), view.data());
          EXPECT_LE(v.raw.data() + v.raw.size(), view.data() + view.size());
        }
      }
    }
  }
}

TEST(JsonPathRobustness, SingleByteMutationsAgreeWithNlohmann) {
  json_path_set set;
  for (const auto& p : kSweepPaths) {
    std::string err;
    ASSERT_GE(set.add(p, err), 0) << err;
  }
  std::vector<json_value> vals(set.path_count());
  const std::array<char, 16> subst = {'"', '\\', '{', '}', '[', ']', ',', ':', '0', '-', 'e', 'u',
                                      ' ', '\n', '\x01', 'n'};
  size_t tried = 0, accepted = 0;
  for (const std::string& body : samples()) {
    for (size_t pos = 0; pos < body.size(); ++pos) {
      for (char c : subst) {
        if (body[pos] == c) continue;
        std::string m = body;
        m[pos] = c;
        guarded_buffer buf(m);
        const json_status st =
            set.extract(std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()), vals);
        const bool reference = nlohmann::json::accept(m);
        ++tried;
        if (reference) {
          ++accepted;
          // nlohmann accepts repeated keys; only a repeat on a wanted path is reported.
          EXPECT_TRUE(st == json_status::ok || st == json_status::duplicate_key)
              << "pos " << pos << " byte " << int(c) << " status " << json_status_name(st);
        } else {
          EXPECT_NE(st, json_status::ok) << "pos " << pos << " byte " << int(c);
        }
      }
    }
  }
  EXPECT_GT(accepted, 100u);  // the sweep does exercise valid variants
  EXPECT_GT(tried, accepted);
}

}  // namespace
}  // namespace phigate::policy
