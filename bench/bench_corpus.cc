#include "bench/bench_corpus.hh"

#include <algorithm>
#include <cstdio>
#include <random>

#include "bench/rng_kit.hh"

namespace phigate::bench {
namespace {

// ---------------------------------------------------------------- PHI values (all valid)

std::string make_phone(std::mt19937_64& rng) {
  static constexpr const char* kAreas[] = {"212", "312", "415", "617", "713", "206", "303", "404", "503", "919"};
  const char* area = pick_of(rng, kAreas);
  const auto line = static_cast<unsigned>(pick(rng, 0, 99));
  switch (pick(rng, 0, 3)) {
    case 0: return fmt("(%s) 555-01%02u", area, line);
    case 1: return fmt("%s-555-01%02u", area, line);
    case 2: return fmt("%s.555.01%02u", area, line);
    default: return fmt("+1 %s 555 01%02u", area, line);
  }
}

constexpr const char* kFirst[] = {"jane", "john", "maria", "wei", "fatima", "carlos", "aisha", "olga",
                                  "samuel", "priya", "noah", "lena", "omar", "grace", "ivan", "mei"};
constexpr const char* kLast[] = {"doe", "smith", "garcia", "chen", "khan", "rossi", "okafor", "novak",
                                 "lee", "patel", "brown", "silva", "haddad", "kim", "ivanova", "wong"};

std::string make_email(std::mt19937_64& rng) {
  static constexpr const char* kDomains[] = {"example.com", "example.org", "example.net", "mail.example.com"};
  const char* first = pick_of(rng, kFirst);
  const char* last = pick_of(rng, kLast);
  switch (pick(rng, 0, 2)) {
    case 0: return fmt("%s.%s@%s", first, last, pick_of(rng, kDomains));
    case 1: return fmt("%c%s%u@%s", first[0], last, static_cast<unsigned>(pick(rng, 1, 99)), pick_of(rng, kDomains));
    default: return fmt("%s_%s@%s", first, last, pick_of(rng, kDomains));
  }
}

std::string make_date(std::mt19937_64& rng) {
  static constexpr const char* kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                            "July",    "August",   "September", "October", "November", "December"};
  const auto y = static_cast<unsigned>(pick(rng, 1930, 2024));
  const auto m = static_cast<unsigned>(pick(rng, 1, 12));
  const auto d = static_cast<unsigned>(pick(rng, 1, 28));  // valid in every month
  switch (pick(rng, 0, 3)) {
    case 0: return fmt("%04u-%02u-%02u", y, m, d);
    case 1: return fmt("%02u/%02u/%04u", m, d, y);
    case 2: return fmt("%s %u, %04u", kMonths[m - 1], d, y);
    default: return fmt("%u %s %04u", d, kMonths[m - 1], y);
  }
}

// A clinical sentence around one PHI value (sparse text).
std::string phi_sentence(std::mt19937_64& rng) {
  switch (pick(rng, 0, 3)) {
    case 0: return "Her SSN on file is " + make_ssn(rng, pick(rng, 0, 3) == 0 ? ' ' : '-') + ".";
    case 1: return "Contact the clinic at " + make_phone(rng) + " with any questions.";
    case 2: return "Results were forwarded to " + make_email(rng) + " as requested.";
    default: return "Date of birth " + make_date(rng) + ", verified at intake.";
  }
}

// A short labelled value (dense text).
std::string phi_item(std::mt19937_64& rng) {
  switch (pick(rng, 0, 3)) {
    case 0: return "SSN " + make_ssn(rng, '-');
    case 1: return "tel " + make_phone(rng);
    case 2: return "mail " + make_email(rng);
    default: return "DOB " + make_date(rng);
  }
}

// ---------------------------------------------------------------- clinical filler (no PHI)

std::string filler_sentence(std::mt19937_64& rng) {
  static constexpr const char* kSubject[] = {
      "The patient", "She", "He", "The patient's daughter", "The covering resident", "Nursing staff",
      "The cardiology consult team", "Physical therapy", "The attending physician", "Pharmacy"};
  static constexpr const char* kVerb[] = {
      "reported", "denied", "was started on", "tolerated", "presented with", "documented",
      "recommended", "reviewed", "noted improvement in", "was counseled about"};
  static constexpr const char* kObject[] = {
      "intermittent chest pain radiating to the left arm", "shortness of breath on exertion",
      "metoprolol 25 mg twice daily", "a blood pressure of 132/84 mmHg", "an HbA1c of 7.2%",
      "lisinopril 10 mg daily", "mild bilateral lower extremity edema", "a low-sodium diet",
      "an eGFR of 68 mL/min", "atorvastatin 40 mg at bedtime", "worsening fatigue and poor appetite",
      "the echocardiogram showing an ejection fraction of 55%", "a temperature of 37.2 C",
      "type 2 diabetes mellitus (ICD-10 E11.9)", "insulin glargine 18 units nightly",
      "the chest radiograph without acute findings", "a potassium of 4.1 mmol/L"};
  static constexpr const char* kTail[] = {
      "over the past two weeks", "without complications", "per the discharge summary",
      "at the follow-up visit", "and will be reassessed in 3 months", "after a shared decision discussion",
      "consistent with prior notes", "during the overnight shift", "as tolerated", "pending further labs"};
  std::string s = pick_of(rng, kSubject);
  s += ' ';
  s += pick_of(rng, kVerb);
  s += ' ';
  s += pick_of(rng, kObject);
  s += ' ';
  s += pick_of(rng, kTail);
  s += '.';
  return s;
}

std::string filler_phrase(std::mt19937_64& rng) {
  static constexpr const char* kPhrases[] = {"stable", "seen today", "f/u 2 wk", "no change", "labs ok",
                                             "BP 128/82", "afebrile", "ref cardio", "A1c 6.9%", "NKDA"};
  return pick_of(rng, kPhrases);
}

// Model text of about `target` bytes with about `per_kb` PHI values per 1024 bytes. Dense text
// packs labelled values between short phrases; sparse text is whole sentences.
std::string model_text(std::mt19937_64& rng, size_t target, double per_kb, bool dense, uint32_t& planted) {
  std::string t;
  size_t since_break = 0;
  while (t.size() < target) {
    const double have = static_cast<double>(planted);
    const double want = per_kb * static_cast<double>(t.size() + 64) / 1024.0;
    std::string piece;
    if (have < want) {
      piece = dense ? phi_item(rng) : phi_sentence(rng);
      ++planted;
    } else {
      piece = dense ? filler_phrase(rng) : filler_sentence(rng);
    }
    if (!t.empty()) {
      if (since_break > (dense ? 400u : 600u)) {
        t += "\n\n";
        since_break = 0;
      } else {
        t += dense ? "; " : " ";
      }
    }
    t += piece;
    since_break += piece.size();
  }
  return t;
}

// ---------------------------------------------------------------- responses

http_response json_response(std::mt19937_64& rng, bool dense) {
  http_response r;
  const size_t body_target = pick(rng, 4096, 16384);
  std::string body = "{\"id\":\"chatcmpl-" + hex_id(rng, 24) +
                     "\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"gpt-4o\","
                     "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"";
  const std::string tail_fmt =
      "\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
      "\"usage\":{\"prompt_tokens\":%u,\"completion_tokens\":%u,\"total_tokens\":%u},"
      "\"system_fingerprint\":\"fp_%s\"}";
  const size_t envelope = body.size() + tail_fmt.size();
  const size_t text_target = body_target > envelope ? body_target - envelope : 256;
  const std::string text = model_text(rng, text_target, dense ? 30.0 : 0.25, dense, r.planted);
  json_escape_into(body, text);
  const auto prompt = static_cast<unsigned>(pick(rng, 40, 900));
  const auto completion = static_cast<unsigned>(text.size() / 4);
  body += fmt(tail_fmt.c_str(), prompt, completion, prompt + completion, hex_id(rng, 10).c_str());

  r.bytes = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\nConnection: keep-alive\r\nopenai-processing-ms: " + std::to_string(pick(rng, 200, 4000)) +
            "\r\nx-request-id: req_" + hex_id(rng, 32) + "\r\n\r\n";
  r.body_off = r.bytes.size();
  r.bytes += body;
  return r;
}

http_response sse_response(std::mt19937_64& rng, bool chunked) {
  http_response r;
  r.chunked = chunked;
  // About one value per 512 bytes of model text: a handful per stream, each split over events.
  const std::string text = model_text(rng, pick(rng, 1024, 3072), 2.0, false, r.planted);
  static constexpr std::string_view kPrefix =
      "data: {\"id\":\"chatcmpl-x\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
      "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":";
  std::vector<std::string> events;
  events.push_back(std::string(kPrefix) + "{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
  for (const std::string& tok : tokenize(rng, text)) {
    std::string e(kPrefix);
    e += "{\"content\":\"";
    json_escape_into(e, tok);
    e += "\"},\"finish_reason\":null}]}\n\n";
    events.push_back(std::move(e));
  }
  events.push_back(std::string(kPrefix) + "{},\"finish_reason\":\"stop\"}]}\n\n");
  events.emplace_back("data: [DONE]\n\n");

  std::string body;
  if (chunked) {
    for (const std::string& e : events) body += fmt("%zx\r\n", e.size()) + e + "\r\n";
    body += "0\r\n\r\n";
  } else {
    for (const std::string& e : events) body += e;
  }
  r.bytes = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n";
  r.bytes += chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r.bytes += "Cache-Control: no-cache\r\nx-request-id: req_" + hex_id(rng, 32) + "\r\n\r\n";
  r.body_off = r.bytes.size();
  r.bytes += body;
  return r;
}

}  // namespace

const char* corpus_kind_name(corpus_kind k) {
  switch (k) {
    case corpus_kind::sparse_json: return "sparse_json";
    case corpus_kind::dense_json: return "dense_json";
    case corpus_kind::sse: return "sse";
  }
  return "unknown";
}

corpus corpus_build(corpus_kind kind, size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed ^ (0x9e3779b97f4a7c15ull * (static_cast<uint64_t>(kind) + 1)));
  corpus c;
  c.kind = kind;
  c.responses.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    http_response r = kind == corpus_kind::sse ? sse_response(rng, i % 2 == 0)
                                               : json_response(rng, kind == corpus_kind::dense_json);
    c.total_bytes += r.bytes.size();
    c.body_bytes += r.body().size();
    c.planted += r.planted;
    c.max_response_bytes = std::max(c.max_response_bytes, r.bytes.size());
    c.responses.push_back(std::move(r));
  }
  return c;
}

}  // namespace phigate::bench
