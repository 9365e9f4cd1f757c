#include "controlplane/recording/recording_file.hh"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <climits>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "controlplane/audit/audit_format.hh"
#include "controlplane/auth/crypto_util.hh"

namespace phigate::recording {

namespace {

using json = nlohmann::json;

constexpr size_t max_document_depth = 8;
constexpr size_t max_text_field_bytes = 256;  // session id, addresses, request ids, entities

struct cipher_ctx_free {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_free>;

const unsigned char* uc(const void* p) { return static_cast<const unsigned char*>(p); }
unsigned char* uc(void* p) { return static_cast<unsigned char*>(p); }

std::string header_bytes(const recording_key& key) {
  std::string h(recording_magic);
  h.push_back(static_cast<char>(recording_format_version >> 8));
  h.push_back(static_cast<char>(recording_format_version & 0xff));
  h.push_back('\0');
  h.push_back('\0');
  h.append(reinterpret_cast<const char*>(key.id().data()), key.id().size());
  return h;
}

recording_error crypto_error(const char* what) {
  auth::openssl_clear_errors();
  return {recording_error_kind::io, std::string("AES-256-GCM ") + what + " failed"};
}

recording_error malformed(const std::string& where, const char* what) {
  return {recording_error_kind::malformed, "recording document: " + where + ": " + what};
}

// nlohmann accessors that never throw: each returns false on a missing key or a wrong type.
const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

bool get_u64(const json& obj, const char* key, uint64_t& out) {
  const json* v = member(obj, key);
  if (v == nullptr || !v->is_number_unsigned()) return false;
  out = v->get<uint64_t>();
  return true;
}

bool get_i64(const json& obj, const char* key, int64_t& out) {
  const json* v = member(obj, key);
  if (v == nullptr) return false;
  if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    out = static_cast<int64_t>(u);
    return true;
  }
  if (!v->is_number_integer()) return false;
  out = v->get<int64_t>();
  return true;
}

bool get_text(const json& obj, const char* key, std::string& out, size_t max_len = max_text_field_bytes) {
  const json* v = member(obj, key);
  if (v == nullptr || !v->is_string()) return false;
  const auto& s = v->get_ref<const std::string&>();
  if (s.size() > max_len) return false;
  out = s;
  return true;
}

bool entity_valid(std::string_view e) {
  if (e.empty() || e.size() > 32) return false;
  for (char c : e)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return true;
}

std::variant<recording, recording_error> parse_checked(const json& doc) {
  recording r;
  std::string format;
  uint64_t version = 0;
  if (!get_text(doc, "format", format) || format != "phigate-recording") return malformed("format", "not a recording");
  if (!get_u64(doc, "version", version) || version != 1) return malformed("version", "unsupported document version");
  if (!get_text(doc, "session_id", r.meta.session_id) || !recording_session_id_valid(r.meta.session_id))
    return malformed("session_id", "missing or not a valid session id");

  const json* flow = member(doc, "flow");
  uint64_t cport = 0, sport = 0;
  if (flow == nullptr || !get_text(*flow, "client_addr", r.meta.flow.client_addr) ||
      !get_text(*flow, "server_addr", r.meta.flow.server_addr) || !get_u64(*flow, "client_port", cport) ||
      !get_u64(*flow, "server_port", sport) || cport > 65535 || sport > 65535)
    return malformed("flow", "missing or invalid endpoints");
  r.meta.flow.client_port = static_cast<uint16_t>(cport);
  r.meta.flow.server_port = static_cast<uint16_t>(sport);
  if (!get_i64(doc, "start_unix_ns", r.meta.start_unix_ns)) return malformed("start_unix_ns", "missing or invalid");

  const json* ids = member(doc, "request_ids");
  if (ids == nullptr || !ids->is_array()) return malformed("request_ids", "missing or not an array");
  for (size_t i = 0; i < ids->size(); ++i) {
    const json& id = (*ids)[i];
    if (!id.is_string() || id.get_ref<const std::string&>().size() > max_text_field_bytes)
      return malformed("request_ids[" + std::to_string(i) + "]", "not a string of at most 256 bytes");
    r.meta.request_ids.push_back(id.get<std::string>());
  }
  if (!get_u64(doc, "max_bytes", r.max_bytes)) return malformed("max_bytes", "missing or invalid");
  if (!get_u64(doc, "rejected_masks", r.rejected_masks)) return malformed("rejected_masks", "missing or invalid");

  const json* events = member(doc, "events");
  if (events == nullptr || !events->is_array()) return malformed("events", "missing or not an array");
  r.events.reserve(events->size());
  int64_t last_t = 0;
  for (size_t i = 0; i < events->size(); ++i) {
    const json& ev = (*events)[i];
    const std::string where = "events[" + std::to_string(i) + "]";
    recorded_event e;
    std::string dir;
    const json* data = member(ev, "data");
    const json* masks = member(ev, "masks");
    if (!get_i64(ev, "t_ns", e.t_ns) || e.t_ns < last_t) return malformed(where + ".t_ns", "missing, negative or decreasing");
    last_t = e.t_ns;
    if (!get_text(ev, "dir", dir)) return malformed(where + ".dir", "missing");
    if (dir == "request")
      e.direction = recording_direction::request;
    else if (dir == "response")
      e.direction = recording_direction::response;
    else
      return malformed(where + ".dir", "neither request nor response");
    if (data == nullptr || !data->is_string()) return malformed(where + ".data", "missing");
    auto bytes = auth::base64_decode(data->get_ref<const std::string&>());
    if (!bytes) return malformed(where + ".data", "not base64");
    e.bytes = std::move(*bytes);
    if (masks == nullptr || !masks->is_array()) return malformed(where + ".masks", "missing or not an array");
    uint64_t last_off = 0;
    for (size_t k = 0; k < masks->size(); ++k) {
      const json& m = (*masks)[k];
      const std::string mwhere = where + ".masks[" + std::to_string(k) + "]";
      if (!m.is_array() || m.size() != 3 || !m[0].is_number_unsigned() || !m[1].is_number_unsigned() ||
          !m[2].is_string())
        return malformed(mwhere, "not [offset, length, entity]");
      const uint64_t off = m[0].get<uint64_t>(), len = m[1].get<uint64_t>();
      if (len == 0 || off > e.bytes.size() || len > e.bytes.size() - off)
        return malformed(mwhere, "outside its event");
      if (off < last_off) return malformed(mwhere, "offsets not ascending");
      last_off = off;
      const auto& entity = m[2].get_ref<const std::string&>();
      if (!entity_valid(entity)) return malformed(mwhere, "invalid entity name");
      e.masks.push_back({static_cast<uint32_t>(off), static_cast<uint32_t>(len), entity});
    }
    r.events.push_back(std::move(e));
  }

  const json* trunc = member(doc, "truncated");
  if (trunc == nullptr) return malformed("truncated", "missing");
  if (!trunc->is_null()) {
    r.truncation.truncated = true;
    if (!get_text(*trunc, "cap", r.truncation.cap) || !get_i64(*trunc, "at_t_ns", r.truncation.at_t_ns) ||
        !get_u64(*trunc, "bytes_dropped", r.truncation.bytes_dropped) ||
        !get_u64(*trunc, "events_dropped", r.truncation.events_dropped))
      return malformed("truncated", "invalid marker");
  }
  return r;
}

}  // namespace

bool recording_session_id_valid(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

std::variant<recording_header_info, recording_error> recording_peek(std::span<const uint8_t> file) {
  if (file.size() < recording_magic.size() || std::memcmp(file.data(), recording_magic.data(), recording_magic.size()) != 0)
    return recording_error{recording_error_kind::not_a_recording, "not a phigate recording (bad magic)"};
  if (file.size() < recording_overhead_bytes)
    return recording_error{recording_error_kind::truncated,
                           "recording truncated: " + std::to_string(file.size()) + " bytes, at least " +
                               std::to_string(recording_overhead_bytes) + " expected"};
  if (file.size() > recording_max_file_bytes)
    return recording_error{recording_error_kind::invalid_argument, "recording larger than 256 MiB"};
  recording_header_info info;
  info.version = static_cast<uint16_t>((file[8] << 8) | file[9]);
  if (info.version != recording_format_version)
    return recording_error{recording_error_kind::unsupported_version,
                           "unsupported recording format version " + std::to_string(info.version)};
  info.key_id = auth::hex_encode(std::string_view(reinterpret_cast<const char*>(file.data() + 12), recording_key_id_bytes));
  return info;
}

std::variant<std::string, recording_error> recording_seal_with_nonce(
    std::string_view document, const recording_key& key, std::span<const uint8_t, recording_nonce_bytes> nonce) {
  if (document.size() > recording_max_file_bytes - recording_overhead_bytes)
    return recording_error{recording_error_kind::invalid_argument, "recording document too large"};
  const std::string header = header_bytes(key);
  std::string file;
  file.resize(recording_overhead_bytes + document.size());
  std::memcpy(file.data(), header.data(), header.size());
  std::memcpy(file.data() + recording_header_bytes, nonce.data(), nonce.size());
  unsigned char* ct = uc(file.data() + recording_header_bytes + recording_nonce_bytes);

  cipher_ctx_ptr ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key.bytes().data(), nonce.data(), nullptr) != 1)
    return crypto_error("init");
  if (EVP_EncryptUpdate(ctx.get(), nullptr, &n, uc(header.data()), static_cast<int>(header.size())) != 1)
    return crypto_error("aad");
  if (!document.empty() &&
      (EVP_EncryptUpdate(ctx.get(), ct, &n, uc(document.data()), static_cast<int>(document.size())) != 1 ||
       static_cast<size_t>(n) != document.size()))
    return crypto_error("encrypt");
  if (EVP_EncryptFinal_ex(ctx.get(), ct + document.size(), &n) != 1 || n != 0) return crypto_error("final");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(recording_tag_bytes),
                          ct + document.size()) != 1)
    return crypto_error("tag");
  return file;
}

