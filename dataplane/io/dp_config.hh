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
  // Pattern set JSON files, at least one ("patterns": "file" or ["file", ...]). Several are
  // merged into one db (scan::pattern_set_merge); masking profiles choose among them by name.
  std::vector<std::string> patterns;
  uint32_t flow_capacity = 65536;     // power of two
  uint32_t mbufs = 8191;
  // Worker lcores. 1: one lcore polls both ports and owns every flow. N > 1 with software
  // sharding: one more lcore polls the ports and hands each protected frame to the worker its flow
  // hashes to (a symmetric software hash of the canonical 5-tuple: both directions land on the
  // same worker); workers hand their frames back for transmission. Needs N + 1 lcores besides the
  // main one (N with rss sharding).
  uint32_t workers = 1;
  // How frames reach workers when workers > 1. rss: each worker polls its own RX queue on both
  // ports, the NIC sharding flows with a symmetric Toeplitz key (dataplane/io/rss.hh); needs
  // ports with RSS over TCP and `workers` queues; N lcores. software: the io lcore above.
  // auto: rss where both ports can, else software.
  enum class sharding_mode : uint8_t { automatic, rss, software };
  sharding_mode sharding = sharding_mode::automatic;
  uint32_t hold_timeout_ms = 200;     // held response bytes are decided after this (fail closed)
  // A forwarded request whose audit record is still not durable after this long resets its
  // connection (request_hold_config::audit_wait_timeout_ns); 0: no deadline.
  uint32_t audit_wait_ms = 10000;
  // An incomplete held request that stopped growing this long is decided on what is held
  // (session::request_hold_config::stall_ns); 0: only a full buffer or its end decides.
  uint32_t request_stall_ms = 10;
  uint32_t idle_timeout_s = 300;
  uint32_t syn_timeout_s = 30;        // a connection still in its handshake
  uint32_t closing_timeout_s = 30;    // after FIN or RST (a clean close ends earlier)
  // Released bytes kept per direction per flow slot to rewrite retransmissions exactly as first
  // forwarded (masked). A power of two from 4 KiB, or 0; retransmissions older than it are
  // filled (reasm_config::fill_byte). Sets the slot's address-space reservation (2x this).
  uint32_t history_bytes = 64 * 1024;
  // Hyperscan stream state per open channel (two per open body, from a per-worker pool): the
  // largest pattern database phigate-cp may push later. 0: automatic, twice what the configured
  // pattern sets need, rounded up to 64 bytes, at least 128.
  // Response bodies open at once per worker (0: flows.capacity); each holds ~1.6 KB of engine
  // state and two stream blocks, touched only while open. More fail closed (no_body_memory).
  uint32_t open_bodies = 0;
  uint32_t stream_state_bytes = 0;
  // Lower advertised windows to history_bytes so lost segments stay reproducible (session.hh).
  bool clamp_window = true;
  bool midstream_accept = false;      // false: data on a connection seen without its handshake is reset
  // Reassembly caps (per direction per flow, per worker) and the gap timeout: past them the
  // flow is reset (counted by reason), never passed uninspected.
  uint32_t reasm_segments_per_flow = 128;
  uint32_t reasm_bytes_per_flow = 1u << 20;
  uint32_t reasm_segments = 1u << 16;
  uint32_t reasm_mbytes = 64;
  uint32_t gap_timeout_ms = 5000;
  std::string stats_socket = "/run/phigate-dp.sock";

  // Request gate (all optional as a block: without it requests are not held). No request
  // proceeds unrecorded: either phigate-cp acknowledges each record as durable in its own log
  // (control_socket without audit_log), or this process keeps the log (audit_log and its key).
  bool gate = false;                  // a "gate" block is present: requests are held and decided
  std::string policy;                 // policy JSON (docs/policy.md)
  std::string credentials;            // JSON {"name": "header value"}, mode 0600 (secret store)
  std::string audit_log;              // hash-chained, signed audit log ("" = phigate-cp keeps it)
  std::string audit_signing_key;      // Ed25519 private key PEM (phigate audit keygen)
  std::string event_log;              // optional plain JSON-lines copy of the records
  std::string approval_status_base = "https://127.0.0.1:9443/v1/approvals/";
  std::string control_socket;         // UNIX socket phigate-cp connects to ("" = none)
  std::string recordings_dir;         // encrypted session recordings ("" = none)
  std::string recordings_key;         // 32-byte AES-256-GCM key file, mode 0600
  uint32_t recording_max_bytes = 1u << 20;  // per session; beyond it a truncation marker
  // Audit records forwarded off the appliance as RFC 5424 syslog over TCP ("" host = none).
  std::string syslog_host, syslog_ca;
  uint16_t syslog_port = 6514;
  bool syslog_tls = false;
  uint32_t hold_buffers = 256;        // requests assembled at once per worker
  uint32_t hold_buffer_bytes = 80 * 1024;
  uint32_t audit_ring = 4096;         // audit events in flight per worker
  // Identity: JWTs verified locally against a JWKS document (pushed by the control plane).
  std::string jwks_file;
  std::string issuer, audience, groups_claim = "groups";
  uint32_t token_cache = 4096;
};

// Parses the JSON text (comments allowed). Returns an empty string or "field: reason".
std::string dp_config_parse(const std::string& json_text, dp_config& out);
std::string dp_config_load(const std::string& path, dp_config& out);

}  // namespace phigate::io
