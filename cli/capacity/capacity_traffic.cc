#include "cli/capacity/capacity_traffic.hh"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "bench/rng_kit.hh"

namespace phigate::capacity {
namespace {

using bench::fmt;
using bench::hex_id;
using bench::json_escape_into;
using bench::make_ssn;
using bench::pick;
using bench::pick_of;
using bench::tokenize;

// ---------------------------------------------------------------- synthetic PHI

std::string make_phone(std::mt19937_64& rng) {
  static constexpr const char* kAreas[] = {"206", "212", "303", "312", "404", "415", "503", "617", "713", "919"};
  const char* area = pick_of(rng, kAreas);
  const auto line = static_cast<unsigned>(pick(rng, 0, 99));
  return pick(rng, 0, 1) ? fmt("(%s) 555-01%02u", area, line) : fmt("%s-555-01%02u", area, line);
}

std::string make_email(std::mt19937_64& rng) {
  static constexpr const char* kFirst[] = {"ana", "ben", "chloe", "dev", "elif", "femi", "gus", "hana", "ines", "jon"};
  static constexpr const char* kLast[] = {"alvarez", "baker", "cohen", "diallo", "evans", "fischer", "gupta", "hale"};
  static constexpr const char* kDomains[] = {"example.com", "example.org", "example.net"};
  return fmt("%s.%s%u@%s", pick_of(rng, kFirst), pick_of(rng, kLast), static_cast<unsigned>(pick(rng, 1, 99)),
             pick_of(rng, kDomains));
}

// A sentence carrying one value; the value is appended to `planted`.
std::string phi_sentence(std::mt19937_64& rng, std::vector<std::string>& planted) {
  switch (pick(rng, 0, 2)) {
    case 0:
      planted.push_back(make_ssn(rng, '-'));
      return "The SSN on file is " + planted.back() + ".";
    case 1:
      planted.push_back(make_phone(rng));
      return "Call the clinic at " + planted.back() + " to reschedule.";
    default:
      planted.push_back(make_email(rng));
      return "The summary was sent to " + planted.back() + " today.";
  }
}

std::string filler_sentence(std::mt19937_64& rng) {
  static constexpr const char* kSubject[] = {
      "The patient", "She", "He", "The care team", "Pharmacy", "The resident", "Physical therapy", "The attending"};
  static constexpr const char* kVerb[] = {"reported", "denied",      "was started on",       "tolerated",
                                          "reviewed", "recommended", "noted improvement in", "documented"};
  static constexpr const char* kObject[] = {"mild dyspnea on exertion",
                                            "metformin 500 mg twice daily",
                                            "a blood pressure of 128/82 mmHg",
                                            "an HbA1c of 7.1%",
                                            "a low-sodium diet",
                                            "intermittent headaches",
                                            "an eGFR of 71 mL/min",
                                            "the chest radiograph without acute findings"};
  static constexpr const char* kTail[] = {"over the past week", "without complications", "at the follow-up visit",
                                          "per the discharge summary", "and will be reassessed in 3 months"};
  return std::string(pick_of(rng, kSubject)) + " " + pick_of(rng, kVerb) + " " + pick_of(rng, kObject) + " " +
         pick_of(rng, kTail) + ".";
}

// The next sentence of model text, planting a value when the text is below the profile's density.
std::string next_sentence(std::mt19937_64& rng, size_t text_len, double per_kib, std::vector<std::string>& planted) {
  const double want = per_kib * static_cast<double>(text_len + 64) / 1024.0;
  if (per_kib > 0 && static_cast<double>(planted.size()) < want) return phi_sentence(rng, planted);
  return filler_sentence(rng);
}

constexpr std::string_view kJsonTailFmt =
    "\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":%u,\"completion_tokens\":%u,\"total_tokens\":%u}}";

std::string response_head(std::mt19937_64& rng, bool sse, bool chunked, uint64_t body_len) {
  std::string h = "HTTP/1.1 200 OK\r\nContent-Type: ";
  h += sse ? "text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\n" : "application/json\r\n";
  h += chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + std::to_string(body_len) + "\r\n";
  h += "Connection: keep-alive\r\nx-request-id: req_" + hex_id(rng, 32) + "\r\n\r\n";
  return h;
}

generated_response json_response(std::mt19937_64& rng, uint64_t bytes, double per_kib) {
  generated_response r;
  const std::string head_guess =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 0000000\r\n"
      "Connection: keep-alive\r\nx-request-id: req_" +
      std::string(32, '0') + "\r\n\r\n";
  std::string body = "{\"id\":\"chatcmpl-" + hex_id(rng, 24) +
                     "\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"gpt-4o\","
                     "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"";
  const size_t fixed = head_guess.size() + body.size() + kJsonTailFmt.size();
  const size_t target = bytes > fixed ? bytes - fixed : 16;
  std::string text;
  while (text.size() < target) {
    if (!text.empty()) text += (text.size() % 700 < 120) ? "\n\n" : " ";
    text += next_sentence(rng, text.size(), per_kib, r.planted);
  }
  text.resize(target);  // cut filler only: a value cut short would not count as planted
  // A value cut by the resize is dropped from the planted list (it is no longer whole).
  while (!r.planted.empty() && text.find(r.planted.back()) == std::string::npos) r.planted.pop_back();
  json_escape_into(body, text);
  const auto prompt = static_cast<unsigned>(pick(rng, 40, 900));
  const auto completion = static_cast<unsigned>(text.size() / 4);
  body += fmt(std::string(kJsonTailFmt).c_str(), prompt, completion, prompt + completion);
  r.bytes = response_head(rng, false, false, body.size()) + body;
  r.model_text_bytes = text.size();
  return r;
}

generated_response sse_response(std::mt19937_64& rng, uint64_t bytes, bool chunked, double per_kib) {
  generated_response r;
  r.sse = true;
  r.chunked = chunked;
  const std::string id = hex_id(rng, 24);
  const std::string prefix = "data: {\"id\":\"chatcmpl-" + id +
                             "\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\","
                             "\"choices\":[{\"index\":0,\"delta\":";
  std::vector<std::string> events;
  events.push_back(prefix + "{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
  const std::string last = prefix + "{},\"finish_reason\":\"stop\"}]}\n\n";
  const std::string done = "data: [DONE]\n\n";
  auto framed = [&](size_t n) { return chunked ? n + 8 : n; };  // "<hex>\r\n" ... "\r\n"
  uint64_t body = framed(events[0].size()) + framed(last.size()) + framed(done.size()) + (chunked ? 5 : 0);
  const uint64_t head = 200;
  std::string text;
  bool full = false;
  while (!full) {
    std::string sentence = (text.empty() ? "" : " ") + next_sentence(rng, text.size(), per_kib, r.planted);
    size_t used = 0;
    for (const std::string& tok : tokenize(rng, sentence)) {
      std::string e = prefix + "{\"content\":\"";
      json_escape_into(e, tok);
      e += "\"},\"finish_reason\":null}]}\n\n";
      if (head + body + framed(e.size()) > bytes && !text.empty()) {
        full = true;
        break;
      }
      body += framed(e.size());
      events.push_back(std::move(e));
      used += tok.size();
    }
    text += sentence.substr(0, used);
  }
  while (!r.planted.empty() && text.find(r.planted.back()) == std::string::npos) r.planted.pop_back();
  events.push_back(last);
  events.push_back(done);
  std::string b;
  for (const std::string& e : events) b += chunked ? fmt("%zx\r\n", e.size()) + e + "\r\n" : e;
  if (chunked) b += "0\r\n\r\n";
  r.bytes = response_head(rng, true, chunked, b.size()) + b;
  r.model_text_bytes = text.size();
  return r;
}

}  // namespace

generated_response make_response(std::mt19937_64& rng, uint64_t bytes, bool sse, bool chunked, double phi_per_kib) {
  return sse ? sse_response(rng, bytes, chunked, phi_per_kib) : json_response(rng, bytes, phi_per_kib);
}

std::string make_request(std::mt19937_64& rng, uint32_t bytes, bool stream) {
  const std::string pre = std::string("{\"model\":\"gpt-4o\",\"stream\":") + (stream ? "true" : "false") +
                          ",\"max_tokens\":1024,\"messages\":[{\"role\":\"system\",\"content\":\"You are a clinical "
                          "documentation assistant.\"},{\"role\":\"user\",\"content\":\"";
  const std::string post = "\"}]}";
  std::string head =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: inference.internal:8000\r\n"
      "User-Agent: openai-python/1.40\r\nContent-Type: application/json\r\nAccept: " +
      std::string(stream ? "text/event-stream" : "application/json") + "\r\nContent-Length: ";
  const size_t fixed = head.size() + 7 + 4 + pre.size() + post.size();
  const size_t target = bytes > fixed ? bytes - fixed : 16;
  std::string text = "Summarize the visit notes.";
  while (text.size() < target) text += " " + filler_sentence(rng);
  text.resize(target);
  const std::string body = pre + text + post;
  return head + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string model_text_of(std::string_view r) {
  static constexpr std::string_view kKey = "\"content\":\"";
  std::string out;
  size_t at = r.find("\r\n\r\n");
  if (at == std::string_view::npos) return out;
  while ((at = r.find(kKey, at)) != std::string_view::npos) {
    size_t i = at + kKey.size();
    for (; i < r.size() && r[i] != '"'; ++i) {
      if (r[i] == '\\' && i + 1 < r.size()) {
        ++i;
        out += r[i] == 'n' ? '\n' : r[i];
      } else {
        out += r[i];
      }
    }
    at = i;
  }
  return out;
}

std::variant<replay_set, std::string> replay_set_build(const traffic_profile& p, uint64_t seed) {
  replay_set rs;
  std::mt19937_64 rng(seed);
  const double mean = p.mean_response_bytes();
  const uint32_t exchanges = std::max<uint32_t>(1, p.exchanges_per_connection);
  const double per_script = mean * exchanges;
  uint32_t scripts = static_cast<uint32_t>(
      std::clamp(static_cast<double>(kReplayBudgetBytes) / per_script, 2.0, static_cast<double>(kMaxScripts)));
  if (per_script * scripts > 4.0 * static_cast<double>(kReplayBudgetBytes))
    return std::string("response_sizes x exchanges_per_connection: two connections would take more than ") +
           std::to_string(4 * kReplayBudgetBytes >> 20) + " MiB in memory";
  // Streamed scripts spread evenly (stratified), so any share is met as closely as `scripts` allows.
  uint32_t n_sse = 0;
  for (uint32_t s = 0; s < scripts; ++s) {
    const bool sse = std::floor((s + 1) * p.sse_share) > std::floor(s * p.sse_share);
    rs.script_sse.push_back(sse);
    n_sse += sse;
  }
  // Sizes per kind: stratified quantiles of the weighted distribution, then shuffled.
  auto sizes_for = [&](uint32_t n) {
    std::vector<uint64_t> out;
    double total = 0;
    for (const size_weight& s : p.response_sizes) total += s.weight;
    for (uint32_t i = 0; i < n; ++i) {
      const double q = (i + 0.5) / n * total;
      double acc = 0;
      uint64_t b = p.response_sizes.back().bytes;
      for (const size_weight& s : p.response_sizes) {
        acc += s.weight;
        if (q < acc) {
          b = s.bytes;
          break;
        }
      }
      out.push_back(b);
    }
    for (size_t i = out.size(); i > 1; --i) std::swap(out[i - 1], out[pick(rng, 0, i - 1)]);
    return out;
  };
  const std::vector<uint64_t> sse_sizes = sizes_for(n_sse * exchanges);
  const std::vector<uint64_t> json_sizes = sizes_for((scripts - n_sse) * exchanges);
  size_t next_sse = 0, next_json = 0;
  bench::frame_corpus_builder b;
  rs.shape.exchanges = exchanges;
  uint64_t total_bytes = 0, sse_count = 0;
  for (uint32_t s = 0; s < scripts; ++s) {
    const bool sse = rs.script_sse[s];
    std::vector<uint32_t> idx;
    std::vector<std::string_view> views;
    for (uint32_t x = 0; x < exchanges; ++x) {
      const uint64_t bytes = sse ? sse_sizes[next_sse++] : json_sizes[next_json++];
      idx.push_back(static_cast<uint32_t>(rs.responses.size()));
      rs.responses.push_back(make_response(rng, bytes, sse, sse && (rs.responses.size() % 2 == 0), p.phi_per_kib));
      total_bytes += rs.responses.back().bytes.size();
      sse_count += sse;
      rs.planted_per_pass += rs.responses.back().planted.size();
    }
    for (uint32_t i : idx) views.push_back(rs.responses[i].bytes);
    rs.requests.push_back(make_request(rng, p.request_bytes, sse));
    b.add_connection(rs.requests.back(), views, rs.shape, 0x100 + s);
    rs.script_responses.push_back(std::move(idx));
    rs.requests_per_pass += exchanges;
  }
  rs.fc = b.take();
  for (const bench::script& sc : rs.fc.scripts) {
    rs.frames_per_pass += sc.loop_count;
    rs.response_payload_per_pass += sc.loop_response_payload;
  }
  rs.sse_share = rs.responses.empty() ? 0 : static_cast<double>(sse_count) / static_cast<double>(rs.responses.size());
  rs.mean_response_bytes =
      rs.responses.empty() ? 0 : static_cast<double>(total_bytes) / static_cast<double>(rs.responses.size());
  return rs;
}

}  // namespace phigate::capacity
