// libFuzzer target for scan/pattern_db's deserialize: the one parser that reads a blob another
// process wrote (the control plane's snapshot, or a file an operator names).
//
// A mutated blob almost never passes the CRC, so inputs are edit scripts over a valid blob of
// part of us-phi-core, resealed (length and CRC recomputed) unless the script says not to. That puts the
// mutations where the metadata parser and its range checks live. Each input is 4-byte records:
//   op (low 2 bits: 0 set, 1 insert, 2 erase, 3 truncate; bit 2: the offset is within the
//   metadata, which ends where the Hyperscan databases begin; bit 3 with bit 2: counted back from
//   the end of the stream group table, which the hold automata follow), offset (u16, modulo the
//   region), value. The automata carry a checksum of their own (a table in range can still be
//   wrong), so set mutations inside them are refused there; bits 2 and 3 with the value's top bit
//   aim at their count and first header instead.
// The first byte's bit 0 set means "do not reseal" (the checksum path).
//
// Beyond no crash and no out-of-bounds read, what loads must work: it scans a response through
// the engine without masking a byte it already released, and it serializes to a blob that loads.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "dataplane/core/crc32.hh"
#include "dataplane/engine/flow_engine.hh"
#include "dataplane/scan/pattern_db.hh"
#include "tests/fuzz/release_guard.hh"

