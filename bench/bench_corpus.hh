#pragma once
// Synthetic LLM API traffic for the engine benchmarks, built in memory at start-up.
//
// Why synthetic: real completions carry real PHI and cannot be checked in; what matters for
// throughput is the shape (OpenAI framing, body sizes, PHI density, token splitting), which is
// reproduced here deterministically from a seed (std::mt19937_64, fixed distributions written
// out by hand so the bytes do not depend on the standard library's distribution classes).
// Every planted value is synthetic and passes the catalog's validators: SSNs with a valid
// area/group/serial, NANP phones NXX-555-01xx, e-mail on example.{com,org,net}, calendar-valid
// dates. Setup code: allocates freely; not for the hot path.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace phigate::bench {

enum class corpus_kind : uint8_t {
  sparse_json,  // chat.completion bodies of 4-16 KB, ~1 PHI value per 4 KB
  dense_json,   // same shape, ~30 PHI values per KB of model text
  sse,          // chat.completion.chunk event streams, one 1-8 byte token per event
};
inline constexpr corpus_kind kAllCorpusKinds[] = {corpus_kind::sparse_json, corpus_kind::dense_json,
                                                  corpus_kind::sse};
const char* corpus_kind_name(corpus_kind k);  // "sparse_json", "dense_json", "sse"

struct http_response {
  std::string bytes;     // the whole HTTP/1.1 response as it crosses the wire (head + framed body)
  size_t body_off = 0;   // first body byte; for chunked bodies the framing stays in place
  uint32_t planted = 0;  // PHI values planted in the model text
  bool chunked = false;
  // The body as the regex baselines scan it: raw wire bytes after the head, undecoded.
  std::string_view body() const { return std::string_view(bytes).substr(body_off); }
};

struct corpus {
  corpus_kind kind{};
  std::vector<http_response> responses;
  uint64_t total_bytes = 0;  // sum of responses[i].bytes.size()
  uint64_t body_bytes = 0;   // sum of body().size()
  uint64_t planted = 0;
  size_t max_response_bytes = 0;
};

// `count` responses of `kind`; the same (kind, count, seed) always gives the same bytes.
corpus corpus_build(corpus_kind kind, size_t count, uint64_t seed);

}  // namespace phigate::bench
