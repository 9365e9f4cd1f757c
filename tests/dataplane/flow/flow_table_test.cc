// Flow keys and the per-lcore flow table: symmetric keys and hashes, bounded inserts (full table,
// full bucket pair, memcap at setup), idle eviction per timeout class on an injected clock, and a
// randomized model check against std::map.
#include <gtest/gtest.h>

#include <array>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "dataplane/flow/flow_key.hh"
#include "dataplane/flow/flow_table.hh"

namespace phigate::flow {
namespace {

constexpr uint8_t kTcp = 6;
constexpr uint64_t kSec = 1'000'000'000ULL;

flow_key key4(uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp, bool& swapped) {
  const uint8_t s[4] = {uint8_t(src >> 24), uint8_t(src >> 16), uint8_t(src >> 8), uint8_t(src)};
  const uint8_t d[4] = {uint8_t(dst >> 24), uint8_t(dst >> 16), uint8_t(dst >> 8), uint8_t(dst)};
  return make_flow_key_v4(s, d, sp, dp, kTcp, swapped);
}

flow_key nth_key(uint32_t i) {
  bool sw;
  return key4(0x0a000000u + (i >> 8), 0xc0a80001u, uint16_t(1024 + (i & 0xff) * 61), 443, sw);
}

flow_table_config small_config(uint32_t capacity) {
  flow_table_config cfg;
  cfg.capacity = capacity;
  cfg.hash_seed = 0x1234567;
  cfg.timeout_ns[0] = 30 * kSec;
  cfg.timeout_ns[1] = 600 * kSec;
  cfg.timeout_ns[2] = 10 * kSec;
  return cfg;
}

TEST(flow_key, both_directions_give_the_same_key_and_hash_ipv4) {
  bool s1 = false, s2 = false;
  const flow_key a = key4(0x0a000001, 0x0a000002, 40000, 8000, s1);
  const flow_key b = key4(0x0a000002, 0x0a000001, 8000, 40000, s2);
  EXPECT_TRUE(flow_key_equal(a, b));
  EXPECT_NE(s1, s2);
  EXPECT_EQ(flow_key_hash(a, 99), flow_key_hash(b, 99));
  EXPECT_NE(flow_key_hash(a, 99), flow_key_hash(a, 100)) << "the seed must change the hash";
}

TEST(flow_key, both_directions_give_the_same_key_and_hash_ipv6) {
  uint8_t x[16] = {0x20, 0x01, 0x0d, 0xb8}, y[16] = {0x20, 0x01, 0x0d, 0xb8};
  x[15] = 1;
  y[15] = 2;
  bool s1, s2;
  const flow_key a = make_flow_key_v6(x, y, 5555, 80, kTcp, s1);
  const flow_key b = make_flow_key_v6(y, x, 80, 5555, kTcp, s2);
  EXPECT_TRUE(flow_key_equal(a, b));
  EXPECT_NE(s1, s2);
  EXPECT_EQ(flow_key_hash(a, 7), flow_key_hash(b, 7));
}

TEST(flow_key, same_address_orders_by_port) {
  bool s1, s2;
  const flow_key a = key4(0x7f000001, 0x7f000001, 9000, 80, s1);
  const flow_key b = key4(0x7f000001, 0x7f000001, 80, 9000, s2);
  EXPECT_TRUE(flow_key_equal(a, b));
  EXPECT_NE(s1, s2);
}

TEST(flow_key, distinct_tuples_stay_distinct) {
  bool sw;
  const flow_key base = key4(0x0a000001, 0x0a000002, 40000, 8000, sw);
  EXPECT_FALSE(flow_key_equal(base, key4(0x0a000001, 0x0a000002, 40001, 8000, sw)));
  EXPECT_FALSE(flow_key_equal(base, key4(0x0a000001, 0x0a000003, 40000, 8000, sw)));
  // Crossed ports are another connection, not the reverse direction.
  EXPECT_FALSE(flow_key_equal(base, key4(0x0a000001, 0x0a000002, 8000, 40000, sw)));
  const uint8_t s4[4] = {10, 0, 0, 1}, d4[4] = {10, 0, 0, 2};
  flow_key udp = make_flow_key_v4(s4, d4, 40000, 8000, 17, sw);
  EXPECT_FALSE(flow_key_equal(base, udp));
  // A v6 flow to the literal v4-mapped addresses is not the v4 flow.
  uint8_t ms[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
  uint8_t md[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2};
  EXPECT_FALSE(flow_key_equal(base, make_flow_key_v6(ms, md, 40000, 8000, kTcp, sw)));
}

TEST(flow_key, hash_spreads_over_buckets) {
  // 4096 flows over 256 buckets: no bucket should be wildly over its mean of 16.
  std::vector<int> hits(256);
  for (uint32_t i = 0; i < 4096; ++i) ++hits[flow_key_hash(nth_key(i), 42) & 255];
  for (int h : hits) EXPECT_LT(h, 48);
}

TEST(flow_table, config_is_checked_and_memcap_enforced_at_setup) {
  flow_table_config cfg = small_config(1000);
  EXPECT_NE(flow_table_config_check(cfg), nullptr);
  EXPECT_EQ(flow_table_create(cfg), nullptr);
  cfg = small_config(1024);
  cfg.payload_size = 4096;
  EXPECT_EQ(flow_table_config_check(cfg), nullptr);
  cfg.memcap_bytes = flow_table_bytes(cfg) - 1;
  EXPECT_NE(flow_table_config_check(cfg), nullptr);
  EXPECT_EQ(flow_table_create(cfg), nullptr);
  cfg.memcap_bytes = flow_table_bytes(cfg);
  flow_table* t = flow_table_create(cfg);
  ASSERT_NE(t, nullptr);
  flow_table_destroy(t);
}

TEST(flow_table, insert_find_direction_remove) {
  flow_table* t = flow_table_create(small_config(64));
  ASSERT_NE(t, nullptr);
  bool sw_c, sw_s;
  const flow_key kc = key4(0x0a000009, 0x0a000002, 40000, 8000, sw_c);  // client -> server
  const flow_key ks = key4(0x0a000002, 0x0a000009, 8000, 40000, sw_s);  // server -> client
  const uint64_t h = flow_table_hash(*t, kc);
  EXPECT_EQ(flow_table_find(*t, kc, h), nullptr);
  flow_entry* e = flow_table_insert(*t, kc, h, sw_c, 5);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(flow_table_live(*t), 1u);
  EXPECT_EQ(flow_table_find(*t, ks, flow_table_hash(*t, ks)), e);
  EXPECT_EQ(flow_direction(*e, sw_c), flow_dir::to_responder);
  EXPECT_EQ(flow_direction(*e, sw_s), flow_dir::to_initiator);
  // Inserting again returns the existing entry and keeps the initiator.
  EXPECT_EQ(flow_table_insert(*t, ks, h, sw_s, 6), e);
  EXPECT_EQ(flow_direction(*e, sw_c), flow_dir::to_responder);
  EXPECT_EQ(flow_table_stats(*t).inserts, 1u);
  flow_table_remove(*t, *e);
  EXPECT_EQ(flow_table_find(*t, kc, h), nullptr);
  EXPECT_EQ(flow_table_live(*t), 0u);
  EXPECT_EQ(flow_table_stats(*t).removes, 1u);
  flow_table_destroy(t);
}

TEST(flow_table, full_table_refuses_and_counts_then_recovers) {
  flow_table* t = flow_table_create(small_config(16));
  ASSERT_NE(t, nullptr);
  std::vector<flow_entry*> es;
  for (uint32_t i = 0; i < 16; ++i) {
    const flow_key k = nth_key(i);
    flow_entry* e = flow_table_insert(*t, k, flow_table_hash(*t, k), false, 1);
    ASSERT_NE(e, nullptr) << i;
    es.push_back(e);
  }
  const flow_key extra = nth_key(100);
  EXPECT_EQ(flow_table_insert(*t, extra, flow_table_hash(*t, extra), false, 1), nullptr);
  EXPECT_EQ(flow_table_stats(*t).insert_fail_full, 1u);
  for (uint32_t i = 0; i < 16; ++i) {
    const flow_key k = nth_key(i);
    EXPECT_EQ(flow_table_find(*t, k, flow_table_hash(*t, k)), es[i]);
  }
  flow_table_remove(*t, *es[3]);
  EXPECT_NE(flow_table_insert(*t, extra, flow_table_hash(*t, extra), false, 1), nullptr);
  flow_table_destroy(t);
}

TEST(flow_table, colliding_keys_fill_only_their_bucket_pair) {
  flow_table* t = flow_table_create(small_config(1024));  // 256 buckets of 8
  ASSERT_NE(t, nullptr);
  // Find 17 keys sharing one bucket pair: 16 fit (8 + 8), the 17th is refused.
  uint32_t want1 = 0, want2 = 0;
  std::vector<flow_key> same;
  for (uint32_t i = 0; same.size() < 17 && i < 2'000'000; ++i) {
    const flow_key k = nth_key(i);
    uint32_t b1, b2;
    flow_table_buckets_of(*t, flow_table_hash(*t, k), b1, b2);
    ASSERT_NE(b1, b2);
    if (same.empty()) {
      want1 = std::min(b1, b2);
      want2 = std::max(b1, b2);
    }
    if (std::min(b1, b2) == want1 && std::max(b1, b2) == want2) same.push_back(k);
  }
  ASSERT_EQ(same.size(), 17u);
  for (size_t i = 0; i < 16; ++i) EXPECT_NE(flow_table_insert(*t, same[i], flow_table_hash(*t, same[i]), false, 1), nullptr);
  EXPECT_EQ(flow_table_insert(*t, same[16], flow_table_hash(*t, same[16]), false, 1), nullptr);
  EXPECT_EQ(flow_table_stats(*t).insert_fail_bucket, 1u);
  // Keys of other buckets are unaffected.
  for (uint32_t i = 3'000'000, found = 0; found < 8; ++i) {
    const flow_key other = nth_key(i);
    uint32_t b1, b2;
    flow_table_buckets_of(*t, flow_table_hash(*t, other), b1, b2);
    if (b1 == want1 || b1 == want2 || b2 == want1 || b2 == want2) continue;
    ++found;
    EXPECT_NE(flow_table_insert(*t, other, flow_table_hash(*t, other), false, 1), nullptr);
  }
  for (size_t i = 0; i < 16; ++i) EXPECT_NE(flow_table_find(*t, same[i], flow_table_hash(*t, same[i])), nullptr);
  flow_table_destroy(t);
}

struct evicted_log {
  std::vector<uint32_t> ids;  // payload ids in eviction order
};

TEST(flow_table, idle_eviction_per_class_on_injected_clock) {
  flow_table_config cfg = small_config(64);
  cfg.payload_size = sizeof(uint32_t);
  cfg.payload_align = alignof(uint32_t);
  flow_table* t = flow_table_create(cfg);
  ASSERT_NE(t, nullptr);
  auto add = [&](uint32_t id, uint64_t now, timeout_class c) {
    const flow_key k = nth_key(id);
    flow_entry* e = flow_table_insert(*t, k, flow_table_hash(*t, k), false, now, c);
    EXPECT_NE(e, nullptr);
    flow_payload<uint32_t>(*t, *e) = id;
    return e;
  };
  flow_entry* syn_old = add(1, 0, timeout_class::syn);
  add(2, 5 * kSec, timeout_class::syn);
  flow_entry* est = add(3, 0, timeout_class::established);
  flow_entry* closing = add(4, 0, timeout_class::closing);
  (void)syn_old;
  evicted_log log;
  evict_sink sink{&log, [](void* ctx, flow_entry&, void* payload) {
                    static_cast<evicted_log*>(ctx)->ids.push_back(*static_cast<uint32_t*>(payload));
                  }};
  // t = 9.999 s: nothing idle long enough.
  EXPECT_EQ(flow_table_expire(*t, 10 * kSec - 1, 100, sink), 0u);
  // t = 10 s: the closing flow (10 s timeout).
  EXPECT_EQ(flow_table_expire(*t, 10 * kSec, 100, sink), 1u);
  EXPECT_EQ(log.ids, (std::vector<uint32_t>{4}));
  (void)closing;
  // Activity at 20 s keeps flow 1 alive past 30 s; flow 2 (seen at 5 s) goes at 35 s.
  flow_table_touch(*t, *syn_old, 20 * kSec);
  EXPECT_EQ(flow_table_expire(*t, 34 * kSec, 100, sink), 0u);
  EXPECT_EQ(flow_table_expire(*t, 35 * kSec, 100, sink), 1u);
  EXPECT_EQ(log.ids.back(), 2u);
  // Established flows get the long timeout; moving one to closing shortens it.
  EXPECT_EQ(flow_table_expire(*t, 599 * kSec, 100, sink), 1u);  // flow 1 (syn, 20 s + 30 s)
  EXPECT_EQ(log.ids.back(), 1u);
  flow_table_set_class(*t, *est, timeout_class::closing, 599 * kSec);
  EXPECT_EQ(flow_table_expire(*t, 608 * kSec, 100, sink), 0u);
  EXPECT_EQ(flow_table_expire(*t, 609 * kSec, 100, sink), 1u);
  EXPECT_EQ(log.ids.back(), 3u);
  EXPECT_EQ(flow_table_live(*t), 0u);
  const auto& st = flow_table_stats(*t);
  EXPECT_EQ(st.evicted[0], 2u);
  EXPECT_EQ(st.evicted[1], 0u);
  EXPECT_EQ(st.evicted[2], 2u);
  flow_table_destroy(t);
}

TEST(flow_table, expire_respects_budget) {
  flow_table* t = flow_table_create(small_config(64));
  ASSERT_NE(t, nullptr);
  for (uint32_t i = 0; i < 10; ++i) {
    const flow_key k = nth_key(i);
    ASSERT_NE(flow_table_insert(*t, k, flow_table_hash(*t, k), false, i), nullptr);
  }
  evict_sink none;
  EXPECT_EQ(flow_table_expire(*t, 1000 * kSec, 3, none), 3u);
  EXPECT_EQ(flow_table_live(*t), 7u);
  // The oldest went first.
  for (uint32_t i = 0; i < 3; ++i) {
    const flow_key k = nth_key(i);
    EXPECT_EQ(flow_table_find(*t, k, flow_table_hash(*t, k)), nullptr);
  }
  EXPECT_EQ(flow_table_expire(*t, 1000 * kSec, 100, none), 7u);
  flow_table_destroy(t);
}

struct counted {
  static inline int live = 0;
  uint64_t marker = 0xfeedface;
  counted() { ++live; }
  ~counted() { --live; }
};

TEST(flow_table, typed_payloads_are_constructed_once_and_destroyed) {
  flow_table* t = flow_table_create_for<counted>(small_config(32));
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(counted::live, 32);
  const flow_key k = nth_key(1);
  flow_entry* e = flow_table_insert(*t, k, flow_table_hash(*t, k), false, 0);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(flow_payload<counted>(*t, *e).marker, 0xfeedfaceu);
  flow_table_destroy_for<counted>(t);
  EXPECT_EQ(counted::live, 0);
}

TEST(flow_table, random_operations_match_a_model) {
  flow_table* t = flow_table_create(small_config(256));
  ASSERT_NE(t, nullptr);
  std::mt19937 rng(5);
  std::map<uint32_t, flow_entry*> model;
  for (int step = 0; step < 20000; ++step) {
    const uint32_t id = rng() % 400;
    const flow_key k = nth_key(id);
    const uint64_t h = flow_table_hash(*t, k);
    auto it = model.find(id);
    switch (rng() % 3) {
      case 0: {
        flow_entry* e = flow_table_insert(*t, k, h, false, step);
        if (it != model.end()) {
          EXPECT_EQ(e, it->second);
        } else if (model.size() < 256) {
          ASSERT_NE(e, nullptr) << "bucket pair full at load " << model.size();
          model[id] = e;
        } else {
          EXPECT_EQ(e, nullptr);
        }
        break;
      }
      case 1:
        EXPECT_EQ(flow_table_find(*t, k, h), it == model.end() ? nullptr : it->second);
        break;
      case 2:
        if (it != model.end()) {
          flow_table_remove(*t, *it->second);
          model.erase(it);
        }
        break;
    }
    ASSERT_EQ(flow_table_live(*t), model.size());
  }
  flow_table_destroy(t);
}

}  // namespace
}  // namespace phigate::flow
