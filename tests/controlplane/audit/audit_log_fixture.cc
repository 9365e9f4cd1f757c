// Test helper for the CLI test: writes an audit log with the shipped writer.
//   audit_log_fixture PRIVATE_PEM LOG N [crash]
// N records (each holding the marker "marker-c0ffee" that the CLI must never print), 1 ms
// apart; closed with a final checkpoint unless "crash" is given.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "controlplane/audit/audit_key.hh"
#include "controlplane/audit/audit_log.hh"

int main(int argc, char** argv) {
  using namespace phigate;
  if (argc < 4) {
    std::fprintf(stderr, "usage: audit_log_fixture PRIVATE_PEM LOG N [crash]\n");
    return 1;
  }
  auto key = audit::audit_private_key_load(argv[1]);
  if (auto* e = std::get_if<audit::audit_error>(&key)) {
    std::fprintf(stderr, "%s\n", e->reason.c_str());
    return 1;
  }
  auto w = audit::audit_writer::open(argv[2], std::move(std::get<auth::pkey_ptr>(key)));
  if (auto* e = std::get_if<audit::audit_error>(&w)) {
    std::fprintf(stderr, "%s\n", e->reason.c_str());
    return 1;
  }
  auto& writer = std::get<std::unique_ptr<audit::audit_writer>>(w);
  const long n = std::strtol(argv[3], nullptr, 10);
  int64_t now_ms = 1'700'000'000'000;
  for (long i = 1; i <= n; ++i, now_ms += 1) {
    nlohmann::json rec = {{"event", "approve"}, {"n", i}, {"note", "marker-c0ffee"}};
    if (auto r = writer->append(rec, now_ms); std::holds_alternative<audit::audit_error>(r)) {
      std::fprintf(stderr, "%s\n", std::get<audit::audit_error>(r).reason.c_str());
      return 1;
    }
  }
  if (argc > 4 && std::string(argv[4]) == "crash") return 0;
  if (auto e = writer->close(now_ms)) {
    std::fprintf(stderr, "%s\n", e->reason.c_str());
    return 1;
  }
  return 0;
}
