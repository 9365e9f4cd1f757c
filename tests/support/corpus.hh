#pragma once
// Seeded corpus of inference responses with planted PHI and hard negatives, for the recall,
// precision and hold-back gates. Each document records where, in the model text, every planted
// value sits, so the masked output can be decoded back to model text and scored character by
// character. Streaming shapes cut the text into random 1-6 byte tokens, so values are split
// across events exactly as LLM tokenizers split them. Tests only (allocates, may throw).
#include <cstddef>
#include <random>
#include <string>
#include <vector>

namespace phigate::test {

enum class doc_shape { json_completion, sse_openai, sse_anthropic, ndjson_ollama };
inline constexpr doc_shape kAllShapes[] = {doc_shape::json_completion, doc_shape::sse_openai,
                                           doc_shape::sse_anthropic, doc_shape::ndjson_ollama};
const char* shape_name(doc_shape s);

struct planted {
  size_t start, end;  // byte range in corpus_doc::text
  std::string kind;   // phi kind (phi_kinds()) or "negative"
  bool phi;
};

struct corpus_doc {
  doc_shape shape;
  std::string text;      // the model text (what a client would display)
  std::string response;  // the full HTTP response carrying it
  std::vector<planted> spans;
};

// phi_items planted values (kinds drawn from `kinds`, or all kinds when empty) and as many hard
// negatives, in clinical-sounding filler.
corpus_doc make_doc(std::mt19937_64& rng, doc_shape shape, int phi_items, const std::vector<std::string>& kinds = {});
// Only filler prose: no PHI, no negatives (for the hold-back measurement).
corpus_doc make_prose_doc(std::mt19937_64& rng, doc_shape shape, size_t words);
// Decodes a (masked) response of that shape back to its model text. Throws on malformed input.
std::string extract_text(const std::string& response, doc_shape shape);

}  // namespace phigate::test
