// token_cache: hits, validity until min(exp, insert + ttl), LRU eviction inside a set, clear.
#include <string>

#include <gtest/gtest.h>

#include "controlplane/auth/token_cache.hh"

namespace phigate::auth {
namespace {

verified_token tok(const std::string& sub, int64_t exp) {
  verified_token t;
  t.subject = sub;
  t.groups = {"g-" + sub};
  t.exp = exp;
  t.kid = "k1";
  return t;
}

TEST(TokenCache, HitReturnsTheStoredTokenAndMissOtherwise) {
  token_cache cache(64, 300);
  cache.insert("token-a", tok("alice", 5000), 1000);
  const verified_token* t = cache.find("token-a", 1001);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->subject, "alice");
  EXPECT_EQ(t->groups, std::vector<std::string>{"g-alice"});
  EXPECT_EQ(cache.find("token-b", 1001), nullptr);
  EXPECT_EQ(cache.find("token-a ", 1001), nullptr);  // exact text only
  EXPECT_EQ(cache.stats().hits, 1u);
  EXPECT_EQ(cache.stats().misses, 2u);
}

TEST(TokenCache, ValidUntilEarlierOfExpAndTtl) {
  token_cache cache(64, 300);
  cache.insert("short-exp", tok("a", 1100), 1000);  // exp first
  cache.insert("long-exp", tok("b", 9000), 1000);   // ttl first: 1300
  EXPECT_NE(cache.find("short-exp", 1099), nullptr);
  EXPECT_EQ(cache.find("short-exp", 1100), nullptr);
  EXPECT_NE(cache.find("long-exp", 1299), nullptr);
  EXPECT_EQ(cache.find("long-exp", 1300), nullptr);
  EXPECT_EQ(cache.stats().expired, 2u);
  // Already expired at insert: not cached at all.
  cache.insert("dead", tok("c", 1000), 1000);
  EXPECT_EQ(cache.find("dead", 1000), nullptr);
}

TEST(TokenCache, CapacityIsFixedAndLeastRecentlyUsedIsEvicted) {
  token_cache cache(8, 1000);  // one 8-way set: every token competes
  ASSERT_EQ(cache.capacity(), 8u);
  for (int i = 0; i < 8; ++i) cache.insert("t" + std::to_string(i), tok("s" + std::to_string(i), 5000), 100);
  EXPECT_EQ(cache.size(), 8u);
  ASSERT_NE(cache.find("t0", 101), nullptr);  // t0 becomes most recent; t1 is now the oldest
  cache.insert("t8", tok("s8", 5000), 102);
  EXPECT_EQ(cache.size(), 8u);
  EXPECT_EQ(cache.stats().evictions, 1u);
  EXPECT_EQ(cache.find("t1", 103), nullptr);
  EXPECT_NE(cache.find("t0", 103), nullptr);
  EXPECT_NE(cache.find("t8", 103), nullptr);
}

TEST(TokenCache, ReinsertReplacesAndExpiredWaysAreReusedFirst) {
  token_cache cache(8, 1000);
  cache.insert("same", tok("old", 5000), 100);
  cache.insert("same", tok("new", 5000), 101);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.find("same", 102)->subject, "new");
  cache.insert("soon-dead", tok("x", 200), 100);
  for (int i = 0; i < 6; ++i) cache.insert("t" + std::to_string(i), tok("y", 5000), 150);
  // Set full; at 250 soon-dead is expired and must be the way reused, not an LRU victim.
  cache.insert("late", tok("z", 5000), 250);
  EXPECT_EQ(cache.stats().evictions, 0u);
  EXPECT_NE(cache.find("same", 251), nullptr);
  EXPECT_NE(cache.find("late", 251), nullptr);
}

TEST(TokenCache, ClearDropsEverything) {
  token_cache cache(100, 1000);
  EXPECT_GE(cache.capacity(), 100u);
  for (int i = 0; i < 50; ++i) cache.insert("t" + std::to_string(i), tok("s", 5000), 100);
  EXPECT_GT(cache.size(), 0u);
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(cache.find("t" + std::to_string(i), 101), nullptr);
}

}  // namespace
}  // namespace phigate::auth
