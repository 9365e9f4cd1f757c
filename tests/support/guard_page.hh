#pragma once
// A copy of test input placed so that its last byte sits right before a PROT_NONE page:
// any read past the end faults at once instead of passing silently (picohttpparser's trick).
// Owns its mapping; not thread-safe; tests only.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace phigate::test {

class guarded_buffer {
 public:
  explicit guarded_buffer(std::span<const uint8_t> bytes);
  explicit guarded_buffer(std::string_view text);
  ~guarded_buffer();
  guarded_buffer(const guarded_buffer&) = delete;
  guarded_buffer& operator=(const guarded_buffer&) = delete;

  uint8_t* data() { return data_; }
  size_t size() const { return size_; }
  std::span<uint8_t> span() { return {data_, size_}; }

 private:
  void* map_ = nullptr;
  size_t map_len_ = 0;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace phigate::test
