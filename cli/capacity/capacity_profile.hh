#pragma once
// A traffic profile for `phigate capacity`: the shape of the protected service's traffic (response
// sizes, streamed share, PHI density, concurrency, request rate) that drives the in-memory
// measurement and the sizing. Format: docs/capacity.md.
//
// Setup code: parsing allocates and reports errors as values. Every error names the offending
// field (a JSON path such as "response_sizes[2].weight") and the reason, never a value from the
// file beyond numbers the operator wrote.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace phigate::capacity {

struct size_weight {
  uint64_t bytes = 0;  // whole HTTP response (head and framed body) as it crosses the wire
  double weight = 0;   // relative share of responses of this size
};

// Bounds enforced by profile_parse (inclusive); also the replay's limits (lane addresses, arena).
inline constexpr uint64_t kMinResponseBytes = 512;
inline constexpr uint64_t kMaxResponseBytes = 8ull << 20;
inline constexpr size_t kMaxSizeClasses = 64;
inline constexpr double kMaxPhiPerKib = 40.0;
inline constexpr uint32_t kMaxConcurrentFlows = 65536;
inline constexpr uint32_t kMinRequestBytes = 256;
inline constexpr uint32_t kMaxRequestBytes = 1u << 20;
inline constexpr uint32_t kMaxExchanges = 100;
inline constexpr double kMaxRequestRate = 1e9;

struct traffic_profile {
  std::string name;
  std::string description;
  std::vector<size_weight> response_sizes;
  double sse_share = 0;                   // share of responses streamed as text/event-stream (0..1)
  double phi_per_kib = 0;                 // PHI values per KiB of model text
  uint32_t concurrent_flows = 0;          // TCP connections open at once, over all lcores
  double request_rate_per_s = 0;          // requests per second at the target throughput
  uint32_t request_bytes = 0;             // whole HTTP request (head and body)
  uint32_t exchanges_per_connection = 1;  // HTTP keep-alive: request/response pairs per connection

  double mean_response_bytes() const;  // weighted mean of response_sizes
};

struct profile_error {
  std::string field;  // JSON path of the offending key ("" for the document itself)
  std::string reason;
  std::string message() const;  // "field: reason"
};

using profile_result = std::variant<traffic_profile, profile_error>;

profile_result profile_parse(std::string_view json_text);
profile_result profile_load(const std::string& path);  // field "" and the reason for I/O errors

}  // namespace phigate::capacity
