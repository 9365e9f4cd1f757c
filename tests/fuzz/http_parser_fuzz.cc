// libFuzzer target for dataplane/http: feeds one stream to a request parser and to a response
// parser, cut into segments whose sizes come from the input's first bytes, each segment in its own
// exact-size heap copy (ASan flags any read past a segment). Beyond "no crash" it checks the core
// property: the segmented run yields exactly the events of a single whole-input run.
//
// Input layout: byte 0 = pushes to the response parser (low 5 bits; > 16 exercises overflow) and
// their method (high 3 bits); byte 1 = k (low 3 bits) followed by k segment-size bytes (size = b+1,
// cycled; k = 0 means a single segment); the rest is the stream.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/http/http_parser.hh"

namespace {

using namespace phigate::http;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "http_parser_fuzz invariant violated: %s\n", what);
  std::abort();
}

struct log {
  std::string events;
  const uint8_t* seg_begin = nullptr;
  const uint8_t* seg_end = nullptr;
  uint64_t fed_end = 0;      // stream offset one past the current segment
  uint64_t next_body = 0;    // body offsets must not go backwards
  uint64_t body_merge = UINT64_MAX;

  void add(const std::string& s) {
    events += s;
    events += '\n';
    body_merge = UINT64_MAX;
  }
};

void on_head(void* ctx, const message_head& h) {
  auto* l = static_cast<log*>(ctx);
  if (h.head_start >= h.head_end || h.head_end > l->fed_end) die("head offsets");
  if (h.target_len > sizeof(h.target) || h.content_type_len >= sizeof(h.content_type)) die("copy lengths");
  if (h.authorization_value_len &&
      (h.authorization_value_off < h.head_start || h.authorization_value_off + h.authorization_value_len > h.head_end))
    die("authorization span");
  if (h.host_value_len && (h.host_value_off < h.head_start || h.host_value_off + h.host_value_len > h.head_end))
    die("host span");
  char buf[160];
  std::snprintf(buf, sizeof buf, "H %d %d %u %u %d %llu %d %d %d %d %llu %llu %llu+%u %llu+%u ", int(h.dir),
                int(h.meth), unsigned(h.status), unsigned(h.version_minor), int(h.body),
                (unsigned long long)h.content_length, h.keep_alive, h.expect_continue, h.interim,
                h.has_content_encoding, (unsigned long long)h.head_start, (unsigned long long)h.head_end,
                (unsigned long long)h.authorization_value_off, unsigned(h.authorization_value_len),
                (unsigned long long)h.host_value_off, unsigned(h.host_value_len));
  l->add(std::string(buf) + std::string(h.content_type, h.content_type_len) + " " +
         std::string(h.target, h.target_len) + (h.target_truncated ? " T" : ""));
  l->next_body = h.head_end;
}

void on_body(void* ctx, const uint8_t* data, size_t len, uint64_t off) {
  auto* l = static_cast<log*>(ctx);
  if (len == 0 || data < l->seg_begin || data + len > l->seg_end) die("body outside segment");
  if (off < l->next_body || off + len > l->fed_end) die("body offsets");
  if (l->seg_end - data != static_cast<ptrdiff_t>(l->fed_end - off)) die("body pointer/offset mismatch");
  l->next_body = off + len;
  // Contiguous pieces merge so that the log does not depend on segmentation.
  if (l->body_merge != off) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "B %llu ", (unsigned long long)off);
    l->events += '\n';
    l->events += buf;
  }
  l->events.append(reinterpret_cast<const char*>(data), len);
  l->body_merge = off + len;
}

void on_end(void* ctx, uint64_t off) {
  auto* l = static_cast<log*>(ctx);
  if (off < l->next_body || off > l->fed_end) die("end offset");
  l->add("E " + std::to_string(off));
}

std::string run(direction d, int pushes, method m, const uint8_t* s, size_t n, const std::vector<size_t>& sizes) {
  log l;
  target_buffer tb{};  // the request-target copy is fuzzed too (it lives outside the parser)
  const parser_callbacks cb{&l, on_head, on_body, on_end, &tb};
  parser p;
  parser_init(p, d);
  for (int i = 0; i < pushes; ++i) parser_push_request(p, m);
  size_t off = 0, k = 0;
  bool failed = parser_error(p) != error::none;
  while (off < n) {
    const size_t len = sizes.empty() ? n - off : std::min(sizes[k++ % sizes.size()], n - off);
    std::unique_ptr<uint8_t[]> seg(new uint8_t[len]);
    std::memcpy(seg.get(), s + off, len);
    l.seg_begin = seg.get();
    l.seg_end = seg.get() + len;
    l.fed_end = off + len;
    const size_t used = parser_feed(p, seg.get(), len, cb);
    if (used > len) die("consumed more than fed");
    if (failed && used != 0) die("consumed after error");
    if (used != len) {
      if (parser_error(p) == error::none) die("short consume without error");
      failed = true;
    }
    off += len;
  }
  if (!failed && parser_offset(p) != n) die("offset != bytes fed");
  const error e = parser_finish(p, cb);
  l.add("F " + std::string(error_name(e)) + " " + std::to_string(parser_offset(p)));
  return l.events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int pushes = data[0] & 0x1f;
  const auto m = static_cast<method>((data[0] >> 5) + 1);  // get .. connect
  const size_t k = data[1] & 7;
  if (size < 2 + k) return 0;
  std::vector<size_t> sizes;
  for (size_t i = 0; i < k; ++i) sizes.push_back(size_t{data[2 + i]} + 1);
  const uint8_t* stream = data + 2 + k;
  const size_t n = size - 2 - k;
  for (direction d : {direction::request, direction::response}) {
    const std::string whole = run(d, pushes, m, stream, n, {});
    if (!sizes.empty() && run(d, pushes, m, stream, n, sizes) != whole) die("segmentation changed the events");
    if (run(d, pushes, m, stream, n, {1}) != whole) die("byte-by-byte changed the events");
  }
  return 0;
}
