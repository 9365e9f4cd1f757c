// libFuzzer target: the repeat skip (scan/channel.cc) against a full scan. The input builds a
// stream of records that repeat an envelope, the way streamed completions do, with values the
// fuzzer chooses (escaped into JSON strings and numbers) and in-place edits between records, so
// records repeat wholly, in part or not at all. The same body is masked with trigger gating (and
// so the repeat skip) and without; the masked bytes and the findings must be identical, in
// whole-body and in small pieces. Any difference aborts.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "dataplane/engine/mask_message.hh"
#include "dataplane/scan/pattern_db.hh"
#include "tests/fuzz/core_catalog.hh"

namespace {

using namespace phigate;

struct env {
  std::unique_ptr<scan::pattern_db> db;
  engine::engine_config gated, full;
  engine::engine_scratch* xg = nullptr;
  engine::engine_scratch* xf = nullptr;
  env() {
    db = fuzz::core_catalog();
    gated.db = db.get();
    full = gated;
    full.trigger_gating = false;
    xg = engine::engine_scratch_create(gated);
    xf = engine::engine_scratch_create(full);
    if (!xg || !xf) std::abort();
  }
};
env* g_env = nullptr;

// Reads the input front to back; past its end, zeros.
struct reader {
  const uint8_t* p;
  size_t n;
  uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
};

void json_escape(std::string& out, const std::string& v) {
  static const char* hex = "0123456789abcdef";
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
}

std::multiset<std::tuple<uint64_t, uint64_t, uint32_t>> findings(const engine::mask_outcome& o) {
  std::multiset<std::tuple<uint64_t, uint64_t, uint32_t>> s;
  for (const scan::finding& f : o.findings) s.insert({f.raw_start, f.raw_end, f.pattern});
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_env = new env();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  env& e = *g_env;
  reader in{data, size};
  const uint8_t shape = in.byte();
  // An envelope of up to 6 fields: value bytes come from the input (text: printable-biased).
  std::vector<std::string> keys, values;
  static const char* kKeys[] = {"id", "mrn", "npi", "ssn", "phone", "created", "model", "note", "account", "zip"};
  const size_t fields = 1 + in.byte() % 6;
  for (size_t i = 0; i < fields; ++i) {
    keys.emplace_back(kKeys[in.byte() % 10]);
    std::string v;
    for (size_t k = in.byte() % 24; k > 0; --k) {
      const uint8_t b = in.byte();
      v += static_cast<char>(b < 0xc0 ? "0123456789-.@:/ abcxyzABC"[b % 25] : b);
    }
    values.push_back(v);
  }
  const bool ndjson = shape & 1;
  std::string body;
  const size_t records = 2 + in.byte() % 40;
  for (size_t r = 0; r < records; ++r) {
    // Now and then edit one byte of one value in place (a partial repeat), or make a value one
    // byte longer or shorter (the records' distance, the shift, changes).
    const uint8_t edit = in.byte();
    std::string& v = values[edit % fields];
    if (edit < 64 && !v.empty()) v[in.byte() % v.size()] = "0123456789-.@x"[in.byte() % 14];
    else if (edit < 80 && v.size() < 32) v.insert(v.begin() + in.byte() % (v.size() + 1), "0123456789-.@x"[in.byte() % 14]);
    else if (edit < 96 && !v.empty()) v.erase(v.begin() + in.byte() % v.size());
    std::string obj = "{";
    for (size_t i = 0; i < fields; ++i) {
      obj += (i ? ",\"" : "\"") + keys[i] + "\":";
      const bool number = !values[i].empty() && values[i].find_first_not_of("0123456789") == std::string::npos &&
                          values[i][0] != '0' && (shape & 2);
      if (number) {
        obj += values[i];
      } else {
        obj += '"';
        json_escape(obj, values[i]);
        obj += '"';
      }
    }
    obj += ndjson ? ",\"response\":\"t\"}" : ",\"choices\":[{\"delta\":{\"content\":\"t\"}}]}";
    body += ndjson ? obj + "\n" : "data: " + obj + "\n\n";
  }
  const std::string type = ndjson ? "application/x-ndjson" : "text/event-stream";
  const std::span<const uint8_t> input(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  engine::mask_options whole;
  whole.body_only = true;
  whole.content_type = type;
  const engine::mask_outcome ref = engine::mask_message(e.full, *e.xf, input, whole);
  const size_t piece[] = {static_cast<size_t>(1 + (shape >> 2) % 61) * 7};  // 7 .. 427 bytes
  for (int pass = 0; pass < 2; ++pass) {
    engine::mask_options o = whole;
    if (pass == 1) o.segments = piece;
    const engine::mask_outcome got = engine::mask_message(e.gated, *e.xg, input, o);
    if (got.ok != ref.ok || got.output != ref.output || findings(got) != findings(ref)) std::abort();
  }
  return 0;
}