namespace {

using namespace phigate;

std::vector<uint8_t> g_blob;
size_t g_meta_end = 0;    // offset of the first Hyperscan database's length in g_blob
size_t g_groups_end = 0;  // offset of the hold automata section (just after the stream groups)

void put_le(std::vector<uint8_t>& b, size_t at, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
}

// Header: magic (8), format (4), CRC-32 of the body (4), body length (8).
void reseal(std::vector<uint8_t>& b) {
  if (b.size() < 24) return;
  put_le(b, 16, b.size() - 24, 8);
  put_le(b, 12, core::crc32(b.data() + 24, b.size() - 24), 4);
}

using fuzz::guarded_mask;
using fuzz::release_guard;

// A JSON response with a value of most entities, and context keywords for the gated ones.
const std::string kBody =
    "{\"note\":\"ssn 123-45-6789, call (415) 555-0100, fax 415-555-0199, mail jo.doe@example.org\","
    "\"mrn\":\"MRN ab1234567\",\"npi\":\"provider npi 1234567893\",\"dob\":\"1961-07-04\","
    "\"card\":\"4111 1111 1111 1111\",\"ip\":\"10.1.2.3\",\"zip\":\"zip 02139\",\"created\":1700000000}";

// Scans kBody through the engine with `db`, in 37-byte segments; aborts on a broken contract.
void scan_with(const scan::pattern_db& db) {
  engine::engine_config cfg;
  cfg.db = &db;
  engine::engine_scratch* x = engine::engine_scratch_create(cfg);
  if (x == nullptr) return;  // e.g. a database Hyperscan cannot allocate scratch for: nothing to scan
  auto f = std::make_unique<engine::flow_engine>();
  if (!engine::flow_engine_setup(*f, cfg)) {
    engine::engine_scratch_destroy(x);
    return;
  }
  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
  std::vector<uint8_t> stream(resp.begin(), resp.end());
  release_guard g{0, &stream};
  engine::engine_sink sink;
  sink.ctx = &g;
  sink.on_mask = guarded_mask;
  static const char kReq[] = "GET / HTTP/1.1\r\nHost: f\r\n\r\n";
  engine::feed_request(*f, *x, reinterpret_cast<const uint8_t*>(kReq), sizeof kReq - 1, 0, sink);
  uint64_t now = 1;
  for (size_t off = 0; off < stream.size();) {
    const size_t n = std::min<size_t>(37, stream.size() - off);
    std::vector<uint8_t> piece(stream.begin() + static_cast<long>(off), stream.begin() + static_cast<long>(off + n));
    const engine::feed_result r = engine::feed_response(*f, *x, piece.data(), piece.size(), now++, sink);
    off += n;
    if (r.error != engine::engine_error::none) break;
    if (r.final_offset > off) std::abort();
    g.released = r.final_offset;
  }
  engine::finish_response(*f, *x, now, sink);
  engine::flow_engine_teardown(*f);
  engine::engine_scratch_destroy(x);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto loaded = scan::pattern_set_load(std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json");
  if (loaded.index() != 0) std::abort();
  // A subset keeps the blob small enough for hundreds of inputs a second, and still has every
  // section: validators, keywords, a group of identical expressions (phone, fax) and a group of
  // context-gated ones (npi, mrn, account, zip).
  scan::pattern_set set = std::get<0>(loaded);
  const std::string keep[] = {"ssn-delimited", "npi", "fax", "phone", "ipv4", "mrn", "account", "zip"};
  std::erase_if(set.entries, [&](const scan::pattern_entry& e) { return std::find(std::begin(keep), std::end(keep), e.id) == std::end(keep); });
  if (set.entries.size() != std::size(keep)) std::abort();
  auto r = scan::pattern_db::compile(set);
  if (r.index() != 0) std::abort();
  const scan::pattern_db& db = *std::get<0>(r);
  g_blob = db.serialize();
  // The databases close the blob, each as a u64 length and hs_serialize_database's bytes.
  size_t dbs = 0;
  auto add = [&](const hs_database_t* d) {
    char* bytes = nullptr;
    size_t len = 0;
    if (hs_serialize_database(d, &bytes, &len) != HS_SUCCESS) std::abort();
    std::free(bytes);
    dbs += 8 + len;
  };
  add(db.stream_db());
  add(db.hold_db());
  for (uint32_t i = 0; i < db.patterns().size(); ++i) add(db.start_db(i));
  if (db.rest_stream_db() != nullptr) add(db.rest_stream_db());
  if (dbs >= g_blob.size()) std::abort();
  g_meta_end = g_blob.size() - dbs;
  // The automata section: hold automata (count, each: three u16, byte classes, accept flags,
  // transitions), start automata (count, a kind byte per entry and its automaton), stream
  // automata (count, each: four u16, byte classes, two report masks per state, transitions), the
  // missing groups (count, u16 each), CRC-32.
  auto dfa_bytes = [](const scan::byte_dfa& d) { return 6 + 256 + d.accept.size() + 2 * d.next.size(); };
  size_t hold = 1 + 2 + 1 + 1 + 4;
  for (const scan::byte_dfa& d : db.hold_automata()) hold += dfa_bytes(d);
  for (uint32_t i = 0; i < db.patterns().size(); ++i) {
    hold += 1;
    if (const scan::start_dfa* a = db.start_automaton(i)) hold += dfa_bytes(a->dfa);
  }
  for (const scan::stream_dfa& d : db.stream_automata()) hold += 8 + 256 + 8 * size_t{d.states} + 2 * d.next.size();
  hold += 2 * db.stream_automata_missing().size();
  if (hold >= g_meta_end) std::abort();
  g_groups_end = g_meta_end - hold;
  // The layout above must match serialize(): the section starts with the hold automata's count.
  if (g_blob[g_groups_end] != db.hold_automata().size()) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> blob = g_blob;
  const bool seal = size == 0 || (data[0] & 1) == 0;
  for (size_t i = size ? 1 : 0; i + 4 <= size && !blob.empty(); i += 4) {
    const uint8_t op = data[i];
    const size_t meta = std::min(blob.size(), g_meta_end);
    const size_t span = (op & 4) ? meta : blob.size();
    if (span == 0) break;
    size_t at = (size_t{data[i + 1]} | size_t{data[i + 2]} << 8) % span;
    if ((op & 12) == 12) {
      const size_t groups_end = std::min(blob.size(), g_groups_end);
      if (groups_end == 0) break;
      // The top bit of the value: the hold section's count and first header (7 bytes from its start).
      at = (data[i + 3] & 0x80) ? std::min(meta - 1, groups_end + at % 7) : groups_end - 1 - at % groups_end;
    }
    switch (op & 3) {
      case 0: blob[at] = data[i + 3]; break;
      case 1: blob.insert(blob.begin() + static_cast<long>(at), data[i + 3]); break;
      case 2: blob.erase(blob.begin() + static_cast<long>(at)); break;
      case 3: blob.resize(at); break;
    }
  }
  if (seal) reseal(blob);
  // An exact-size heap copy: ASan flags any read past the blob.
  const std::unique_ptr<uint8_t[]> copy(new uint8_t[blob.size() ? blob.size() : 1]);
  std::copy(blob.begin(), blob.end(), copy.get());
  auto r = scan::pattern_db::deserialize({copy.get(), blob.size()});
  auto* db = std::get_if<std::unique_ptr<scan::pattern_db>>(&r);
  if (db == nullptr) {
    if (std::get<scan::load_error>(r).reason.empty()) std::abort();  // every refusal says why
    return 0;
  }
  scan_with(**db);
  if (!std::holds_alternative<std::unique_ptr<scan::pattern_db>>(scan::pattern_db::deserialize((*db)->serialize())))
    std::abort();  // what loads must serialize to something that loads
  return 0;
}
