// phigate stats: reads phigate-dp's local stats socket (counts and reasons only, never values).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.hh"

namespace phigate::cli {

int stats_command(const std::vector<std::string>& args) {
  std::string path = "/run/phigate-dp.sock";
  bool as_json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--json") as_json = true;
    else if (args[i] == "--socket" && i + 1 < args.size()) path = args[++i];
    else {
      std::fprintf(stderr, "usage: phigate stats [--json] [--socket PATH]\n");
      return 1;
    }
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "phigate stats: cannot connect to %s: %s (is phigate-dp running?)\n", path.c_str(),
                 std::strerror(errno));
    if (fd >= 0) close(fd);
    return 1;
  }
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  close(fd);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    std::fprintf(stderr, "phigate stats: %s answered something that is not a stats object\n", path.c_str());
    return 1;
  }
  if (as_json) {
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it->is_object()) {
      for (auto r = it->begin(); r != it->end(); ++r)
        std::printf("%-28s %llu\n", (it.key() + "." + r.key()).c_str(), r->get<unsigned long long>());
    } else {
      std::printf("%-28s %llu\n", it.key().c_str(), it->get<unsigned long long>());
    }
  }
  return 0;
}

}  // namespace phigate::cli
