// Inline reassembly over fake packets: in-order and every reorder of small segment sets (with
// and without overlapping, conflicting copies), duplicates, first-seen-wins, retransmission after
// release rewritten to the masked bytes that left, history limits, gap timeout, FIN ordering,
// sequence wraparound at 2^32, memcaps and abort. A randomized run checks the two promises on
// every packet that leaves: its bytes are the inspected (masked) bytes, and each packet is handed
// back exactly once.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "tests/dataplane/tcp/reasm_harness.hh"

namespace phigate::test {
namespace {

using tcp::reasm_drop;
using tcp::reasm_event;
using tcp::reasm_status;

constexpr uint64_t kMs = 1'000'000ULL, kSec = 1'000'000'000ULL;

std::string make_stream(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += static_cast<char>('a' + (i * 7 + i / 26) % 26);
  return s;
}

TEST(reassembly, in_order_segments_are_delivered_and_released_in_order) {
  reasm_harness h;
  EXPECT_EQ(h.send(0, "hello ").status, reasm_status::held);
  h.send(6, "world");
  h.send(11, "!");
  EXPECT_EQ(h.delivered, "hello world!");
  EXPECT_EQ(h.forwarded_ids(), (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(h.r.released, 12u);
  EXPECT_EQ(h.r.segments, 0u);
  EXPECT_EQ(tcp::reasm_pool_segments_held(h.pool()), 0u);
  for (const auto& f : h.out) EXPECT_FALSE(f.rewritten);
  h.expect_accounted();
}

TEST(reassembly, packets_wait_for_the_engine_final_offset) {
  reasm_harness h;
  h.lag = 4;
  h.send(0, "abcdef");
  EXPECT_TRUE(h.out.empty()) << "a packet left before all its bytes were final";
  h.send(6, "ghij");  // final = 6: the first packet goes, the second waits
  EXPECT_EQ(h.forwarded_ids(), (std::vector<uint32_t>{0}));
  EXPECT_EQ(h.r.released, 6u);
  EXPECT_EQ(h.release_all(), 1u);
  EXPECT_EQ(h.r.released, 10u);
  h.expect_accounted();
}

// Five adjacent segments in all 120 orders: the engine sees the stream once, in order; packets
// leave in sequence order; nothing is dropped.
TEST(reassembly, every_permutation_of_five_segments) {
  const std::string stream = make_stream(50);
  std::vector<int> order{0, 1, 2, 3, 4};
  int runs = 0;
  do {
    for (uint64_t lag : {0u, 7u}) {
      reasm_harness h;
      h.lag = lag;
      for (int i : order) h.send(uint64_t(i) * 10, std::string_view(stream).substr(i * 10, 10));
      h.release_all();
      ASSERT_EQ(h.delivered, stream);
      std::vector<uint64_t> offs;
      for (const auto& f : h.out) offs.push_back(f.off);
      EXPECT_TRUE(std::is_sorted(offs.begin(), offs.end()));
      EXPECT_EQ(h.out.size(), 5u);
      EXPECT_TRUE(h.drops.empty());
      EXPECT_EQ(h.r.gap_since_ns, 0u);
      h.expect_accounted();
      ++runs;
    }
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(runs, 240);
}

// Overlapping segments whose copies disagree (each carries its own version of the bytes), in
// every order: the first copy of each byte to arrive wins, in what the engine sees and in every
// packet that leaves.
TEST(reassembly, every_permutation_of_conflicting_overlaps_first_seen_wins) {
  struct seg {
    uint64_t off, len;
  };
  const std::vector<seg> segs{{0, 10}, {5, 10}, {15, 15}, {12, 8}, {25, 15}};
  const uint64_t total = 40;
  auto version = [](size_t k, uint64_t off) { return static_cast<char>('A' + k * 5 + off % 5); };
  std::vector<int> order{0, 1, 2, 3, 4};
  do {
    reasm_harness h;
    std::string expect(total, '?');
    std::vector<bool> have(total, false);
    for (int k : order) {
      std::string bytes;
      for (uint64_t o = segs[k].off; o < segs[k].off + segs[k].len; ++o) {
        bytes += version(k, o);
        if (!have[o]) {
          have[o] = true;
          expect[o] = version(k, o);
        }
      }
      h.send(segs[k].off, bytes);
    }
    h.release_all();
    ASSERT_EQ(h.delivered, expect);
    for (const auto& f : h.out) EXPECT_EQ(f.bytes, expect.substr(f.off, f.bytes.size())) << "packet " << f.id;
    for (const auto& d : h.drops) EXPECT_EQ(d.second, reasm_drop::duplicate);
    h.expect_accounted();
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST(reassembly, duplicate_of_held_bytes_is_dropped_duplicate_of_released_is_forwarded) {
  reasm_harness h;
  h.lag = 100;  // hold everything
  h.send(0, "0123456789");
  EXPECT_EQ(h.send(0, "0123456789").status, reasm_status::dropped);
  EXPECT_EQ(h.send(2, "2345").status, reasm_status::dropped);
  EXPECT_EQ(h.counters().drops[size_t(reasm_drop::duplicate)], 2u);
  h.release_all();
  const auto r = h.send(0, "0123456789");
  EXPECT_EQ(r.status, reasm_status::forwarded);
  EXPECT_FALSE(h.out.back().rewritten);
  EXPECT_EQ(h.counters().retransmits_forwarded, 1u);
  h.expect_accounted();
}

TEST(reassembly, overlap_with_different_bytes_is_rewritten_to_the_first_copy) {
  reasm_harness h;
  h.send(10, "AAAAAAAAAA");        // out of order, held
  h.send(5, "bbbbbbbbbb");         // new bytes 5..9; 10..14 must become A
  EXPECT_EQ(h.counters().overlap_packets_rewritten, 1u);
  EXPECT_EQ(h.counters().overlap_bytes_rewritten, 5u);
  h.send(0, "ccccc");
  EXPECT_EQ(h.delivered, "cccccbbbbbAAAAAAAAAA");
  ASSERT_EQ(h.out.size(), 3u);
  // Released by offset order: [0,5), [5,15) rewritten, [10,20).
  EXPECT_EQ(h.out[1].bytes, "bbbbbAAAAA");
  EXPECT_TRUE(h.out[1].rewritten);
  EXPECT_FALSE(h.out[2].rewritten);
  h.expect_accounted();
}

TEST(reassembly, overlap_with_delivered_unreleased_bytes_carries_the_masks) {
  reasm_harness h;
  h.mask_digits = true;
  h.lag = 100;
  h.send(0, "id 4242 x");            // delivered and masked, held by the engine
  h.send(3, "9999 xyz!!");           // conflicting copy with new bytes 9..12
  h.release_all();
  EXPECT_EQ(h.delivered, "id 4242 xyz!!");
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.out[0].bytes, "id **** x");
  EXPECT_EQ(h.out[1].bytes, "**** xyz!!");
  h.expect_accounted();
}

TEST(reassembly, retransmission_after_release_is_rewritten_to_what_left) {
  reasm_harness h;
  h.mask_digits = true;
  h.send(0, "SSN 123-45-6789 ok");
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.out[0].bytes, "SSN ***-**-**** ok");
  // The sender retransmits the original: it leaves masked.
  EXPECT_EQ(h.send(0, "SSN 123-45-6789 ok").status, reasm_status::forwarded);
  EXPECT_EQ(h.out.back().bytes, "SSN ***-**-**** ok");
  EXPECT_TRUE(h.out.back().rewritten);
  // A "retransmission" with other bytes cannot change what the receiver assembles.
  h.send(4, "987-65-4321");
  EXPECT_EQ(h.out.back().bytes, "***-**-****");
  h.send(2, "N 111-11-1111 OK");
  EXPECT_EQ(h.out.back().bytes, "N ***-**-**** ok");
  EXPECT_EQ(h.counters().retransmits_forwarded, 3u);
  EXPECT_EQ(h.delivered, "SSN 123-45-6789 ok") << "retransmissions are never re-inspected";
  h.expect_accounted();
}

TEST(reassembly, retransmission_straddling_released_and_new_bytes) {
  reasm_harness h;
  h.mask_digits = true;
  h.send(0, "call 555");
  h.send(5, "777-0100 now");  // 5..7 already released as "***"; 8..16 new
  EXPECT_EQ(h.delivered, "call 555-0100 now");
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.out[1].bytes, "***-**** now");
  h.expect_accounted();
}

TEST(reassembly, history_limit_drops_old_retransmissions_unless_acknowledged) {
  reasm_harness h(5000, 16);
  const std::string stream = make_stream(64);
  h.send(0, stream);
  ASSERT_EQ(h.r.released, 64u);
  // History holds [48, 64).
  EXPECT_EQ(h.send(0, stream.substr(0, 10)).drop, reasm_drop::retransmit_beyond_history);
  EXPECT_EQ(h.send(40, stream.substr(40, 10)).drop, reasm_drop::retransmit_beyond_history);
  EXPECT_EQ(h.send(50, "XXXXXXXXXX").status, reasm_status::forwarded);
  EXPECT_EQ(h.out.back().bytes, stream.substr(50, 10));
  // Once the receiver acknowledges them, old bytes are filled (it discards them unread).
  tcp::reasm_on_ack(h.r, 5000 + 44);
  EXPECT_EQ(h.send(40, stream.substr(40, 10)).drop, reasm_drop::retransmit_beyond_history)
      << "44..47 are neither in the history nor acknowledged";
  tcp::reasm_on_ack(h.r, 5000 + 64);
  EXPECT_EQ(h.send(40, stream.substr(40, 12)).status, reasm_status::forwarded);
  EXPECT_EQ(h.out.back().bytes, std::string(8, '*') + stream.substr(48, 4));
  EXPECT_EQ(h.counters().retransmit_bytes_filled, 8u);
  // An ACK beyond what we released is clamped: it cannot unlock unknown bytes.
  tcp::reasm_on_ack(h.r, 5000 + 10'000);
  EXPECT_EQ(h.r.acked, 64u);
  EXPECT_EQ(h.counters().drops[size_t(reasm_drop::retransmit_beyond_history)], 3u);
  h.expect_accounted();
}

TEST(reassembly, no_history_means_unacknowledged_retransmissions_are_dropped) {
  reasm_harness h(5000, 0);
  h.send(0, "abc");
  EXPECT_EQ(h.send(0, "abc").drop, reasm_drop::retransmit_beyond_history);
  tcp::reasm_on_ack(h.r, 5003);
  EXPECT_EQ(h.send(0, "abc").status, reasm_status::forwarded);
  EXPECT_EQ(h.out.back().bytes, "***");
}

TEST(reassembly, gap_timeout_reports_unfillable_gap_and_progress_rearms_it) {
  reasm_harness h;
  EXPECT_EQ(h.send(10, "0123456789", false, 1 * kSec).event, reasm_event::none);
  EXPECT_EQ(h.r.gap_since_ns, 1 * kSec);
  EXPECT_EQ(h.send(30, "0123456789", false, 3 * kSec).event, reasm_event::none);
  EXPECT_EQ(tcp::reasm_check(h.r, 6 * kSec - 1), reasm_event::none);
  EXPECT_EQ(tcp::reasm_check(h.r, 6 * kSec), reasm_event::unfillable_gap);
  // Filling the first gap is progress: the timer restarts for the second.
  h.send(0, "abcdefghij", false, 6 * kSec + 1);
  EXPECT_EQ(h.r.delivered, 20u);
  EXPECT_EQ(tcp::reasm_check(h.r, 10 * kSec), reasm_event::none);
  EXPECT_EQ(h.send(45, "z", false, 11 * kSec + 1).event, reasm_event::unfillable_gap);
  h.send(20, "klmnopqrst", false, 12 * kSec);
  h.send(40, "uvwxy", false, 12 * kSec);
  EXPECT_EQ(h.r.gap_since_ns, 0u);
  EXPECT_EQ(tcp::reasm_check(h.r, 100 * kSec), reasm_event::none);
  EXPECT_EQ(h.counters().events[size_t(reasm_event::unfillable_gap)], 2u);
}

TEST(reassembly, fin_in_order_out_of_order_and_contradicted) {
  reasm_harness h;
  h.lag = 0;
  h.send(20, "", true);  // a bare FIN past a gap: held, not yet the end
  EXPECT_FALSE(h.ended);
  EXPECT_TRUE(h.out.empty());
  EXPECT_EQ(h.send(10, "klmnopqrst").status, reasm_status::held);
  EXPECT_EQ(h.send(18, "xyzw").drop, reasm_drop::after_fin);
  EXPECT_EQ(h.send(5, "fghij", true).drop, reasm_drop::fin_moved);
  h.send(0, "abcdefghij");
  EXPECT_TRUE(h.ended);
  EXPECT_EQ(h.end_off, 20u);
  ASSERT_EQ(h.out.size(), 3u);
  EXPECT_TRUE(h.out[2].fin) << "the FIN leaves after the data";
  // The FIN retransmitted after everything left: forwarded so the receiver can ACK it.
  EXPECT_EQ(h.send(20, "", true).status, reasm_status::forwarded);
  EXPECT_EQ(h.send(15, "pqrst", true).status, reasm_status::forwarded);
  h.expect_accounted();
}

TEST(reassembly, fin_before_bytes_already_seen_is_refused) {
  reasm_harness h;
  h.send(30, "late");
  EXPECT_EQ(h.send(10, "abc", true).drop, reasm_drop::fin_moved);
  EXPECT_EQ(h.r.fin_off, UINT64_MAX);
}

TEST(reassembly, duplicate_fin_while_held_is_dropped) {
  reasm_harness h;
  h.lag = 100;
  h.send(0, "abc", true);
  EXPECT_TRUE(h.ended);
  EXPECT_EQ(h.send(0, "abc", true).drop, reasm_drop::duplicate);
  EXPECT_EQ(h.send(3, "", true).drop, reasm_drop::duplicate);
  h.release_all();
  EXPECT_EQ(h.out.size(), 1u);
  h.expect_accounted();
}

TEST(reassembly, sequence_numbers_wrap_at_2_pow_32_in_every_order) {
  const std::string stream = make_stream(40);
  std::vector<int> order{0, 1, 2, 3, 4};
  do {
    reasm_harness h(0xFFFFFFECu);  // offset 20 is sequence number 0
    for (int i : order) h.send(uint64_t(i) * 8, std::string_view(stream).substr(i * 8, 8));
    ASSERT_EQ(h.delivered, stream);
    EXPECT_EQ(h.out.size(), 5u);
    h.expect_accounted();
  } while (std::next_permutation(order.begin(), order.end()));
  // And across many laps of the sequence space, with the unwrapped offset growing past 2^32.
  reasm_harness h(0xFFFFFF00u, 0);
  h.auto_release = true;
  const uint64_t lap = 1ull << 32;
  h.r.delivered = h.r.released = h.r.max_end = lap - 8;  // as if 4 GiB had passed
  h.engine_seen = lap - 8;
  h.send(lap - 8, "01234567");
  h.send(lap, "89");
  EXPECT_EQ(h.r.delivered, lap + 2);
  EXPECT_EQ(h.delivered, "0123456789");
}

TEST(reassembly, before_stream_and_beyond_window_are_dropped) {
  tcp::reasm_config cfg = small_reasm_config();
  cfg.max_ahead_bytes = 1000;
  reasm_harness h(1000, 4096, nullptr, cfg);
  tcp::seg_ref s;
  fake_pkt* p = h.make(0, "xyz");
  s = h.ref(p);
  s.seq = 990;  // ten bytes before the stream
  EXPECT_EQ(tcp::reasm_on_segment(h.r, s, 1, h.sink).drop, reasm_drop::before_stream);
  EXPECT_EQ(h.send(1001, "far").drop, reasm_drop::beyond_window);
  EXPECT_EQ(h.send(1000, "edge").status, reasm_status::held);
  h.expect_accounted(true);
}

TEST(reassembly, per_flow_memcap_on_segments_and_bytes) {
  tcp::reasm_config cfg = small_reasm_config();
  cfg.max_segments_per_flow = 3;
  cfg.max_bytes_per_flow = 25;
  {
    reasm_harness h(1, 4096, nullptr, cfg);
    h.send(10, "a");
    h.send(20, "b");
    h.send(30, "c");
    const auto r = h.send(40, "d");
    EXPECT_EQ(r.event, reasm_event::memcap_flow);
    EXPECT_EQ(r.drop, reasm_drop::memcap_flow);
    EXPECT_EQ(h.counters().events[size_t(reasm_event::memcap_flow)], 1u);
  }
  {
    reasm_harness h(1, 4096, nullptr, cfg);
    h.send(10, "0123456789");
    h.send(30, "0123456789");
    EXPECT_EQ(h.send(50, "0123456789").event, reasm_event::memcap_flow);
  }
}

TEST(reassembly, per_lcore_memcap_is_shared_and_abort_gives_it_back) {
  tcp::reasm_config cfg = small_reasm_config();
  cfg.max_segments = 4;
  tcp::reasm_pool* pool = tcp::reasm_pool_create(cfg);
  ASSERT_NE(pool, nullptr);
  {
    reasm_harness a(1, 4096, pool), b(7, 4096, pool);
    a.send(10, "a");
    a.send(20, "b");
    a.send(30, "c");
    b.send(10, "x");
    EXPECT_EQ(tcp::reasm_pool_segments_held(*pool), 4u);
    EXPECT_EQ(tcp::reasm_pool_bytes_held(*pool), 4u);
    const auto r = b.send(20, "y");
    EXPECT_EQ(r.event, reasm_event::memcap_lcore);
    EXPECT_EQ(r.drop, reasm_drop::memcap_lcore);
    tcp::reasm_abort(a.r, a.sink);
    EXPECT_EQ(a.drops.size(), 3u);
    for (const auto& d : a.drops) EXPECT_EQ(d.second, reasm_drop::aborted);
    EXPECT_EQ(tcp::reasm_pool_segments_held(*pool), 1u);
    EXPECT_EQ(b.send(20, "y").status, reasm_status::held);
    EXPECT_EQ(a.send(0, "q").drop, reasm_drop::not_started) << "an aborted direction takes nothing";
    a.expect_accounted();
    tcp::reasm_abort(b.r, b.sink);
    b.expect_accounted();
  }
  EXPECT_EQ(tcp::reasm_pool_segments_held(*pool), 0u);
  EXPECT_EQ(tcp::reasm_pool_bytes_held(*pool), 0u);
  tcp::reasm_pool_destroy(pool);
}

TEST(reassembly, masks_reach_every_held_copy_and_late_masks_are_counted) {
  reasm_harness h;
  h.lag = 100;
  h.send(0, "aaaaaaaaaa");
  h.send(5, "aaaaabbbbb");
  mask::mask_action a{6, 3, mask::mask_kind::text_all};
  EXPECT_EQ(tcp::reasm_apply_mask(h.r, a), 6u) << "both copies of 6..8";
  h.release_all();
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.out[0].bytes, "aaaaaa***a");
  EXPECT_EQ(h.out[1].bytes, "a***abbbbb");
  EXPECT_TRUE(h.out[0].rewritten);
  EXPECT_EQ(h.counters().late_mask_bytes, 0u);
  mask::mask_action late{12, 5, mask::mask_kind::text_all};
  EXPECT_EQ(tcp::reasm_apply_mask(h.r, late), 0u);
  EXPECT_EQ(h.counters().late_mask_bytes, 3u);
}

TEST(reassembly, config_is_checked) {
  tcp::reasm_config cfg = small_reasm_config();
  EXPECT_EQ(tcp::reasm_config_check(cfg), nullptr);
  cfg.max_ahead_bytes = 1u << 31;
  EXPECT_NE(tcp::reasm_config_check(cfg), nullptr);
  EXPECT_EQ(tcp::reasm_pool_create(cfg), nullptr);
  cfg = small_reasm_config();
  cfg.max_segments = 0;
  EXPECT_NE(tcp::reasm_config_check(cfg), nullptr);
  for (size_t i = 0; i < tcp::reasm_drop_count; ++i) EXPECT_STRNE(tcp::reasm_drop_name(reasm_drop(i)), "?");
}

// A lossy, reordering, duplicating path with a hostile sender: retransmissions are cut at other
// boundaries and some copies of bytes the appliance already saw carry different bytes. Every packet
// that leaves must carry exactly the inspected stream with its digits masked.
TEST(reassembly, random_reorder_duplication_and_hostile_retransmissions) {
  std::string stream;
  for (int i = 0; i < 120; ++i) stream += "rec " + std::to_string(100000 + i * 7919) + " ok; ";
  const std::string expect = digits_masked(stream);
  tcp::reasm_counters sum;  // the run must exercise every path it claims to cover
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    reasm_harness h(rng(), seed % 3 == 0 ? 256 : 4096);
    h.mask_digits = true;
    h.lag = rng() % 40;
    std::vector<bool> seen(stream.size(), false);
    uint64_t now = 1;
    auto send_piece = [&](uint64_t off, uint64_t len, bool fin) {
      std::string bytes = stream.substr(off, len);
      bool all_seen = len > 0;
      for (uint64_t o = off; o < off + len; ++o) all_seen = all_seen && seen[o];
      if (all_seen && rng() % 3 == 0)
        for (char& c : bytes) c = static_cast<char>('0' + rng() % 10);  // hostile copy
      for (uint64_t o = off; o < off + len; ++o) seen[o] = true;
      h.send(h.make(off, bytes, fin), now += kMs);
      if (rng() % 4 == 0) tcp::reasm_on_ack(h.r, h.base() + static_cast<uint32_t>(h.r.released));
    };
    // Original segmentation, sent in a shuffled window with duplicates; then retransmission
    // rounds cut differently until everything is delivered.
    std::vector<std::pair<uint64_t, uint64_t>> segs;
    for (uint64_t off = 0; off < stream.size();) {
      const uint64_t n = std::min<uint64_t>(1 + rng() % 90, stream.size() - off);
      segs.push_back({off, n});
      off += n;
    }
    std::vector<size_t> idx(segs.size());
    std::iota(idx.begin(), idx.end(), 0);
    for (size_t i = 0; i + 1 < idx.size(); ++i)
      if (rng() % 2) std::swap(idx[i], idx[std::min(idx.size() - 1, i + 1 + rng() % 6)]);
    for (size_t i : idx) {
      if (rng() % 5 == 0) continue;  // lost before the appliance
      send_piece(segs[i].first, segs[i].second, segs[i].first + segs[i].second == stream.size());
      if (rng() % 6 == 0) send_piece(segs[i].first, segs[i].second, segs[i].first + segs[i].second == stream.size());
    }
    for (int round = 0; round < 200 && h.r.delivered < stream.size(); ++round) {
      // From somewhere between just below what left and the in-order point (SACK-like).
      const uint64_t lo = h.r.released > 30 ? h.r.released - 30 : 0;
      const uint64_t from = lo + rng() % (h.r.delivered - lo + 1);
      const uint64_t len = std::min<uint64_t>(1 + rng() % 200, stream.size() - from);
      send_piece(from, len, from + len == stream.size());
    }
    if (!h.r.ended) send_piece(stream.size(), 0, true);
    ASSERT_EQ(h.delivered, stream) << "the engine saw something other than the first copies";
    h.release_all();
    ASSERT_EQ(h.r.released, stream.size());
    EXPECT_TRUE(h.ended);
    for (const auto& f : h.out) {
      const std::string want = expect.substr(f.off, f.bytes.size());
      // Bytes older than the history are filled only when acknowledged; they never carry data.
      for (size_t i = 0; i < f.bytes.size(); ++i)
        if (f.bytes[i] != want[i]) {
          ASSERT_EQ(f.bytes[i], '*') << "packet " << f.id << " byte " << f.off + i;
          ASSERT_LT(f.off + i, h.r.acked);
        }
    }
    for (const auto& d : h.drops)
      EXPECT_TRUE(d.second == reasm_drop::duplicate || d.second == reasm_drop::retransmit_beyond_history)
          << tcp::reasm_drop_name(d.second);
    EXPECT_EQ(h.counters().late_mask_bytes, 0u);
    EXPECT_EQ(tcp::reasm_pool_segments_held(h.pool()), 0u);
    h.expect_accounted();
    const tcp::reasm_counters& c = h.counters();
    sum.overlap_packets_rewritten += c.overlap_packets_rewritten;
    sum.retransmits_forwarded += c.retransmits_forwarded;
    sum.retransmit_bytes_changed += c.retransmit_bytes_changed;
    sum.retransmit_bytes_filled += c.retransmit_bytes_filled;
    sum.drops[size_t(reasm_drop::duplicate)] += c.drops[size_t(reasm_drop::duplicate)];
    sum.drops[size_t(reasm_drop::retransmit_beyond_history)] += c.drops[size_t(reasm_drop::retransmit_beyond_history)];
  }
  EXPECT_GT(sum.overlap_packets_rewritten, 0u);
  EXPECT_GT(sum.retransmits_forwarded, 0u);
  EXPECT_GT(sum.retransmit_bytes_changed, 0u);
  EXPECT_GT(sum.drops[size_t(reasm_drop::duplicate)], 0u);
  std::printf("random run: overlap rewrites %llu, retransmits %llu (%llu bytes changed, %llu filled), "
              "duplicates %llu, beyond history %llu\n",
              (unsigned long long)sum.overlap_packets_rewritten, (unsigned long long)sum.retransmits_forwarded,
              (unsigned long long)sum.retransmit_bytes_changed, (unsigned long long)sum.retransmit_bytes_filled,
              (unsigned long long)sum.drops[size_t(reasm_drop::duplicate)],
              (unsigned long long)sum.drops[size_t(reasm_drop::retransmit_beyond_history)]);
}

}  // namespace
}  // namespace phigate::test
