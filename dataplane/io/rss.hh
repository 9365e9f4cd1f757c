#pragma once
// Symmetric receive-side scaling: the hash key that makes a NIC's Toeplitz hash give both
// directions of a connection the same value, so the NIC itself delivers a flow's frames, whichever
// port they arrive on, to the same queue (and so the same worker lcore).
//
// Why this key: Toeplitz XORs, for every set input bit, the 32-bit window of the key starting at
// that bit. With a key that repeats every 16 bits, the window for bit i equals the window for
// bit i + 16k, so swapping the two 32-bit addresses (or the two 16-bit ports) XORs the same windows
// in a different order: the same hash. 0x6d5a repeated is the usual choice (Woo and Park, "Scalable
// TCP Session Monitoring with Symmetric Receive-side Scaling", 2012): it also keeps the bits of
// the hash well mixed for the queue index. Pure, no DPDK: phigate-dp builds the rte_eth_rss_conf
// from it; tests check the symmetry against an independent Toeplitz.
#include <cstddef>
#include <cstdint>

namespace phigate::io {

// Keys are 40 bytes on most NICs (52 on some, e.g. Intel E810); any length is filled.
inline void symmetric_rss_key(uint8_t* key, size_t len) {
  for (size_t i = 0; i < len; ++i) key[i] = (i & 1) ? 0x5a : 0x6d;
}

// The Toeplitz hash of `len` input bytes under `key` (key_len >= len + 4), as a NIC computes it
// over the big-endian tuple (source address, destination address, source port, destination port).
inline uint32_t toeplitz_hash(const uint8_t* key, size_t key_len, const uint8_t* input, size_t len) {
  uint32_t hash = 0;
  uint64_t window = 0;  // 64 key bits from the current input bit on; the top 32 are XORed
  for (size_t b = 0; b < 8 && b < key_len; ++b) window |= uint64_t{key[b]} << (56 - 8 * b);
  size_t next = 8;      // next key byte to shift in
  for (size_t i = 0; i < len; ++i) {
    for (int bit = 7; bit >= 0; --bit) {
      if ((input[i] >> bit) & 1) hash ^= static_cast<uint32_t>(window >> 32);
      window <<= 1;
    }
    if (next < key_len) window |= key[next];  // refill the 8 low bits the shifts emptied
    ++next;
  }
  return hash;
}

}  // namespace phigate::io
