// phigate audit: verify a signed audit log, create a checkpoint signing key pair.
// The report names lines, sequence numbers and reasons only, never record contents.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "controlplane/audit/audit_key.hh"
#include "controlplane/audit/audit_verify.hh"

namespace phigate::cli {

namespace {

void audit_usage(FILE* out) {
  std::fputs(
      "usage: phigate audit verify [--pubkey FILE] [--allow-unsigned-tail] [--expect-records N] LOG\n"
      "       phigate audit keygen PRIVATE_PEM PUBLIC_PEM\n"
      "\n"
      "verify   checks the hash chain and every checkpoint signature of LOG. The public key comes\n"
      "         from --pubkey, else $PHIGATE_AUDIT_PUBKEY; without one only the chain is checked\n"
      "         and the log is not reported intact. Records after the last checkpoint fail the\n"
      "         check unless --allow-unsigned-tail (a live log); --expect-records N fails a log\n"
      "         holding fewer than N records (truncation after a checkpoint).\n"
      "         Exit 0 intact, 2 not intact or not verifiable, 1 usage or key errors.\n"
      "keygen   writes a new Ed25519 key pair (private key mode 0600); never overwrites.\n",
      out);
}

int verify(const std::vector<std::string>& args) {
  std::string pubkey_path, log_path;
  audit::audit_verify_options options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      audit_usage(stdout);
      return 0;
    } else if (a == "--pubkey" && i + 1 < args.size()) {
      pubkey_path = args[++i];
    } else if (a == "--allow-unsigned-tail") {
      options.allow_unsigned_tail = true;
    } else if (a == "--expect-records" && i + 1 < args.size()) {
      const std::string& v = args[++i];
      char* end = nullptr;
      unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || v[0] == '-' || *end != '\0') {
        std::fprintf(stderr, "phigate audit verify: --expect-records needs a number\n");
        return 1;
      }
      options.expect_min_records = n;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "phigate audit verify: unknown option '%s'\n", a.c_str());
      audit_usage(stderr);
      return 1;
    } else if (log_path.empty()) {
      log_path = a;
    } else {
      audit_usage(stderr);
      return 1;
    }
  }
  if (log_path.empty()) {
    audit_usage(stderr);
    return 1;
  }
  if (pubkey_path.empty())
    if (const char* env = std::getenv("PHIGATE_AUDIT_PUBKEY"); env != nullptr && *env != '\0') pubkey_path = env;

  auth::pkey_ptr key;
  if (!pubkey_path.empty()) {
    auto loaded = audit::audit_public_key_load(pubkey_path);
    if (auto* e = std::get_if<audit::audit_error>(&loaded)) {
      std::fprintf(stderr, "phigate audit verify: %s\n", e->reason.c_str());
      return 1;
    }
    key = std::move(std::get<auth::pkey_ptr>(loaded));
  }

  const audit::audit_report r = audit::audit_verify(log_path, key.get(), options);
  if (r.fault != audit::audit_fault::none) {
    std::printf("%s: NOT INTACT: line %llu: %s%s%s%s\n", log_path.c_str(), static_cast<unsigned long long>(r.line),
                std::string(audit::audit_fault_name(r.fault)).c_str(), r.detail.empty() ? "" : " (",
                r.detail.c_str(), r.detail.empty() ? "" : ")");
    std::printf("%s: verified before the fault: %llu lines, %llu records, %llu checkpoints\n", log_path.c_str(),
                static_cast<unsigned long long>(r.lines), static_cast<unsigned long long>(r.records),
                static_cast<unsigned long long>(r.checkpoints));
    return 2;
  }
  std::printf("%s: %s: %llu records, %llu checkpoints, last checkpoint covers seq %llu (time %lld ms)", log_path.c_str(),
              r.signatures_checked ? "intact" : "chain consistent, signatures NOT checked (no public key)",
              static_cast<unsigned long long>(r.records), static_cast<unsigned long long>(r.checkpoints),
              static_cast<unsigned long long>(r.signed_records), static_cast<long long>(r.last_checkpoint_ms));
  if (r.unsigned_records > 0)
    std::printf("; %llu unsigned records after it", static_cast<unsigned long long>(r.unsigned_records));
  std::printf("\n");
  return r.intact() ? 0 : 2;
}

int keygen(const std::vector<std::string>& args) {
  if (args.size() != 2) {
    audit_usage(stderr);
    return 1;
  }
  auto key = audit::audit_key_generate();
  if (auto* e = std::get_if<audit::audit_error>(&key)) {
    std::fprintf(stderr, "phigate audit keygen: %s\n", e->reason.c_str());
    return 1;
  }
  if (auto e = audit::audit_key_write(std::get<auth::pkey_ptr>(key).get(), args[0], args[1])) {
    std::fprintf(stderr, "phigate audit keygen: %s\n", e->reason.c_str());
    return 1;
  }
  std::printf("wrote %s (private, 0600) and %s (public)\n", args[0].c_str(), args[1].c_str());
  return 0;
}

}  // namespace

int audit_command(const std::vector<std::string>& args) {
  if (args.empty()) {
    audit_usage(stderr);
    return 1;
  }
  if (args[0] == "--help" || args[0] == "-h") {
    audit_usage(stdout);
    return 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "verify") return verify(rest);
  if (args[0] == "keygen") return keygen(rest);
  std::fprintf(stderr, "phigate audit: unknown subcommand '%s'\n", args[0].c_str());
  audit_usage(stderr);
  return 1;
}

}  // namespace phigate::cli
