#pragma once
// Synthetic PHI value generators for tests, fuzzers and benchmarks: each generator
// runs a validator in reverse (picks random fields, then computes the check digit),
// so every value passes dataplane/validate. Values come from reserved or synthetic
// ranges wherever one exists: phones NXX-555-01xx, e-mail and URLs on example.*,
// IPs from RFC 5737 / 2001:db8::/32, card numbers Luhn-valid but random.
// Deterministic for a given seed on a given standard library; tests only; not
// thread-safe beyond what the caller's rng allows.
#include <random>
#include <string>
#include <vector>

namespace phigate::test {

struct phi_value {
  std::string text;
  const char* entity;  // entity name in patterns/us-phi-core.json (static storage)
};

// `entity_or_pattern_kind` is a kind from phi_kinds(), a catalog entity name
// ("ip_address", "credit_card", ...) or a validator name ("luhn", "nanp_phone",
// "ipv4", ...). Returns a VALID value in a random surface format. Throws
// std::invalid_argument for an unknown kind (test code only).
phi_value make_phi(const char* entity_or_pattern_kind, std::mt19937_64& rng);

// Every kind make_phi supports, one per catalog entity family (IP split in v4/v6).
std::vector<std::string> phi_kinds();

// Validator name (dataplane/validate) that accepts values of `kind` ("none" for
// shape-only kinds such as mrn). Throws std::invalid_argument for an unknown kind.
const char* phi_validator_name(const std::string& kind);

// Text to put right before a value of `kind` so that the catalog's context rule
// fires (e.g. "NPI: " for npi); "" for kinds that need no context.
const char* phi_context_prefix(const std::string& kind);

// A random member of one of the hard-negative families (UUID, hex hash, base64,
// version string, lab value, dose, blood pressure, ICD-10, NDC, epoch timestamp,
// logprob, token ids). None of them may produce a finding of a catalog entry
// that has no context rule.
std::string make_hard_negative(std::mt19937_64& rng);

}  // namespace phigate::test
