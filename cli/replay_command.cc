// phigate replay: decrypts a session recording and prints the exchange in order, with timings,
// direction arrows and each masked span marked by its entity. Nothing reaches stdout unless the
// whole file authenticated: a missing, wrong or mismatched key, or a modified file, is refused.
//
// The text view escapes every byte a terminal could act on (C0/C1 controls, DEL, invalid UTF-8,
// bidi and zero-width characters), so a recorded response cannot drive the operator's terminal,
// and wraps long lines so the caret row under a masked span stays aligned.
#include <openssl/crypto.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.hh"
#include "controlplane/auth/crypto_util.hh"
#include "controlplane/recording/recording_file.hh"
#include "controlplane/recording/recording_key.hh"
#include "controlplane/recording/recording_reader.hh"

namespace phigate::cli {

namespace {

namespace rec = phigate::recording;

constexpr size_t wrap_columns = 100;
constexpr const char* content_prefix = "    \xe2\x94\x82 ";  // "    │ "

void replay_usage(FILE* out) {
  std::fputs(
      "usage: phigate replay [--key FILE] [--json] [--raw] SESSION_FILE\n"
      "\n"
      "Decrypts a session recording (<session-id>.rec) and prints the exchange in order: each\n"
      "chunk with its time since the session start, its direction (\xe2\x86\x92 request, \xe2\x86\x90 response)\n"
      "and a caret row under every masked span, labelled with its entity (\xe2\x9f\xa6SSN\xe2\x9f\xa7).\n"
      "Non-printable bytes are shown escaped (\\xNN, \\t, \\u{XXXX}).\n"
      "\n"
      "  --key FILE  the 32-byte recording key (mode 0600); default $PHIGATE_RECORDING_KEY\n"
      "  --json      one JSON document: metadata, events (bytes as base64, and as text when\n"
      "              valid UTF-8), mask spans, truncation marker\n"
      "  --raw       the recorded bytes only, exactly, in event order (for piping)\n"
      "\n"
      "Exit status: 0 printed, 1 usage error or unreadable file, 2 refused (no key, wrong key,\n"
      "key file readable by others, file modified or not a recording).\n",
      out);
}

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string endpoint(const std::string& addr, uint16_t port) {
  const bool v6 = addr.find(':') != std::string::npos;
  return (v6 ? "[" + addr + "]" : addr) + ":" + std::to_string(port);
}

std::string utc_time(int64_t unix_ns) {
  int64_t sec = unix_ns / 1000000000, frac = unix_ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    --sec;
  }
  const time_t t = static_cast<time_t>(sec);
  struct tm tm {};
  if (gmtime_r(&t, &tm) == nullptr) return "?";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(frac));
  return buf;
}

std::string offset_ms(int64_t t_ns) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "+%lld.%03lld ms", static_cast<long long>(t_ns / 1000000),
                static_cast<long long>((t_ns / 1000) % 1000));
  return buf;
}

