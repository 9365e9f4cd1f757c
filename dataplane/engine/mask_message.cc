#include "dataplane/engine/mask_message.hh"

#include <algorithm>
#include <memory>
#include <string_view>

namespace phigate::engine {
namespace {

struct collector {
  std::vector<uint8_t>* out;
  std::vector<scan::finding>* findings;
  uint64_t released = 0;  // bytes below this were released to the peer
  uint64_t late = 0;
};

void on_mask(void* ctx, const mask::mask_action& a) {
  auto& c = *static_cast<collector*>(ctx);
  if (a.raw_off < c.released) c.late += std::min<uint64_t>(c.released - a.raw_off, a.raw_len);
  mask::mask_apply(c.out->data(), c.out->size(), 0, a);
}

void on_finding(void* ctx, const scan::finding& f) {
  static_cast<collector*>(ctx)->findings->push_back(f);
}

}  // namespace

std::string describe_error(const mask_outcome& o) {
  if (o.ok) return "ok";
  if (o.error == engine_error::http) return std::string("http framing error: ") + http::error_name(o.http_error);
  return std::string("response cannot be masked: ") + engine_error_name(o.error);
}

mask_outcome mask_message(const engine_config& cfg, engine_scratch& x, std::span<const uint8_t> input,
                          const mask_options& opt) {
  mask_outcome o;
  std::string head;
  if (opt.body_only) {
    head = "HTTP/1.1 200 OK\r\nContent-Type: " + opt.content_type +
           "\r\nContent-Length: " + std::to_string(input.size()) + "\r\n\r\n";
  }
  // The stream as the engine sees it: [synthetic head] + input. Offsets are shifted back below.
  std::vector<uint8_t> stream(head.begin(), head.end());
  stream.insert(stream.end(), input.begin(), input.end());

  auto f = std::make_unique<flow_engine>();
  if (!flow_engine_setup(*f, cfg)) return o;
  std::vector<scan::finding> findings;
  collector col{&stream, &findings};
  engine_sink sink;
  sink.ctx = &col;
  sink.on_mask = on_mask;
  sink.on_finding = on_finding;

  // One request per possible pipelined response, so responses are always matched.
  static constexpr std::string_view kRequest = "GET / HTTP/1.1\r\nHost: phigate\r\n\r\n";
  for (int i = 0; i < http::max_pending_requests; ++i)
    feed_request(*f, x, reinterpret_cast<const uint8_t*>(kRequest.data()), kRequest.size(), 0, sink);

  // Feed a copy of each piece, as a NIC would deliver it: the engine reads the piece, the masks
  // land in `stream` (the held bytes); `released` tracks what a dataplane would have sent.
  std::vector<uint8_t> piece;
  feed_result r;
  uint64_t now = 1;
  size_t off = 0, seg_index = 0;
  while (off < stream.size() && r.error == engine_error::none) {
    size_t n = stream.size() - off;
    if (!opt.segments.empty()) {
      n = std::min(n, opt.segments[std::min(seg_index, opt.segments.size() - 1)]);
      if (n == 0) n = 1;
      ++seg_index;
    }
    piece.assign(stream.begin() + off, stream.begin() + off + n);
    r = feed_response(*f, x, piece.data(), piece.size(), now++, sink);
    off += n;
    ++o.feeds;
    if (r.error == engine_error::none) {
      if (r.final_offset < off) {
        ++o.held_feeds;
        o.max_held_bytes = std::max<uint64_t>(o.max_held_bytes, off - r.final_offset);
      }
      col.released = std::max(col.released, r.final_offset);
      if (opt.flush_after_each && r.final_offset < off) {
        r = flush_response(*f, x, now++, sink);
        col.released = std::max(col.released, r.final_offset);
      }
    }
  }
  if (r.error == engine_error::none) r = finish_response(*f, x, now++, sink);
  flow_engine_teardown(*f);
  o.error = r.error;
  o.http_error = r.http_error;
  o.late_mask_bytes = col.late;
  if (r.error != engine_error::none) return o;
  o.ok = true;
  const uint64_t shift = head.size();
  o.output.assign(stream.begin() + static_cast<std::ptrdiff_t>(shift), stream.end());
  for (auto fd : findings) {
    fd.raw_start -= std::min(fd.raw_start, shift);
    fd.raw_end -= std::min(fd.raw_end, shift);
    o.findings.push_back(fd);
  }
  return o;
}

}  // namespace phigate::engine
