// token_cache::find must not allocate: counts every C++ and OpenSSL allocation around lookups.
// Its own executable because it replaces the global allocator and OpenSSL's memory functions
// (which must happen before OpenSSL's first allocation, hence the static initializer).
#include <openssl/crypto.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include <gtest/gtest.h>

#include "controlplane/auth/token_cache.hh"

namespace {

std::atomic<long> allocations{0};

void* counting_malloc(size_t n, const char*, int) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n);
}
void* counting_realloc(void* p, size_t n, const char*, int) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::realloc(p, n);
}
void counting_free(void* p, const char*, int) { std::free(p); }

const bool openssl_hooked = CRYPTO_set_mem_functions(counting_malloc, counting_realloc, counting_free) == 1;

}  // namespace

void* operator new(size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// GCC cannot see that operator new above is the malloc-backed replacement.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace phigate::auth {
namespace {

TEST(TokenCacheAlloc, FindAllocatesNothingOnHitMissOrExpiry) {
  ASSERT_TRUE(openssl_hooked) << "OpenSSL allocated before the hook: the count would be blind";
  token_cache cache(1024, 300);
  std::string hit = "eyJhbGciOiJFZERTQSJ9." + std::string(600, 'p') + ".sig";
  std::string miss = hit + "x";
  verified_token t;
  t.subject = "alice";
  t.groups = {"a", "b"};
  t.exp = 2000;
  cache.insert(hit, std::move(t), 1000);
  cache.insert("expiring", verified_token{.subject = "bob", .groups = {}, .exp = 1001, .kid = {}, .alg = {}}, 1000);

  const long before = allocations.load();
  const verified_token* found = nullptr;
  for (int i = 0; i < 1000; ++i) found = cache.find(hit, 1000 + i % 100);
  for (int i = 0; i < 1000; ++i) (void)cache.find(miss, 1000);
  (void)cache.find("expiring", 1500);
  const long after = allocations.load();
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->subject, "alice");
  EXPECT_EQ(after - before, 0);
  // The counter does see allocations (guards against a hook that counts nothing).
  std::string grow(1000, 'x');
  EXPECT_GT(allocations.load(), after);
}

}  // namespace
}  // namespace phigate::auth