// Length of the valid UTF-8 sequence at s[i] and its code point; 0 when invalid (overlong,
// surrogate, beyond U+10FFFF, cut short).
size_t utf8_sequence(std::string_view s, size_t i, uint32_t& cp) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t lead = b(i);
  size_t len;
  uint32_t min;
  if (lead >= 0xc2 && lead <= 0xdf) {
    len = 2, min = 0x80, cp = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    len = 3, min = 0x800, cp = lead & 0x0f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    len = 4, min = 0x10000, cp = lead & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t n = utf8_sequence(s, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Characters a terminal renders invisibly or that reorder text (Trojan Source), and the C1 range.
bool invisible(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0xad || (cp >= 0x200b && cp <= 0x200f) ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

// East Asian wide and fullwidth ranges (fullwidth digits are a PHI evasion trick): two columns.
bool wide(uint32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
         (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
         (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd);
}

struct cell {
  std::string text;
  size_t width;
  int mask;  // index into the event's masks, -1 when not masked
};

// Splits an event's bytes into display lines of cells. A CRLF (or LF) ends a line; the CR of a
// CRLF is not shown.
std::vector<std::vector<cell>> cells_of(const rec::recorded_event& e) {
  const std::string_view s = e.bytes;
  std::vector<int> mask_of(s.size(), -1);
  for (size_t m = 0; m < e.masks.size(); ++m)
    for (size_t k = e.masks[m].offset; k < size_t(e.masks[m].offset) + e.masks[m].length && k < s.size(); ++k)
      if (mask_of[k] < 0) mask_of[k] = int(m);

  std::vector<std::vector<cell>> lines(1);
  char hex[16];
  for (size_t i = 0; i < s.size();) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    if (c == '\n') {
      lines.emplace_back();
      ++i;
      continue;
    }
    if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') {
      ++i;
      continue;
    }
    size_t n = 1;
    cell out{{}, 1, -1};
    if (c == '\t') {
      out = {"\\t", 2, -1};
    } else if (c == '\r') {
      out = {"\\r", 2, -1};
    } else if (c < 0x20 || c == 0x7f) {
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out = {hex, 4, -1};
    } else if (c < 0x80) {
      out = {std::string(1, char(c)), 1, -1};
    } else {
      uint32_t cp = 0;
      n = utf8_sequence(s, i, cp);
      if (n == 0) {
        n = 1;
        std::snprintf(hex, sizeof hex, "\\x%02x", c);
        out = {hex, 4, -1};
      } else if (invisible(cp)) {
        std::snprintf(hex, sizeof hex, "\\u{%04x}", static_cast<unsigned>(cp));
        out = {hex, std::string_view(hex).size(), -1};
      } else {
        out = {std::string(s.substr(i, n)), wide(cp) ? size_t(2) : size_t(1), -1};
      }
    }
    for (size_t k = i; k < i + n; ++k)
      if (mask_of[k] >= 0) {
        out.mask = mask_of[k];
        break;
      }
    lines.back().push_back(std::move(out));
    i += n;
  }
  // Bytes ending in a line end leave an empty last line that is not part of the content.
  if (lines.size() > 1 && lines.back().empty()) lines.pop_back();
  if (s.empty()) lines.clear();
  return lines;
}

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u)
    if (c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
  return u;
}

void print_row(const rec::recorded_event& e, const std::vector<cell>& row) {
  std::string text = content_prefix, marks = content_prefix;
  std::vector<int> labels;
  bool any = false;
  for (const cell& c : row) {
    text += c.text;
    marks.append(c.width, c.mask >= 0 ? '^' : ' ');
    if (c.mask >= 0) {
      any = true;
      if (labels.empty() || labels.back() != c.mask) labels.push_back(c.mask);
    }
  }
  // An empty line prints no trailing blank after the rule.
  if (row.empty()) text.pop_back();
  std::printf("%s\n", text.c_str());
  if (!any) return;
  while (!marks.empty() && marks.back() == ' ') marks.pop_back();
  marks += " ";
  for (int m : labels) marks += " \xe2\x9f\xa6" + upper(e.masks[size_t(m)].entity) + "\xe2\x9f\xa7";
  std::printf("%s\n", marks.c_str());
}

void print_text(const std::string& path, const std::string& digest, const rec::recording& r) {
  const rec::recording_meta& m = r.meta;
  uint64_t bytes = 0, masks = 0, requests = 0;
  for (const auto& e : r.events) {
    bytes += e.bytes.size();
    masks += e.masks.size();
    requests += e.direction == rec::recording_direction::request;
  }
  std::string ids;
  for (const auto& id : m.request_ids) ids += (ids.empty() ? "" : ", ") + id;
  std::printf("recording  %s\n", m.session_id.c_str());
  std::printf("file       %s\n", path.c_str());
  std::printf("sha256     %s\n", digest.c_str());
  std::printf("key id     %s\n", r.key_id.c_str());
  std::printf("flow       %s \xe2\x86\x92 %s\n", endpoint(m.flow.client_addr, m.flow.client_port).c_str(),
              endpoint(m.flow.server_addr, m.flow.server_port).c_str());
  std::printf("started    %s\n", utc_time(m.start_unix_ns).c_str());
  std::printf("requests   %s\n", ids.empty() ? "(none)" : ids.c_str());
  std::printf("events     %zu (%llu request, %llu response), %llu bytes, %llu masked spans\n", r.events.size(),
              static_cast<unsigned long long>(requests), static_cast<unsigned long long>(r.events.size() - requests),
              static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(masks));

  for (const auto& e : r.events) {
    const bool req = e.direction == rec::recording_direction::request;
    std::printf("\n%14s %s %-8s %zu bytes", offset_ms(e.t_ns).c_str(), req ? "\xe2\x86\x92" : "\xe2\x86\x90",
                rec::recording_direction_name(e.direction), e.bytes.size());
    if (!e.masks.empty()) std::printf(", %zu masked", e.masks.size());
    std::printf("\n");
    for (const auto& line : cells_of(e)) {
      std::vector<cell> row;
      size_t width = 0;
      for (const cell& c : line) {
        if (width + c.width > wrap_columns && !row.empty()) {
          print_row(e, row);
          row.clear();
          width = 0;
        }
        width += c.width;
        row.push_back(c);
      }
      print_row(e, row);
    }
  }
  if (r.truncation.truncated)
    std::printf("\n-- truncated at %s by the %s cap (%llu bytes): %llu bytes in %llu events not recorded\n",
                offset_ms(r.truncation.at_t_ns).c_str(), r.truncation.cap.c_str(),
                static_cast<unsigned long long>(r.max_bytes), static_cast<unsigned long long>(r.truncation.bytes_dropped),
                static_cast<unsigned long long>(r.truncation.events_dropped));
  if (r.rejected_masks > 0)
    std::printf("\n-- note: %llu mask spans fell outside their chunk and were not recorded\n",
                static_cast<unsigned long long>(r.rejected_masks));
}

void print_json(const std::string& path, const std::string& digest, const rec::recording& r) {
  using ojson = nlohmann::ordered_json;
  const rec::recording_meta& m = r.meta;
  ojson doc;
  doc["session_id"] = m.session_id;
  doc["file"] = path;
  doc["sha256"] = digest;
  doc["key_id"] = r.key_id;
  doc["format_version"] = r.format_version;
  doc["flow"] = {{"client", endpoint(m.flow.client_addr, m.flow.client_port)},
                 {"server", endpoint(m.flow.server_addr, m.flow.server_port)},
                 {"client_addr", m.flow.client_addr},
                 {"client_port", m.flow.client_port},
                 {"server_addr", m.flow.server_addr},
                 {"server_port", m.flow.server_port}};
  doc["start_unix_ns"] = m.start_unix_ns;
  doc["start_utc"] = utc_time(m.start_unix_ns);
  doc["request_ids"] = m.request_ids;
  doc["max_bytes"] = r.max_bytes;
  ojson events = ojson::array();
  for (size_t i = 0; i < r.events.size(); ++i) {
    const auto& e = r.events[i];
    ojson ev;
    ev["index"] = i;
    ev["t_ns"] = e.t_ns;
    ev["direction"] = rec::recording_direction_name(e.direction);
    ev["length"] = e.bytes.size();
    ev["data_base64"] = auth::base64_encode(e.bytes);
    if (valid_utf8(e.bytes)) ev["text"] = e.bytes;
    ojson masks = ojson::array();
    for (const auto& mk : e.masks)
      masks.push_back({{"offset", mk.offset}, {"length", mk.length}, {"entity", mk.entity}});
    ev["masks"] = std::move(masks);
    events.push_back(std::move(ev));
  }
  doc["events"] = std::move(events);
  if (r.truncation.truncated)
    doc["truncated"] = {{"cap", r.truncation.cap},
                        {"at_t_ns", r.truncation.at_t_ns},
                        {"bytes_dropped", r.truncation.bytes_dropped},
                        {"events_dropped", r.truncation.events_dropped}};
  else
    doc["truncated"] = nullptr;
  doc["rejected_masks"] = r.rejected_masks;
  std::printf("%s\n", doc.dump(2, ' ', false, ojson::error_handler_t::replace).c_str());
}

}  // namespace

