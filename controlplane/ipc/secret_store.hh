#pragma once
// The backend credential store (issue 4 section 4): a JSON object {"name": "header value"} in a
// file only its owner can read, overridden per name by $PHIGATE_CREDENTIAL_<NAME> (the name in
// upper case, other characters as '_'; a variable's name maps back in lower case). Values are
// never logged; errors name the file and the entry only. Setup-time code, both daemons use it.
#include <map>
#include <string>
#include <variant>

namespace phigate::ipc {

using credential_map = std::map<std::string, std::string>;

// path "" = environment only.
std::variant<credential_map, std::string> load_credentials(const std::string& path);

// The whole of a file the daemons read at setup (policy, JWKS, credentials); false when it
// cannot be opened.
bool read_file(const std::string& path, std::string& out);

}  // namespace phigate::ipc
