#pragma once
// Subcommands of the operators' CLI. Each takes its own arguments (after the subcommand words)
// and returns the process exit status: 0 success, 1 usage or input errors, 2 refused (an
// unmaskable response, a failed check).
#include <string>
#include <vector>

namespace phigate::cli {

int mask_command(const std::vector<std::string>& args);
int patterns_command(const std::vector<std::string>& args);
int stats_command(const std::vector<std::string>& args);
int audit_command(const std::vector<std::string>& args);  // verify | keygen
int approvals_command(const std::vector<std::string>& args);  // list | show | status | approve | reject | revoke
int replay_command(const std::vector<std::string>& args);  // decrypt and print a session recording
int capacity_command(const std::vector<std::string>& args);  // in-memory capacity measurement and sizing

// The pattern set used when --patterns is not given: $PHIGATE_PATTERNS, else the shipped core set.
std::string default_patterns_path();

}  // namespace phigate::cli