int replay_command(const std::vector<std::string>& args) {
  std::string key_path, file_path;
  bool as_json = false, raw = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      replay_usage(stdout);
      return 0;
    } else if (a == "--key") {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "phigate replay: --key needs a file\n");
        return 1;
      }
      key_path = args[++i];
    } else if (a == "--json") {
      as_json = true;
    } else if (a == "--raw") {
      raw = true;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "phigate replay: unknown option '%s'\n", a.c_str());
      replay_usage(stderr);
      return 1;
    } else if (file_path.empty()) {
      file_path = a;
    } else {
      replay_usage(stderr);
      return 1;
    }
  }
  if (file_path.empty() || (as_json && raw)) {
    if (as_json && raw) std::fprintf(stderr, "phigate replay: --json and --raw exclude each other\n");
    replay_usage(stderr);
    return 1;
  }

  auto loaded = rec::recording_file_load(file_path);
  if (auto* e = std::get_if<rec::recording_error>(&loaded)) {
    std::fprintf(stderr, "phigate replay: %s\n", e->reason.c_str());
    return 1;
  }
  const std::string& file = std::get<std::string>(loaded);

  if (key_path.empty())
    if (const char* env = std::getenv("PHIGATE_RECORDING_KEY"); env != nullptr && *env != '\0') key_path = env;
  if (key_path.empty()) {
    auto info = rec::recording_peek(as_bytes(file));
    if (auto* e = std::get_if<rec::recording_error>(&info)) {
      std::fprintf(stderr, "phigate replay: %s: %s\n", file_path.c_str(), e->reason.c_str());
      return 2;
    }
    std::fprintf(stderr,
                 "phigate replay: %s: refusing: no key given; the recording is sealed with key id %s "
                 "(use --key FILE or set PHIGATE_RECORDING_KEY)\n",
                 file_path.c_str(), std::get<rec::recording_header_info>(info).key_id.c_str());
    return 2;
  }
  auto key = rec::recording_key_load(key_path);
  if (auto* e = std::get_if<rec::recording_error>(&key)) {
    std::fprintf(stderr, "phigate replay: refusing: %s\n", e->reason.c_str());
    return 2;
  }
  auto r = rec::recording_decrypt(as_bytes(file), std::get<rec::recording_key>(key));
  if (auto* e = std::get_if<rec::recording_error>(&r)) {
    std::fprintf(stderr, "phigate replay: %s: refusing: %s\n", file_path.c_str(), e->reason.c_str());
    return 2;
  }
  const rec::recording& rc = std::get<rec::recording>(r);
  if (raw) {
    for (const auto& e : rc.events)
      if (!e.bytes.empty() && std::fwrite(e.bytes.data(), 1, e.bytes.size(), stdout) != e.bytes.size()) return 1;
  } else if (as_json) {
    print_json(file_path, rec::recording_digest_hex(file), rc);
  } else {
    print_text(file_path, rec::recording_digest_hex(file), rc);
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace phigate::cli