std::variant<std::string, recording_error> recording_seal(std::string_view document, const recording_key& key) {
  std::array<uint8_t, recording_nonce_bytes> nonce{};
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
    auth::openssl_clear_errors();
    return recording_error{recording_error_kind::io, "random number generator failed"};
  }
  return recording_seal_with_nonce(document, key, nonce);
}

std::variant<std::string, recording_error> recording_open(std::span<const uint8_t> file, const recording_key& key) {
  auto peeked = recording_peek(file);
  if (auto* e = std::get_if<recording_error>(&peeked)) return *e;
  const auto& info = std::get<recording_header_info>(peeked);

  const size_t ct_len = file.size() - recording_overhead_bytes;
  const uint8_t* nonce = file.data() + recording_header_bytes;
  const uint8_t* ct = nonce + recording_nonce_bytes;
  const uint8_t* tag = ct + ct_len;
  std::string plain(ct_len, '\0');

  auto fail = [&](bool tag_failed) -> recording_error {
    OPENSSL_cleanse(plain.data(), plain.size());
    auth::openssl_clear_errors();
    if (!tag_failed) return {recording_error_kind::io, "AES-256-GCM decryption could not run"};
    if (info.key_id != key.id_hex())
      return {recording_error_kind::wrong_key, "authentication failed: wrong key (the recording names key id " +
                                                   info.key_id + ", the key given has id " + key.id_hex() + ")"};
    return {recording_error_kind::authentication_failed,
            "authentication failed: the recording was modified, damaged or truncated"};
  };

  cipher_ctx_ptr ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  if (!ctx || EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key.bytes().data(), nonce, nullptr) != 1)
    return fail(false);
  if (EVP_DecryptUpdate(ctx.get(), nullptr, &n, file.data(), static_cast<int>(recording_header_bytes)) != 1)
    return fail(false);
  if (ct_len > 0 && (EVP_DecryptUpdate(ctx.get(), uc(plain.data()), &n, ct, static_cast<int>(ct_len)) != 1 ||
                     static_cast<size_t>(n) != ct_len))
    return fail(false);
  // The tag is checked by DecryptFinal; until it passes, `plain` is unauthenticated and is wiped
  // rather than returned.
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(recording_tag_bytes),
                          const_cast<uint8_t*>(tag)) != 1)
    return fail(false);
  if (EVP_DecryptFinal_ex(ctx.get(), uc(plain.data()) + ct_len, &n) != 1) return fail(true);
  if (file[10] != 0 || file[11] != 0) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return recording_error{recording_error_kind::malformed, "recording header: reserved field is not zero"};
  }
  return plain;
}

