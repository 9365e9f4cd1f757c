#pragma once
// phigate-dp configuration: parsed and checked before any port starts, so a bad file gives a
// clear message and a non-zero exit (never a half-started appliance). Setup-time code.
#include <cstdint>
#include <string>
#include <vector>

namespace phigate::io {

struct protected_service {
  std::string address;  // IPv4 or IPv6 literal (textual, as configured)
  uint8_t addr[16] = {};
  bool v6 = false;
  uint16_t port = 0;
};

struct dp_config {
  std::vector<std::string> eal_args;  // passed to rte_eal_init (program name added)
  uint16_t client_port = 0;           // DPDK port ids facing clients and the inference service
  uint16_t server_port = 1;
  std::vector<protected_service> services;
  std::string patterns;               // pattern set JSON
  uint32_t flow_capacity = 65536;     // power of two
  uint32_t mbufs = 8191;
  uint32_t hold_timeout_ms = 200;     // held response bytes are decided after this (fail closed)
  uint32_t idle_timeout_s = 300;
  std::string stats_socket = "/run/phigate-dp.sock";
};

// Parses the JSON text (comments allowed). Returns an empty string or "field: reason".
std::string dp_config_parse(const std::string& json_text, dp_config& out);
std::string dp_config_load(const std::string& path, dp_config& out);

}  // namespace phigate::io
