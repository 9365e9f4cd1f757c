#pragma once
// Allocation-free lookup of a set of JSON paths (`model`, `a.b[2].c`, `["key.with.dots"]`) in a
// request body, all in one validating pass.
//
// Why one pass that validates everything: a policy reads several fields of the same body, and
// it must read them as the inference service will. A body that is truncated, not JSON, nested
// too deep, or that repeats a key on a wanted path (services keep either the first or the last
// copy) cannot be read reliably, so extract() reports that instead of guessing; the policy then
// treats every body condition as unknown (fail closed, docs/policy.md).
//
// Ownership and threads: a json_path_set is built at setup time (add() allocates) and is then
// immutable; extract() is const, noexcept, allocation-free and reads only the body span (safe
// against a guard page), so every lcore may call it concurrently on the same set. Its time is
// linear in the body (strings are skipped eight bytes at a time) plus, per object member on a
// wanted path, a scan of that node's children.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace phigate::policy {

inline constexpr uint32_t json_max_depth = 64;            // deeper nesting: too_deep
inline constexpr uint32_t json_path_max_segments = 16;
inline constexpr uint32_t json_path_max_key_bytes = 128;
inline constexpr uint32_t json_path_max_index = 1000000;
inline constexpr uint32_t json_path_set_max_paths = 64;
inline constexpr uint32_t json_path_set_max_nodes = 256;
inline constexpr size_t json_max_body_bytes = 0xffffffffu;  // offsets are 32-bit

enum class json_kind : uint8_t { missing, null, boolean, number, string, array, object };
const char* json_kind_name(json_kind k);  // "missing", "null", "boolean", ...

struct json_value {
  json_kind kind = json_kind::missing;
  bool boolean = false;
  bool number_finite = false;  // number: parsed and representable as a finite double
  bool escaped = false;        // string: raw holds at least one backslash escape
  double number = 0;
  uint32_t length = 0;         // array: element count; object: member count
  // string: the bytes between the quotes, escapes as sent (decode with json_string_*);
  // number: the literal; array/object: the whole value, brackets included. Views into the body.
  std::string_view raw;
};

enum class json_status : uint8_t {
  ok,
  truncated,      // the body ends inside a value
  malformed,      // not JSON (bad token, trailing bytes, bad escape, lone surrogate, control byte)
  too_deep,       // more than json_max_depth nested containers
  duplicate_key,  // a key on a wanted path occurs twice in one object (escapes decoded)
};
const char* json_status_name(json_status s);

struct json_path_segment {
  bool is_index = false;
  uint32_t index = 0;
  std::string key;  // decoded key (is_index == false)
};

// Parses path syntax: segments `key`, `.key`, `[N]`, `["quoted key"]` (\" and \\ escapes).
// A bare key is 1..128 bytes without . [ ] " \ space or control bytes; N is decimal without
// leading zeros, <= 1000000; at most 16 segments. Returns "" or the reason (path not quoted).
std::string json_path_parse(std::string_view text, std::vector<json_path_segment>& out);

class json_path_set {
 public:
  json_path_set();

  // Adds a path (path syntax above) and returns its id (0, 1, ... in order of first addition;
  // adding the same path again returns the same id), or -1 with `error` set.
  int32_t add(std::string_view path, std::string& error);
  uint32_t path_count() const { return path_count_; }

  // Fills out[id] for every path id < out.size() (the rest of `out` is reset to missing).
  // Values are meaningful only when the result is json_status::ok. An empty body is not
  // JSON: callers that treat "no body" specially check for it first.
  json_status extract(std::string_view body, std::span<json_value> out) const noexcept;

 private:
  struct node {
    uint32_t key_off = 0, key_len = 0;  // into keys_
    uint32_t index = 0;
    bool is_index = false;
    int32_t first_child = -1, next_sibling = -1;
    int32_t path = -1;                  // id of the path ending here
  };
  int32_t key_child(int32_t parent, std::string_view raw, bool escaped) const noexcept;
  int32_t index_child(int32_t parent, uint32_t index) const noexcept;

  std::vector<node> nodes_;  // nodes_[0] is the root (the whole body)
  std::string keys_;
  uint32_t path_count_ = 0;
};

// Helpers over a string's raw content as returned in json_value::raw. They validate as they go
// and return false on a malformed escape, so they are safe on any bytes.
// Whether the decoded string equals `decoded` byte for byte.
bool json_string_equals(std::string_view raw, std::string_view decoded) noexcept;
// Decodes into out[0, cap); false when malformed or longer than cap. `len` gets the length.
bool json_string_decode(std::string_view raw, char* out, size_t cap, size_t& len) noexcept;

}  // namespace phigate::policy