std::string recording_serialize(const recording& r) {
  json doc = json::object();
  doc["format"] = "phigate-recording";
  doc["version"] = 1;
  doc["session_id"] = r.meta.session_id;
  doc["flow"] = {{"client_addr", r.meta.flow.client_addr},
                 {"client_port", r.meta.flow.client_port},
                 {"server_addr", r.meta.flow.server_addr},
                 {"server_port", r.meta.flow.server_port}};
  doc["start_unix_ns"] = r.meta.start_unix_ns;
  doc["request_ids"] = r.meta.request_ids;
  doc["max_bytes"] = r.max_bytes;
  doc["rejected_masks"] = r.rejected_masks;
  json events = json::array();
  for (const recorded_event& e : r.events) {
    json masks = json::array();
    for (const recorded_mask& m : e.masks) masks.push_back(json::array({m.offset, m.length, m.entity}));
    events.push_back({{"t_ns", e.t_ns},
                      {"dir", recording_direction_name(e.direction)},
                      {"data", auth::base64_encode(e.bytes)},
                      {"masks", std::move(masks)}});
  }
  doc["events"] = std::move(events);
  if (r.truncation.truncated)
    doc["truncated"] = {{"cap", r.truncation.cap},
                        {"at_t_ns", r.truncation.at_t_ns},
                        {"bytes_dropped", r.truncation.bytes_dropped},
                        {"events_dropped", r.truncation.events_dropped}};
  else
    doc["truncated"] = nullptr;
  // Metadata strings come from the dataplane; invalid UTF-8 is replaced rather than thrown on.
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::variant<recording, recording_error> recording_parse(std::string_view document) {
  if (!audit::json_depth_within(document, max_document_depth))
    return recording_error{recording_error_kind::malformed, "recording document: nested too deeply"};
  try {
    json doc = json::parse(document, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object())
      return recording_error{recording_error_kind::malformed, "recording document: not a JSON object"};
    return parse_checked(doc);
  } catch (const std::exception&) {
    // Allocation failure or a library type error: reported, never propagated.
    return recording_error{recording_error_kind::malformed, "recording document: cannot be parsed"};
  }
}

std::string recording_digest_hex(std::string_view file) { return auth::hex_encode(auth::as_chars(auth::sha256(file))); }

}  // namespace phigate::recording
