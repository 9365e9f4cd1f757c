#include "dataplane/net/packet_parse.hh"

namespace phigate::net {

namespace {
inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t rd32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

constexpr uint8_t ipv6_hop_by_hop = 0, ipv6_routing = 43, ipv6_fragment = 44, ipv6_dest_options = 60;
}  // namespace

const char* parse_error_name(parse_error e) {
  switch (e) {
    case parse_error::none: return "none";
    case parse_error::truncated_ethernet: return "truncated_ethernet";
    case parse_error::truncated_vlan: return "truncated_vlan";
    case parse_error::too_many_vlans: return "too_many_vlans";
    case parse_error::unsupported_ethertype: return "unsupported_ethertype";
    case parse_error::truncated_ipv4: return "truncated_ipv4";
    case parse_error::bad_ipv4_version: return "bad_ipv4_version";
    case parse_error::bad_ipv4_header_length: return "bad_ipv4_header_length";
    case parse_error::bad_ipv4_total_length: return "bad_ipv4_total_length";
    case parse_error::truncated_ipv6: return "truncated_ipv6";
    case parse_error::bad_ipv6_version: return "bad_ipv6_version";
    case parse_error::bad_ipv6_payload_length: return "bad_ipv6_payload_length";
    case parse_error::truncated_ipv6_extension: return "truncated_ipv6_extension";
    case parse_error::too_many_ipv6_extensions: return "too_many_ipv6_extensions";
    case parse_error::truncated_tcp: return "truncated_tcp";
    case parse_error::bad_tcp_data_offset: return "bad_tcp_data_offset";
    case parse_error::count: break;
  }
  return "unknown";
}

parse_error packet_parse(const uint8_t* frame, size_t len, packet_view& out) {
  out = packet_view{};
  if (len < 14) return parse_error::truncated_ethernet;
  if (len > UINT16_MAX) len = UINT16_MAX;  // offsets are 16-bit below l4; no Ethernet frame is larger
  size_t off = 12;
  uint16_t type = rd16(frame + off);
  off += 2;
  while (type == ethertype_vlan || type == ethertype_qinq || type == ethertype_qinq_old) {
    if (out.vlan_count == max_vlan_tags) return parse_error::too_many_vlans;
    if (len - off < 4) return parse_error::truncated_vlan;
    out.vlan_tci[out.vlan_count++] = rd16(frame + off);
    type = rd16(frame + off + 2);
    off += 4;
  }
  out.l3_off = static_cast<uint16_t>(off);
  const size_t avail = len - off;
  const uint8_t* ip = frame + off;
  size_t l4, ip_end;
  uint8_t proto;
  if (type == ethertype_ipv4) {
    out.family = flow::ip_family::v4;
    if (avail < 20) return parse_error::truncated_ipv4;
    if ((ip[0] >> 4) != 4) return parse_error::bad_ipv4_version;
    const size_t ihl = size_t{ip[0] & 0x0Fu} * 4;
    if (ihl < 20) return parse_error::bad_ipv4_header_length;
    if (avail < ihl) return parse_error::truncated_ipv4;
    const size_t total = rd16(ip + 2);
    if (total < ihl || total > avail) return parse_error::bad_ipv4_total_length;
    const uint16_t frag = rd16(ip + 6);
    out.fragment = (frag & 0x3FFFu) != 0;  // MF set or a nonzero offset
    proto = ip[9];
    l4 = off + ihl;
    ip_end = off + total;
  } else if (type == ethertype_ipv6) {
    out.family = flow::ip_family::v6;
    if (avail < 40) return parse_error::truncated_ipv6;
    if ((ip[0] >> 4) != 6) return parse_error::bad_ipv6_version;
    const size_t plen = rd16(ip + 4);
    if (plen == 0 || plen > avail - 40) return parse_error::bad_ipv6_payload_length;
    ip_end = off + 40 + plen;
    proto = ip[6];
    l4 = off + 40;
    for (size_t n = 0;; ++n) {
      if (proto != ipv6_hop_by_hop && proto != ipv6_routing && proto != ipv6_dest_options && proto != ipv6_fragment)
        break;
      if (n == max_ipv6_extensions) return parse_error::too_many_ipv6_extensions;
      if (ip_end - l4 < 8) return parse_error::truncated_ipv6_extension;
      const uint8_t next = frame[l4];
      size_t ext_len = 8;
      if (proto == ipv6_fragment) {
        out.fragment = true;
      } else {
        ext_len = (size_t{frame[l4 + 1]} + 1) * 8;
        if (ip_end - l4 < ext_len) return parse_error::truncated_ipv6_extension;
      }
      proto = next;
      l4 += ext_len;
    }
  } else {
    return parse_error::unsupported_ethertype;
  }
  out.l4_proto = proto;
  out.l4_off = static_cast<uint16_t>(l4);
  out.ip_end = static_cast<uint32_t>(ip_end);
  // A fragment's L4 bytes are not a whole TCP segment (and after the first, not a header at all).
  if (proto != ip_proto_tcp || out.fragment) return parse_error::none;
  const size_t seg = ip_end - l4;
  if (seg < 20) return parse_error::truncated_tcp;
  const uint8_t* t = frame + l4;
  const size_t doff = static_cast<size_t>(t[12] >> 4) * 4;
  if (doff < 20 || doff > seg) return parse_error::bad_tcp_data_offset;
  out.sport = rd16(t);
  out.dport = rd16(t + 2);
  out.seq = rd32(t + 4);
  out.ack = rd32(t + 8);
  out.tcp_flags = t[13];
  out.window = rd16(t + 14);
  out.tcp_header_len = static_cast<uint16_t>(doff);
  out.payload_off = static_cast<uint32_t>(l4 + doff);
  out.payload_len = static_cast<uint32_t>(seg - doff);
  out.has_tcp = true;
  return parse_error::none;
}

flow::flow_key packet_flow_key(const uint8_t* frame, const packet_view& v, bool& swapped) {
  const uint8_t* s = frame + src_addr_off(v);
  const uint8_t* d = frame + dst_addr_off(v);
  return v.family == flow::ip_family::v4 ? flow::make_flow_key_v4(s, d, v.sport, v.dport, v.l4_proto, swapped)
                                         : flow::make_flow_key_v6(s, d, v.sport, v.dport, v.l4_proto, swapped);
}

}  // namespace phigate::net
