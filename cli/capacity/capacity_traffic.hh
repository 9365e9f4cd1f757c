#pragma once
// The profile's traffic as TCP frames in memory: OpenAI-style chat completions (JSON bodies with
// Content-Length, or text/event-stream chunks with Content-Length or chunked framing) whose sizes
// follow the profile's distribution, with synthetic PHI planted in the model text at the
// profile's density, cut into 1448-byte segments by bench/frame_corpus (handshake, keep-alive
// exchanges, delayed ACKs, FIN exchange).
//
// Why a generator of its own rather than bench/bench_corpus: the profile asks for shapes that
// corpus lacks (any response size, any PHI density, any streamed share, keep-alive exchanges).
// Deterministic for a given profile and seed (std::mt19937_64 with hand-written draws, so the bytes
// do not depend on the standard library's distribution classes).
//
// Planted values are synthetic and pass the catalog's validators: SSNs with a valid
// area/group/serial, NANP phones NXX-555-01xx, e-mail on example.{com,org,net}. They are kept
// here (setup memory, never in a message) only to prove the forwarded stream masked them.
//
// Setup code: allocates freely; read-only afterwards (any number of threads may replay it).
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "bench/frame_corpus.hh"
#include "cli/capacity/capacity_profile.hh"

namespace phigate::capacity {

struct generated_response {
  std::string bytes;  // the whole HTTP/1.1 response (head and framed body)
  bool sse = false;
  bool chunked = false;              // Transfer-Encoding: chunked (SSE only)
  uint64_t model_text_bytes = 0;     // bytes of model text (the content strings, unescaped)
  std::vector<std::string> planted;  // synthetic PHI values in the model text, in order
};

// One response of about `bytes` wire bytes (at least the envelope).
generated_response make_response(std::mt19937_64& rng, uint64_t bytes, bool sse, bool chunked, double phi_per_kib);

// A POST /v1/chat/completions request of about `bytes` wire bytes (never less than its head).
std::string make_request(std::mt19937_64& rng, uint32_t bytes, bool stream);

// The model text a client would show: every "content" string of the response, unescaped, in
// order (for SSE, the deltas of all events concatenated). Works on masked responses (masking keeps
// lengths and JSON structure).
std::string model_text_of(std::string_view response);

// Replay data for one profile.
struct replay_set {
  bench::frame_corpus fc;
  bench::conversation_shape shape;
  std::vector<generated_response> responses;
  std::vector<std::string> requests;                    // per script
  std::vector<std::vector<uint32_t>> script_responses;  // per script: indices into responses, in order
  std::vector<bool> script_sse;
  // What one pass over every script carries.
  uint64_t frames_per_pass = 0;
  uint64_t response_payload_per_pass = 0;
  uint64_t requests_per_pass = 0;
  uint64_t planted_per_pass = 0;
  double sse_share = 0;            // actual share of streamed responses
  double mean_response_bytes = 0;  // actual mean
};

inline constexpr uint64_t kDefaultSeed = 20261128;
// Response bytes the replay may hold in memory (scripts are reduced to stay below).
inline constexpr uint64_t kReplayBudgetBytes = 256ull << 20;
inline constexpr uint32_t kMaxScripts = 32;

std::variant<replay_set, std::string> replay_set_build(const traffic_profile& p, uint64_t seed = kDefaultSeed);

}  // namespace phigate::capacity
