#pragma once
// A single-producer, single-consumer ring of variable-length records: how an lcore hands the
// bytes it forwards (and the spans it masked) to the recording writer thread without locks or
// allocation. A record that does not fit is dropped and counted (the writer then marks the
// session truncated: a recording never blocks or slows the packet path).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace phigate::gate {

enum class record_kind : uint8_t { bytes, span, end, wrap };

struct record_header {
  uint32_t size;        // header + payload, rounded up to 8
  record_kind kind;
  uint8_t response;     // bytes: 1 response direction, 0 request
  uint16_t pad;
  uint32_t pattern;     // span: pattern index
  uint32_t len;         // bytes: payload length; span: masked length
  uint32_t db;          // span: pattern_db::serial() of the database `pattern` indexes
  uint32_t pad2;
  uint64_t conn_id;
  uint64_t stream_off;  // bytes/span: stream offset of the first byte
  uint64_t t_ns;
};
static_assert(sizeof(record_header) % 8 == 0);

class alignas(64) record_ring {
 public:
  explicit record_ring(size_t capacity_pow2) : buf_(new uint8_t[capacity_pow2]), cap_(capacity_pow2) {}

  // Producer. False when it does not fit (counted by the caller).
  bool push(const record_header& h, const uint8_t* payload) noexcept {
    const size_t need = (sizeof(record_header) + h.len * (h.kind == record_kind::bytes) + 7) & ~size_t{7};
    const uint64_t head = head_.load(std::memory_order_relaxed);
    const uint64_t tail = tail_.load(std::memory_order_acquire);
    const size_t at = head & (cap_ - 1);
    const size_t to_end = cap_ - at;
    const size_t total = need <= to_end ? need : to_end + need;  // wrap: skip the tail end
    if (need > cap_ / 2 || head + total - tail > cap_) return false;
    uint64_t h2 = head;
    if (need > to_end) {
      record_header w{};
      w.size = static_cast<uint32_t>(to_end);
      w.kind = record_kind::wrap;
      std::memcpy(buf_.get() + at, &w, sizeof w < to_end ? sizeof w : to_end);
      h2 += to_end;
    }
    record_header out = h;
    out.size = static_cast<uint32_t>(need);
    uint8_t* p = buf_.get() + (h2 & (cap_ - 1));
    std::memcpy(p, &out, sizeof out);
    // Only byte records carry a payload; spans and ends pass nullptr (the null check is also
    // what lets the compiler see memcpy never gets one).
    if (h.kind == record_kind::bytes && h.len != 0 && payload != nullptr) std::memcpy(p + sizeof out, payload, h.len);
    head_.store(h2 + need, std::memory_order_release);
    return true;
  }

  // Consumer: the next record (header, payload) or false.
  bool peek(record_header& h, const uint8_t*& payload) noexcept {
    for (;;) {
      const uint64_t tail = tail_.load(std::memory_order_relaxed);
      if (tail == head_.load(std::memory_order_acquire)) return false;
      const uint8_t* p = buf_.get() + (tail & (cap_ - 1));
      const size_t to_end = cap_ - (tail & (cap_ - 1));
      if (to_end < sizeof(record_header)) {  // a wrap marker too short to hold a header
        tail_.store(tail + to_end, std::memory_order_release);
        continue;
      }
      std::memcpy(&h, p, sizeof h);
      if (h.kind == record_kind::wrap) {
        tail_.store(tail + h.size, std::memory_order_release);
        continue;
      }
      payload = p + sizeof h;
      return true;
    }
  }
  void pop(const record_header& h) noexcept {
    tail_.store(tail_.load(std::memory_order_relaxed) + h.size, std::memory_order_release);
  }

 private:
  std::unique_ptr<uint8_t[]> buf_;
  size_t cap_;
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
};

}  // namespace phigate::gate
