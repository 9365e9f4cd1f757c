#include "controlplane/ipc/secret_store.hh"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <string_view>

#include <nlohmann/json.hpp>

extern char** environ;

namespace phigate::ipc {

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

std::variant<credential_map, std::string> load_credentials(const std::string& path) {
  credential_map out;
  if (!path.empty()) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return path + ": cannot be read";
    if ((st.st_mode & 077) != 0) return path + ": readable by group or others (chmod 600 it)";
    std::string text;
    if (!read_file(path, text)) return path + ": cannot be read";
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, false, true);
    if (!j.is_object()) return path + ": must be a JSON object {\"name\": \"header value\"}";
    for (const auto& [k, v] : j.items()) {
      if (!v.is_string()) return path + ": " + k + ": must be a string";
      out[k] = v.get<std::string>();
    }
  }
  // The environment wins, so a service manager can inject a secret without a file.
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view kv(*e);
    if (!kv.starts_with("PHIGATE_CREDENTIAL_")) continue;
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 19) continue;
    std::string name(kv.substr(19, eq - 19));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out[name] = std::string(kv.substr(eq + 1));
  }
  return out;
}

}  // namespace phigate::ipc
