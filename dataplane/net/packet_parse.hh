#pragma once
// Frame parsing for the dataplane: Ethernet (up to two 802.1Q/802.1ad tags) → IPv4 or IPv6 → TCP.
// A pure function over (bytes, len) that fills a packet_view of offsets, never pointers, so the
// view stays valid however the caller moves or copies the frame, and never reads at or past len
// (tests run every truncation of valid frames against a guard page).
//
// What is flagged rather than refused: IP fragments (`fragment`): a protected TCP connection
// cannot be inspected from fragments, so the session drops them, but the parse itself is
// well-formed. Non-TCP packets parse fine with has_tcp == false; the caller decides.
//
// Length rules (why): the IP header's own length bounds the packet, so Ethernet padding after a
// short IPv4 packet is never taken as TCP payload; an IP length claiming more than the frame holds
// is an error (a truncated capture or a lie), never clamped.
//
// Thread affinity: none; no state, no allocation.
#include <cstddef>
#include <cstdint>

#include "dataplane/flow/flow_key.hh"

namespace phigate::net {

enum class parse_error : uint8_t {
  none,
  truncated_ethernet,      // shorter than an Ethernet header
  truncated_vlan,          // a VLAN tag cut off
  too_many_vlans,          // more than two tags
  unsupported_ethertype,   // neither IPv4 nor IPv6 after the tags
  truncated_ipv4,          // shorter than the IPv4 header (or its options)
  bad_ipv4_version,
  bad_ipv4_header_length,  // IHL below 5
  bad_ipv4_total_length,   // below the header length or beyond the frame
  truncated_ipv6,
  bad_ipv6_version,
  bad_ipv6_payload_length, // beyond the frame, or 0 (jumbogram: unsupported)
  truncated_ipv6_extension,
  too_many_ipv6_extensions,
  truncated_tcp,           // fewer than 20 bytes of TCP header
  bad_tcp_data_offset,     // data offset below 5 or past the IP packet's end
  count
};
inline constexpr size_t parse_error_count = static_cast<size_t>(parse_error::count);
const char* parse_error_name(parse_error e);

inline constexpr uint16_t ethertype_ipv4 = 0x0800, ethertype_ipv6 = 0x86DD, ethertype_vlan = 0x8100,
                          ethertype_qinq = 0x88A8, ethertype_qinq_old = 0x9100;
inline constexpr uint8_t ip_proto_tcp = 6;
inline constexpr size_t max_vlan_tags = 2;
inline constexpr size_t max_ipv6_extensions = 8;  // bounds the work on a hostile chain

struct packet_view {
  uint16_t vlan_tci[max_vlan_tags] = {};  // outermost first
  uint8_t vlan_count = 0;
  flow::ip_family family = flow::ip_family::v4;
  uint8_t l4_proto = 0;        // after IPv6 extension headers
  bool fragment = false;       // IPv4 MF/offset, or an IPv6 fragment header
  bool has_tcp = false;        // tcp fields below are valid
  uint16_t l3_off = 0;         // IP header
  uint16_t l4_off = 0;         // TCP header (or the L4 header after extensions)
  uint32_t ip_end = 0;         // frame offset just past the IP packet (excludes Ethernet padding)
  // TCP (host byte order), when has_tcp.
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t tcp_flags = 0;       // low 8 bits: FIN SYN RST PSH ACK URG ECE CWR
  uint16_t window = 0;
  uint16_t tcp_header_len = 0;
  uint32_t payload_off = 0;
  uint32_t payload_len = 0;
};

// Parses one Ethernet frame. On error `out` is partially filled and must not be used.
parse_error packet_parse(const uint8_t* frame, size_t len, packet_view& out);

// Where the addresses sit (4 bytes for v4, 16 for v6), for flow keys and pseudo-headers.
inline uint32_t src_addr_off(const packet_view& v) { return v.l3_off + (v.family == flow::ip_family::v4 ? 12 : 8); }
inline uint32_t dst_addr_off(const packet_view& v) { return v.l3_off + (v.family == flow::ip_family::v4 ? 16 : 24); }
// The flow key of a parsed TCP packet; `swapped` as in flow_key.hh.
flow::flow_key packet_flow_key(const uint8_t* frame, const packet_view& v, bool& swapped);

}  // namespace phigate::net
