#include "tests/support/corpus.hh"

#include <nlohmann/json.hpp>

#include <stdexcept>

#include "tests/support/phi_values.hh"

namespace phigate::test {
namespace {

const char* kWords[] = {"the", "patient", "reports", "mild", "pain", "after", "surgery", "and", "was", "advised",
                        "to", "rest", "follow", "up", "with", "cardiology", "in", "two", "weeks", "no", "fever",
                        "noted", "vitals", "stable", "plan", "continue", "current", "medication", "review",
                        "labs", "tomorrow", "discussed", "risks", "benefits", "of", "therapy", "denies", "chest",
                        "tightness", "appetite", "improved", "sleep", "adequate", "ambulating", "independently"};

std::string filler(std::mt19937_64& rng, int words) {
  std::string s;
  for (int i = 0; i < words; ++i) {
    if (!s.empty()) s += ' ';
    s += kWords[rng() % std::size(kWords)];
  }
  return s;
}

std::string json_escape(const std::string& t, std::mt19937_64& rng) {
  std::string o;
  for (unsigned char c : t) {
    if (c == '"') o += "\\\"";
    else if (c == '\\') o += "\\\\";
    else if (c == '\n') o += "\\n";
    else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else if (c == '-' && rng() % 8 == 0) o += "\\u002d";  // escaped separators must not hide PHI
    else if (c == '/' && rng() % 4 == 0) o += "\\/";
    else o += static_cast<char>(c);
  }
  return o;
}

std::vector<std::string> tokens(const std::string& text, std::mt19937_64& rng) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {
    size_t n = 1 + rng() % 6;
    n = std::min(n, text.size() - i);
    out.push_back(text.substr(i, n));
    i += n;
  }
  return out;
}

std::string http(const char* type, const std::string& body) {
  return std::string("HTTP/1.1 200 OK\r\nContent-Type: ") + type + "\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string wrap(doc_shape shape, const std::string& text, std::mt19937_64& rng) {
  switch (shape) {
    case doc_shape::json_completion:
      return http("application/json",
                  "{\"id\":\"chatcmpl-" + std::to_string(rng() % 100000) +
                      "\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"clinical-7b\","
                      "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" +
                      json_escape(text, rng) +
                      "\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":42,"
                      "\"completion_tokens\":" + std::to_string(text.size() / 4) + "}}");
    case doc_shape::sse_openai: {
      std::string b;
      for (const auto& t : tokens(text, rng))
        b += "data: {\"id\":\"chatcmpl-7\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
             "\"model\":\"clinical-7b\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" +
             json_escape(t, rng) + "\"},\"finish_reason\":null}]}\n\n";
      b += "data: [DONE]\n\n";
      return http("text/event-stream", b);
    }
    case doc_shape::sse_anthropic: {
      std::string b = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
                      "\"role\":\"assistant\",\"model\":\"claude\"}}\n\n";
      for (const auto& t : tokens(text, rng))
        b += "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
             "{\"type\":\"text_delta\",\"text\":\"" + json_escape(t, rng) + "\"}}\n\n";
      b += "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
      return http("text/event-stream", b);
    }
    case doc_shape::ndjson_ollama: {
      std::string b;
      for (const auto& t : tokens(text, rng))
        b += "{\"model\":\"llama3\",\"created_at\":\"2024-05-01T10:00:00Z\",\"response\":\"" + json_escape(t, rng) +
             "\",\"done\":false}\n";
      b += "{\"model\":\"llama3\",\"response\":\"\",\"done\":true,\"eval_count\":128}\n";
      return http("application/x-ndjson", b);
    }
  }
  return {};
}

}  // namespace

const char* shape_name(doc_shape s) {
  switch (s) {
    case doc_shape::json_completion: return "json";
    case doc_shape::sse_openai: return "sse-openai";
    case doc_shape::sse_anthropic: return "sse-anthropic";
    case doc_shape::ndjson_ollama: return "ndjson";
  }
  return "?";
}

corpus_doc make_doc(std::mt19937_64& rng, doc_shape shape, int phi_items, const std::vector<std::string>& kinds_in) {
  const std::vector<std::string> kinds = kinds_in.empty() ? phi_kinds() : kinds_in;
  corpus_doc d;
  d.shape = shape;
  std::vector<int> order;
  for (int i = 0; i < phi_items; ++i) order.push_back(1), order.push_back(0);
  std::shuffle(order.begin(), order.end(), rng);
  d.text = filler(rng, 3);
  for (int is_phi : order) {
    d.text += ' ';
    if (is_phi) {
      const std::string& kind = kinds[rng() % kinds.size()];
      const phi_value v = make_phi(kind.c_str(), rng);
      d.text += phi_context_prefix(kind);
      d.spans.push_back({d.text.size(), d.text.size() + v.text.size(), kind, true});
      d.text += v.text;
    } else {
      const std::string neg = make_hard_negative(rng);
      d.spans.push_back({d.text.size(), d.text.size() + neg.size(), "negative", false});
      d.text += neg;
    }
    d.text += rng() % 3 == 0 ? ", " : " ";
    d.text += filler(rng, 2 + static_cast<int>(rng() % 5));
  }
  d.text += '.';
  d.response = wrap(shape, d.text, rng);
  return d;
}

corpus_doc make_prose_doc(std::mt19937_64& rng, doc_shape shape, size_t words) {
  corpus_doc d;
  d.shape = shape;
  d.text = filler(rng, static_cast<int>(words)) + ".";
  d.response = wrap(shape, d.text, rng);
  return d;
}

std::string extract_text(const std::string& response, doc_shape shape) {
  const size_t at = response.find("\r\n\r\n");
  if (at == std::string::npos) throw std::runtime_error("no head");
  const std::string body = response.substr(at + 4);
  std::string text;
  auto lines = [&](auto&& fn) {
    size_t i = 0;
    while (i < body.size()) {
      size_t e = body.find('\n', i);
      if (e == std::string::npos) e = body.size();
      fn(body.substr(i, e - i));
      i = e + 1;
    }
  };
  switch (shape) {
    case doc_shape::json_completion:
      return nlohmann::json::parse(body)["choices"][0]["message"]["content"].get<std::string>();
    case doc_shape::sse_openai:
      lines([&](const std::string& l) {
        if (l.rfind("data: {", 0) == 0)
          text += nlohmann::json::parse(l.substr(6))["choices"][0]["delta"]["content"].get<std::string>();
      });
      return text;
    case doc_shape::sse_anthropic:
      lines([&](const std::string& l) {
        if (l.rfind("data: {\"type\":\"content_block_delta\"", 0) == 0)
          text += nlohmann::json::parse(l.substr(6))["delta"]["text"].get<std::string>();
      });
      return text;
    case doc_shape::ndjson_ollama:
      lines([&](const std::string& l) {
        if (!l.empty()) text += nlohmann::json::parse(l)["response"].get<std::string>();
      });
      return text;
  }
  return text;
}

}  // namespace phigate::test
