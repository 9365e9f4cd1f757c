#pragma once
// phigate-dp's request gate, assembled at start-up and fed by the control plane: one
// request_gate per worker, the state they read (policy, credentials, JWKS and token rules,
// approval grants) as an immutable snapshot swapped between bursts, the signed audit log and the
// drain thread that makes audit records durable, and the control socket (controlplane/ipc) over
// which phigate-cp pushes snapshots and receives approval requests.
//
// Threads: the main thread builds snapshots (compiling the policy, parsing the JWKS) and serves
// the control socket; workers read the current snapshot through one atomic pointer per request
// and report a quiescent point per loop, after which a replaced snapshot is freed; the drain
// thread is the audit ring consumer and queues approval requests for the control socket.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "dataplane/io/dp_config.hh"
#include "dataplane/io/dp_patterns.hh"
#include "dataplane/scan/pattern_db.hh"
#include "dataplane/session/request_hold.hh"
#include "dataplane/session/session.hh"

namespace phigate::io {

struct dp_gate;
struct dp_gate_deleter {
  void operator()(dp_gate* g) const;
};
using dp_gate_ptr = std::unique_ptr<dp_gate, dp_gate_deleter>;

// Builds the gate: the audit log must open; the first snapshot comes from the files named in the
// config (policy, credentials, JWKS) when given, else from the control plane (until then every
// protected request is answered 503 no_policy). Returns null and a message naming the file.
// `patterns` (owned by the caller, outlives the gate) resolves masking profiles and names
// findings; phigate-cp's pattern pushes are staged and installed through it.
dp_gate_ptr dp_gate_create(const dp_config& cfg, dp_patterns* patterns, unsigned workers, std::string& error);
// Setup, once the workers' sessions exist: reads worker w's open bodies on an engine slot (the
// condition for installing the next pattern database), and hears when a slot's database is
// retired (its counters are final; the stats fold them under its names).
void dp_gate_set_pattern_hooks(dp_gate& g, std::function<int64_t(unsigned w, int slot)> open_bodies,
                               std::function<void(int slot, uint32_t serial)> retiring);
session::request_decider dp_gate_decider(dp_gate& g, unsigned worker);
session::request_hold_config dp_gate_hold_config(const dp_gate& g);
// The worker's recording tap (all hooks null when recordings are not configured).
session::session_recorder dp_gate_recorder(dp_gate& g, unsigned worker);
// Setup time, before the workers start: unix time = session clock + offset.
void dp_gate_set_wall_offset(dp_gate& g, int64_t offset_ns);
// The worker's quiescent point: call once per loop iteration (it holds no snapshot reference).
std::atomic<uint64_t>& dp_gate_quiescent_counter(dp_gate& g, unsigned worker);
// Starts the drain thread and the control socket (after the ports, before the workers).
void dp_gate_start(dp_gate& g);
// Main thread, periodically: serves the control socket (snapshots in, approval requests out)
// and frees replaced snapshots no worker can still see. Waits at most timeout_ms for input.
void dp_gate_poll(dp_gate& g, int timeout_ms);
// Stops it after the workers: drains what is left and signs a final checkpoint.
void dp_gate_stop(dp_gate& g);
// Counters (outcomes, identity, audit, snapshot) as JSON object members (no braces).
std::string dp_gate_stats_json(const dp_gate& g);

}  // namespace phigate::io
