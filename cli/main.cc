// phigate: the operators' CLI. mimalloc replaces the allocator for the whole process.
#include <mimalloc-new-delete.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.hh"

namespace {

void usage(FILE* out) {
  std::fputs(
      "usage: phigate <command> [options]\n"
      "\n"
      "commands:\n"
      "  mask [--patterns FILE] [--body --content-type TYPE] [--segment N] [--findings FILE] [INPUT]\n"
      "        mask PHI in an HTTP response (or a bare body) from INPUT or stdin to stdout\n"
      "  patterns check FILE\n"
      "        compile a pattern set and run its inline examples\n"
      "  stats [--json] [--socket PATH]\n"
      "        counters of a running phigate-dp (counts and reasons, never values)\n"
      "  patterns compile FILE OUT\n"
      "        write the serialized pattern database (checksummed) to OUT\n"
      "  audit verify [--pubkey FILE] [--allow-unsigned-tail] [--expect-records N] LOG\n"
      "        check an audit log's hash chain and signed checkpoints\n"
      "  audit keygen PRIVATE_PEM PUBLIC_PEM\n"
      "        create the Ed25519 key pair that signs audit checkpoints\n"
      "  approvals list|show ID|status ID|approve ID|reject ID --reason R|revoke ID --reason R\n"
      "        [--url URL] [--token-file FILE] [--ca FILE] [--json]: just-in-time approvals\n"
      "  replay [--key FILE] [--json] [--raw] SESSION_FILE\n"
      "        decrypt a session recording and print the exchange with its masked spans\n"
      "  capacity --profile FILE --target-gbps N [--out DIR] [--lcores LIST] [--seconds S]\n"
      "        measure the dataplane in memory on this machine and size a deployment\n"
      "\n"
      "Run 'phigate <command> --help' for details.\n",
      out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  const std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "mask") return phigate::cli::mask_command(args);
  if (cmd == "patterns") return phigate::cli::patterns_command(args);
  if (cmd == "stats") return phigate::cli::stats_command(args);
  if (cmd == "audit") return phigate::cli::audit_command(args);
  if (cmd == "approvals") return phigate::cli::approvals_command(args);
  if (cmd == "replay") return phigate::cli::replay_command(args);
  if (cmd == "capacity") return phigate::cli::capacity_command(args);
  std::fprintf(stderr, "phigate: unknown command '%s'\n", cmd.c_str());
  usage(stderr);
  return 1;
}
