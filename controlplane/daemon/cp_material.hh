#pragma once
// What phigate-cp pushes to the dataplane besides keys and grants: the policy text, the backend
// credentials and (when configured) the compiled pattern database. Loaded and checked as one unit
// at start and on SIGHUP, so a reload either replaces all of it or none of it.
//
// Setup code, run on phigate-cp's main thread: allocates, takes seconds for a large pattern set
// (compiling, running every example), returns errors as values. Errors name the file, the entry
// and the reason, never a value (a credential, an example text).
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "controlplane/daemon/cp_config.hh"
#include "controlplane/ipc/ipc_contract.hh"

namespace phigate::cp {

struct policy_material {
  std::string policy_text;
  std::map<std::string, std::string> credentials;
  // Immutable once loaded and shared with the link thread, which may still be sending it while
  // a reload replaces the material. Null: no pattern sets configured (snapshots name "": the
  // dataplane keeps its own database).
  std::shared_ptr<const ipc::patterns> patterns;
};

// Loads the pattern sets as phigate-dp does at start (each file, merged, compiled, engine window
// checked) and additionally runs each set's inline examples as `phigate patterns check` does, so
// a set whose examples fail is refused here rather than masking differently inline. The result
// carries the serialized database, its SHA-256 and the member sets' names.
// `paths` must be non-empty.
std::variant<std::shared_ptr<const ipc::patterns>, std::string> load_patterns(const std::vector<std::string>& paths);

// Reads and compiles the policy, loads the credentials (warning on stderr for a route naming a
// credential the store lacks) and, when cfg.patterns is set, the pattern sets; the policy's
// masking profiles must then resolve against that database ("<policy file>: masking_profile x:
// ..."), so a policy the dataplane would refuse with it is refused before anything is pushed.
std::variant<policy_material, std::string> load_material(const cp_config& cfg);

}  // namespace phigate::cp
