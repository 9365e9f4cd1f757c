#include "tests/support/guard_page.hh"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace phigate::test {

guarded_buffer::guarded_buffer(std::string_view text)
    : guarded_buffer(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size())) {}

guarded_buffer::guarded_buffer(std::span<const uint8_t> bytes) : size_(bytes.size()) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t data_pages = (bytes.size() + page - 1) / page;
  map_len_ = (data_pages + 1) * page;
  map_ = mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map_ == MAP_FAILED) std::abort();
  auto* base = static_cast<uint8_t*>(map_);
  if (mprotect(base + data_pages * page, page, PROT_NONE) != 0) std::abort();
  data_ = base + data_pages * page - bytes.size();
  if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
}

guarded_buffer::~guarded_buffer() { munmap(map_, map_len_); }

}  // namespace phigate::test
