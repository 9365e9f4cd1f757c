// packet_parse: every supported encapsulation parses to the right offsets and fields; every
// truncation of every valid frame is refused with a named error and never read past its end
// (each prefix sits against a guard page); malformed headers name their error.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dataplane/net/packet_parse.hh"
#include "tests/dataplane/net/frame_builder.hh"
#include "tests/support/guard_page.hh"

namespace phigate::test {
namespace {

using net::parse_error;

struct named_spec {
  const char* name;
  frame_spec spec;
};

std::vector<named_spec> valid_specs() {
  std::vector<named_spec> v;
  frame_spec s;
  s.seq = 0x01020304, s.ack = 0xA0B0C0D0, s.flags = 0x18;
  v.push_back({"ipv4", s});
  frame_spec t = s;
  t.vlan_types = {0x8100};
  v.push_back({"ipv4_vlan", t});
  t.vlan_types = {0x88A8, 0x8100};
  t.ipv4_option_words = 3;
  t.tcp_option_words = 3;
  v.push_back({"ipv4_qinq_options", t});
  t = s;
  t.ether_padding = 9;
  v.push_back({"ipv4_padded", t});
  t = s;
  t.v6 = true;
  v.push_back({"ipv6", t});
  t.ipv6_ext = {0, 43, 60};
  t.vlan_types = {0x8100};
  t.tcp_option_words = 1;
  v.push_back({"ipv6_ext_vlan", t});
  return v;
}

TEST(packet_parse, valid_frames_give_offsets_and_fields) {
  for (const auto& [name, spec] : valid_specs()) {
    SCOPED_TRACE(name);
    const built_frame b = build_frame(spec, "hello, payload");
    guarded_buffer g(std::span<const uint8_t>(b.bytes));
    net::packet_view v;
    ASSERT_EQ(net::packet_parse(g.data(), g.size(), v), parse_error::none);
    EXPECT_TRUE(v.has_tcp);
    EXPECT_FALSE(v.fragment);
    EXPECT_EQ(v.vlan_count, spec.vlan_types.size());
    EXPECT_EQ(v.family, spec.v6 ? flow::ip_family::v6 : flow::ip_family::v4);
    EXPECT_EQ(v.l3_off, b.l3);
    EXPECT_EQ(v.l4_off, b.l4);
    EXPECT_EQ(v.payload_off, b.payload);
    EXPECT_EQ(v.payload_len, 14u) << "Ethernet padding must not count as payload";
    EXPECT_EQ(v.ip_end, b.ip_end);
    EXPECT_EQ(v.sport, 40000);
    EXPECT_EQ(v.dport, 8000);
    EXPECT_EQ(v.seq, 0x01020304u);
    EXPECT_EQ(v.ack, 0xA0B0C0D0u);
    EXPECT_EQ(v.tcp_flags, 0x18);
    EXPECT_EQ(v.tcp_header_len, 20u + 4u * spec.tcp_option_words);
    for (size_t i = 0; i < spec.vlan_types.size(); ++i) EXPECT_EQ(v.vlan_tci[i], 10 + i);
  }
}

TEST(packet_parse, every_truncation_is_refused_without_reading_past_the_end) {
  for (const auto& [name, spec] : valid_specs()) {
    if (spec.ether_padding != 0) continue;  // padded frames stay valid when only padding is cut
    const built_frame b = build_frame(spec, "0123456789");
    for (size_t n = 0; n < b.bytes.size(); ++n) {
      SCOPED_TRACE(std::string(name) + " cut at " + std::to_string(n));
      guarded_buffer g(std::span<const uint8_t>(b.bytes.data(), n));
      net::packet_view v;
      const parse_error e = net::packet_parse(g.data(), n, v);
      EXPECT_NE(e, parse_error::none);
      EXPECT_STRNE(net::parse_error_name(e), "unknown");
    }
  }
}

TEST(packet_parse, flow_keys_of_both_directions_match) {
  for (bool v6 : {false, true}) {
    frame_spec a;
    a.v6 = v6;
    frame_spec b = a;
    std::swap(b.sport, b.dport);
    std::swap(b.src4, b.dst4);
    std::swap(b.src6, b.dst6);
    const built_frame fa = build_frame(a, "x"), fb = build_frame(b, "y");
    net::packet_view va, vb;
    ASSERT_EQ(net::packet_parse(fa.bytes.data(), fa.bytes.size(), va), parse_error::none);
    ASSERT_EQ(net::packet_parse(fb.bytes.data(), fb.bytes.size(), vb), parse_error::none);
    bool sa = false, sb = false;
    EXPECT_TRUE(flow::flow_key_equal(net::packet_flow_key(fa.bytes.data(), va, sa),
                                     net::packet_flow_key(fb.bytes.data(), vb, sb)));
    EXPECT_NE(sa, sb);
  }
}

parse_error parse_mutated(const frame_spec& s, size_t at_from_l3, uint8_t value, bool from_l4 = false) {
  built_frame b = build_frame(s, "abcdef");
  b.bytes[(from_l4 ? b.l4 : b.l3) + at_from_l3] = value;
  guarded_buffer g(std::span<const uint8_t>(b.bytes));
  net::packet_view v;
  return net::packet_parse(g.data(), g.size(), v);
}

TEST(packet_parse, malformed_headers_name_their_error) {
  frame_spec s;
  EXPECT_EQ(parse_mutated(s, 0, 0x55), parse_error::bad_ipv4_version);
  EXPECT_EQ(parse_mutated(s, 0, 0x44), parse_error::bad_ipv4_header_length);
  EXPECT_EQ(parse_mutated(s, 0, 0x4F), parse_error::truncated_ipv4);  // 60-byte header in a short frame
  EXPECT_EQ(parse_mutated(s, 2, 0xFF), parse_error::bad_ipv4_total_length);
  EXPECT_EQ(parse_mutated(s, 12, 0x40, true), parse_error::bad_tcp_data_offset);  // doff 4
  EXPECT_EQ(parse_mutated(s, 12, 0xF0, true), parse_error::bad_tcp_data_offset);  // past the end
  frame_spec v6;
  v6.v6 = true;
  EXPECT_EQ(parse_mutated(v6, 0, 0x40), parse_error::bad_ipv6_version);
  EXPECT_EQ(parse_mutated(v6, 4, 0xFF), parse_error::bad_ipv6_payload_length);
  {
    built_frame b = build_frame(v6, "abc");
    b.bytes[b.l3 + 4] = 0, b.bytes[b.l3 + 5] = 0;  // jumbogram marker
    net::packet_view v;
    EXPECT_EQ(net::packet_parse(b.bytes.data(), b.bytes.size(), v), parse_error::bad_ipv6_payload_length);
  }
  frame_spec ext = v6;
  ext.ipv6_ext = {60};
  EXPECT_EQ(parse_mutated(ext, 41, 0x20), parse_error::truncated_ipv6_extension);  // claims 264 bytes
  ext.ipv6_ext = std::vector<uint8_t>(net::max_ipv6_extensions + 1, 60);
  EXPECT_EQ(parse_mutated(ext, 41, 0), parse_error::too_many_ipv6_extensions);
  frame_spec q;
  q.vlan_types = {0x88A8, 0x8100, 0x8100};
  {
    const built_frame b = build_frame(q, "abc");
    net::packet_view v;
    EXPECT_EQ(net::packet_parse(b.bytes.data(), b.bytes.size(), v), parse_error::too_many_vlans);
  }
  {
    built_frame b = build_frame(s, "abc");
    b.bytes[12] = 0x08, b.bytes[13] = 0x06;  // ARP
    net::packet_view v;
    EXPECT_EQ(net::packet_parse(b.bytes.data(), b.bytes.size(), v), parse_error::unsupported_ethertype);
  }
}

TEST(packet_parse, fragments_are_flagged_not_parsed_as_tcp) {
  for (uint16_t frag : {uint16_t(0x2000), uint16_t(0x0010), uint16_t(0x2010)}) {
    frame_spec s;
    s.ipv4_frag = frag;
    const built_frame b = build_frame(s, "payload");
    net::packet_view v;
    ASSERT_EQ(net::packet_parse(b.bytes.data(), b.bytes.size(), v), parse_error::none);
    EXPECT_TRUE(v.fragment) << frag;
    EXPECT_FALSE(v.has_tcp);
    EXPECT_EQ(v.l4_proto, net::ip_proto_tcp);
  }
  frame_spec s;
  s.ipv4_frag = 0x4000;  // DF only: not a fragment
  const built_frame b = build_frame(s, "payload");
  net::packet_view v;
  ASSERT_EQ(net::packet_parse(b.bytes.data(), b.bytes.size(), v), parse_error::none);
  EXPECT_FALSE(v.fragment);
  EXPECT_TRUE(v.has_tcp);
  frame_spec f6;
  f6.v6 = true;
  f6.ipv6_ext = {0, 44};
  const built_frame b6 = build_frame(f6, "payload");
  ASSERT_EQ(net::packet_parse(b6.bytes.data(), b6.bytes.size(), v), parse_error::none);
  EXPECT_TRUE(v.fragment);
  EXPECT_FALSE(v.has_tcp);
}

TEST(packet_parse, non_tcp_parses_without_tcp_fields) {
  frame_spec s;
  built_frame b = build_frame(s, "abcdefgh");
  b.bytes[b.l3 + 9] = 17;  // UDP
  net::packet_view v;
  ASSERT_EQ(net::packet_parse(b.bytes.data(), b.bytes.size(), v), parse_error::none);
  EXPECT_EQ(v.l4_proto, 17);
  EXPECT_FALSE(v.has_tcp);
}

}  // namespace
}  // namespace phigate::test
