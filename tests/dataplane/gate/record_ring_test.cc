// record_ring: variable-length records survive wrap-around byte-exact and in order; a full ring
// refuses (the caller counts the drop) and accepts again once drained; a record larger than half
// the ring is refused outright.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dataplane/gate/record_ring.hh"

namespace phigate::gate {
namespace {

record_header bytes_header(uint64_t conn, uint64_t off, uint32_t len) {
  record_header h{};
  h.kind = record_kind::bytes;
  h.conn_id = conn;
  h.stream_off = off;
  h.len = len;
  return h;
}

TEST(record_ring, records_wrap_around_in_order_and_byte_exact) {
  record_ring r(1024);
  uint64_t written = 0, read = 0;
  std::string expect_all, got_all;
  for (int round = 0; round < 200; ++round) {
    const uint32_t len = 1 + (round * 37) % 200;
    std::string payload(len, static_cast<char>('a' + round % 26));
    if (r.push(bytes_header(1, written, len), reinterpret_cast<const uint8_t*>(payload.data()))) {
      expect_all += payload;
      written += len;
    }
    record_header h;
    const uint8_t* p = nullptr;
    if (round % 3 != 0)
      while (r.peek(h, p)) {
        ASSERT_EQ(h.stream_off, read);
        got_all.append(reinterpret_cast<const char*>(p), h.len);
        read += h.len;
        r.pop(h);
      }
  }
  record_header h;
  const uint8_t* p = nullptr;
  while (r.peek(h, p)) {
    got_all.append(reinterpret_cast<const char*>(p), h.len);
    r.pop(h);
  }
  EXPECT_EQ(got_all, expect_all);
  EXPECT_GT(written, 4096u) << "the ring wrapped many times";
}

TEST(record_ring, full_ring_refuses_then_recovers) {
  record_ring r(256);
  const std::string payload(60, 'x');
  int pushed = 0;
  while (r.push(bytes_header(1, 0, 60), reinterpret_cast<const uint8_t*>(payload.data()))) ++pushed;
  EXPECT_GE(pushed, 2);
  record_header h;
  const uint8_t* p = nullptr;
  ASSERT_TRUE(r.peek(h, p));
  r.pop(h);
  EXPECT_TRUE(r.push(bytes_header(1, 0, 60), reinterpret_cast<const uint8_t*>(payload.data())));
  const std::string huge(200, 'y');
  EXPECT_FALSE(r.push(bytes_header(1, 0, 200), reinterpret_cast<const uint8_t*>(huge.data())));
  record_header span{};
  span.kind = record_kind::span;
  span.len = 1000;  // a span's len is the masked length, not a payload
  record_ring r2(256);
  EXPECT_TRUE(r2.push(span, nullptr));
}

}  // namespace
}  // namespace phigate::gate
