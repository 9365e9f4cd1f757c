#pragma once
// A fixed pool of T for one thread, reserved at setup and touched only as used.
//
// Why: state that only an open message needs (a response body's decoder and scanner channels)
// should not sit in every flow slot. Slots of idle keep-alive connections then cost what their
// TCP and HTTP framing need, and the per-body state is paid for by the bodies open at once. The
// whole pool is reserved up front (no allocation on the packet path); objects never used yet are
// handed out from `fresh` on, so their pages are touched only once a body needs one, and returned
// objects are reused first (LIFO: the warmest memory).
//
// Threads: take/put on the owner thread only. The counters may be read from any thread
// (monitoring; relaxed).
#include <atomic>
#include <cstdint>
#include <new>
#include <type_traits>

namespace phigate::core {

struct object_pool_stats {
  uint64_t capacity = 0;
  uint64_t in_use = 0;      // objects handed out now
  uint64_t high_water = 0;  // most objects ever in use at once
  uint64_t failed = 0;      // take() found the pool empty
};

template <class T>
class object_pool {
  // Objects are never destroyed (the pool is freed as raw memory), and a free one's first bytes
  // thread the free list: plain data only.
  static_assert(std::is_trivially_destructible_v<T>, "object_pool holds plain data");

 public:
  object_pool() = default;
  object_pool(const object_pool&) = delete;
  object_pool& operator=(const object_pool&) = delete;
  ~object_pool() { ::operator delete(base_, std::align_val_t{alignof(T)}, std::nothrow); }

  // Setup time. False on allocation failure or a zero capacity. Objects are constructed when
  // first handed out; a reused one keeps the state it was returned with (the caller resets it).
  bool init(uint32_t capacity) {
    if (capacity == 0 || base_ != nullptr) return false;
    base_ = static_cast<slot*>(::operator new(sizeof(slot) * capacity, std::align_val_t{alignof(T)}, std::nothrow));
    if (base_ == nullptr) return false;
    capacity_ = capacity;
    return true;
  }

  T* take() {
    slot* s = free_;
    if (s != nullptr) {
      free_ = s->next;
    } else if (fresh_ < capacity_) {
      s = base_ + fresh_++;
      new (&s->obj) T();
    } else {
      bump(failed_, 1);
      return nullptr;
    }
    bump(in_use_, 1);
    if (in_use_.load(std::memory_order_relaxed) > high_water_.load(std::memory_order_relaxed))
      high_water_.store(in_use_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    return &s->obj;
  }

  void put(T* p) {
    if (p == nullptr) return;
    slot* s = reinterpret_cast<slot*>(p);  // obj is the first member
    s->next = free_;
    free_ = s;
    bump(in_use_, -1);
  }

  bool owns(const T* p) const {
    const auto* s = reinterpret_cast<const slot*>(p);
    return s >= base_ && s < base_ + capacity_;
  }

  object_pool_stats stats() const {
    return {capacity_, in_use_.load(std::memory_order_relaxed), high_water_.load(std::memory_order_relaxed),
            failed_.load(std::memory_order_relaxed)};
  }

 private:
  // A free object's first bytes thread the free list; a returned object is reset by the caller
  // before use.
  union slot {
    T obj;
    slot* next;
    slot() {}
    ~slot() {}
  };
  static void bump(std::atomic<uint64_t>& c, int64_t d) {
    c.store(c.load(std::memory_order_relaxed) + static_cast<uint64_t>(d), std::memory_order_relaxed);
  }

  slot* base_ = nullptr;
  slot* free_ = nullptr;
  uint32_t capacity_ = 0;
  uint32_t fresh_ = 0;
  std::atomic<uint64_t> in_use_{0}, high_water_{0}, failed_{0};
};

}  // namespace phigate::core
