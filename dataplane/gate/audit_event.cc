#include "dataplane/gate/audit_event.hh"

#include <bit>

namespace phigate::gate {

const char* event_kind_name(event_kind k) {
  switch (k) {
    case event_kind::decision: return "decision";
    case event_kind::response: return "response";
    case event_kind::count: break;
  }
  return "unknown";
}

const char* outcome_name(outcome o) {
  static const char* const names[] = {"allowed",          "blocked",           "approval_required",
                                      "approval_granted", "approval_refused",  "audit_unavailable",
                                      "credential_unfit", "no_credential",     "no_policy"};
  return o < outcome::count ? names[static_cast<size_t>(o)] : "unknown";
}

event_ring::event_ring(uint32_t capacity) {
  const uint32_t n = std::bit_ceil(capacity < 2 ? 2u : capacity);
  slots_.reset(new audit_event[n]);
  mask_ = n - 1;
}

audit_event* event_ring::claim() noexcept {
  const uint32_t h = head_.load(std::memory_order_relaxed);
  if (h - tail_.load(std::memory_order_acquire) > mask_) return nullptr;
  audit_event* e = &slots_[h & mask_];
  *e = audit_event{};
  return e;
}

void event_ring::publish() noexcept { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

const audit_event* event_ring::peek() noexcept {
  const uint32_t t = tail_.load(std::memory_order_relaxed);
  if (t == head_.load(std::memory_order_acquire)) return nullptr;
  return &slots_[t & mask_];
}

const audit_event* event_ring::peek_at(uint32_t i) noexcept {
  const uint32_t t = tail_.load(std::memory_order_relaxed);
  if (head_.load(std::memory_order_acquire) - t <= i) return nullptr;
  return &slots_[(t + i) & mask_];
}

void event_ring::pop() noexcept { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

uint32_t event_ring::size() const noexcept {
  return head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_acquire);
}

}  // namespace phigate::gate
