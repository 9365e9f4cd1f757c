// core::object_pool: bounded, LIFO reuse, counted refusals, and no object handed out twice.
#include "dataplane/core/object_pool.hh"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

namespace phigate::test {
namespace {

struct alignas(64) item {
  uint64_t a = 7;
  uint8_t payload[100] = {};
};

TEST(object_pool, bounded_counted_and_reused_last_in_first_out) {
  core::object_pool<item> p;
  EXPECT_FALSE(p.init(0));
  ASSERT_TRUE(p.init(3));
  EXPECT_FALSE(p.init(3));  // once
  std::vector<item*> got;
  for (int i = 0; i < 3; ++i) {
    item* x = p.take();
    ASSERT_NE(x, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(x) % alignof(item), 0u);
    EXPECT_EQ(x->a, 7u);  // constructed when first handed out
    EXPECT_TRUE(p.owns(x));
    x->a = 100 + i;
    got.push_back(x);
  }
  EXPECT_EQ(std::set<item*>(got.begin(), got.end()).size(), 3u);
  EXPECT_EQ(p.take(), nullptr);
  EXPECT_EQ(p.take(), nullptr);
  core::object_pool_stats s = p.stats();
  EXPECT_EQ(s.capacity, 3u);
  EXPECT_EQ(s.in_use, 3u);
  EXPECT_EQ(s.high_water, 3u);
  EXPECT_EQ(s.failed, 2u);

  p.put(got[0]);
  p.put(got[2]);
  p.put(nullptr);  // ignored
  EXPECT_EQ(p.stats().in_use, 1u);
  EXPECT_EQ(p.take(), got[2]);  // the warmest first
  EXPECT_EQ(p.take(), got[0]);
  EXPECT_EQ(p.take(), nullptr);
  EXPECT_EQ(p.stats().high_water, 3u);
  EXPECT_EQ(p.stats().failed, 3u);
  item other;
  EXPECT_FALSE(p.owns(&other));
  EXPECT_EQ(got[1]->a, 101u);  // untouched by the others' traffic
}

TEST(object_pool, churn_never_hands_out_an_object_twice) {
  core::object_pool<item> p;
  ASSERT_TRUE(p.init(16));
  std::set<item*> live;
  uint64_t x = 88172645463325252ull;
  for (int step = 0; step < 20000; ++step) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    if ((x & 1) != 0 || live.empty()) {
      item* it = p.take();
      if (live.size() == 16) {
        EXPECT_EQ(it, nullptr);
        continue;
      }
      ASSERT_NE(it, nullptr);
      EXPECT_TRUE(live.insert(it).second);
    } else {
      auto i = live.begin();
      std::advance(i, static_cast<long>((x >> 8) % live.size()));
      p.put(*i);
      live.erase(i);
    }
    ASSERT_EQ(p.stats().in_use, live.size());
  }
  EXPECT_LE(p.stats().high_water, 16u);
}

}  // namespace
}  // namespace phigate::test
