#pragma once
// Internet checksums (RFC 1071) for the headers the dataplane rewrites, and the incremental update
// (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')) for a same-length rewrite of a byte range.
//
// Why incremental: the dataplane masks payload bytes in place. Re-summing the whole segment plus
// pseudo-header per masked packet costs a pass over bytes already summed by the NIC; worse, a
// full recompute would turn a packet that arrived corrupted into a valid one. The incremental
// update carries the old checksum's error forward, so the receiver still drops a corrupt packet.
//
// Sums are 32-bit accumulators of big-endian 16-bit words (folded with checksum_fold). A range
// starting at an odd offset of the checksummed data has its bytes in the other half of each
// word; the functions take that parity instead of making the caller realign.
//
// Thread affinity: none; pure functions, no allocation.
#include <cstddef>
#include <cstdint>

#include "dataplane/net/packet_parse.hh"

namespace phigate::net {

// Adds bytes (as big-endian words, starting in the high half) to a running sum.
uint32_t checksum_add(uint32_t sum, const uint8_t* p, size_t len);
// Folds carries into 16 bits (not complemented).
uint16_t checksum_fold(uint64_t sum);
// The ones'-complement sum of a byte range as it sits in the checksummed data: `odd` when the
// range starts at an odd offset of that data. Folded, not complemented.
uint16_t checksum_range_sum(const uint8_t* p, size_t len, bool odd);

// RFC 1624 eqn. 3 with m and m' as folded sums (old_sum = ones'-complement sum of the old bytes).
// Works for any field: a single word, or a whole rewritten range summed by checksum_range_sum.
uint16_t checksum_adjust(uint16_t old_checksum, uint16_t old_sum, uint16_t new_sum);
// The update for bytes [off, off+len) of the checksummed data rewritten from old_bytes to
// new_bytes (same length); `off` is relative to the start of what the checksum covers (for TCP,
// the TCP header: only its parity matters, the pseudo-header being 4-byte aligned).
uint16_t checksum_update_range(uint16_t old_checksum, const uint8_t* old_bytes, const uint8_t* new_bytes,
                               size_t len, size_t off);

// IPv4 header checksum of the header at frame + v.l3_off, with the checksum field taken as zero.
uint16_t ipv4_header_checksum(const uint8_t* frame, const packet_view& v);
// TCP checksum over the IPv4 or IPv6 pseudo-header and the segment [l4_off, ip_end), with the
// checksum field taken as zero. v must come from packet_parse with has_tcp.
uint16_t tcp_checksum(const uint8_t* frame, const packet_view& v);

// Reads and writes the stored fields (network byte order in the frame).
uint16_t tcp_checksum_field(const uint8_t* frame, const packet_view& v);
void set_tcp_checksum_field(uint8_t* frame, const packet_view& v, uint16_t c);
void set_ipv4_checksum_field(uint8_t* frame, const packet_view& v, uint16_t c);

}  // namespace phigate::net
