// Writes the recordings and keys that replay_cli_test.sh replays, through the real writer:
//   OUTDIR/key        fixed 32-byte key (0600), so the key id in the golden output is stable
//   OUTDIR/key2       another key (0600)
//   OUTDIR/sess-0001.rec  a keep-alive-free exchange: credential split across request chunks,
//                     masked JSON, terminal escapes, invalid UTF-8, wide characters, an empty
//                     event and a line long enough to wrap through a masked span
//   OUTDIR/sess-0002.rec  the same kind of session cut by a 64-byte cap
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>
#include <variant>

#include "controlplane/recording/recording_key.hh"
#include "controlplane/recording/recording_writer.hh"

namespace rec = phigate::recording;

namespace {

std::array<uint8_t, 32> fixed_key(uint8_t seed) {
  std::array<uint8_t, 32> k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = uint8_t(seed + i * 13);
  return k;
}

bool write_key(const std::string& path, const std::array<uint8_t, 32>& k) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return false;
  bool ok = ::write(fd, k.data(), k.size()) == ssize_t(k.size());
  return ::close(fd) == 0 && ok;
}

bool finish(rec::recording_writer& w, const rec::recording_key& key, const std::string& dir) {
  auto out = w.finish(key, dir);
  if (auto* e = std::get_if<rec::recording_error>(&out)) {
    std::fprintf(stderr, "recording_fixture: %s\n", e->reason.c_str());
    return false;
  }
  return true;
}

constexpr int64_t ms = 1'000'000;
constexpr int64_t start = 7'000 * ms;  // arbitrary monotonic origin

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: recording_fixture OUTDIR\n");
    return 1;
  }
  const std::string dir = argv[1];
  if (!write_key(dir + "/key", fixed_key(1)) || !write_key(dir + "/key2", fixed_key(2))) {
    std::perror("recording_fixture: key");
    return 1;
  }
  const rec::recording_key key(fixed_key(1));

  rec::recording_meta meta;
  meta.session_id = "sess-0001";
  meta.flow = {"10.1.2.3", 50000, "fd00::9", 8000};
  meta.start_unix_ns = 1714564800123456789;  // 2024-05-01T12:00:00.123456789Z
  meta.request_ids = {"req-a1"};
  rec::recording_writer w(meta, start);

  // The dataplane's swap missed this credential; the writer redacts it, across the chunk cut.
  w.append(start, rec::recording_direction::request,
           std::string_view("POST /v1/chat/completions HTTP/1.1\r\nHost: llm.internal\r\n"
                            "Authorization: Bearer sk-SEC"));
  w.append(start + 250'000, rec::recording_direction::request,
           std::string_view("RET-TOKEN-123\r\nContent-Type: application/json\r\nContent-Length: 45\r\n\r\n"
                            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
  w.append(start + 12 * ms + 345'678, rec::recording_direction::response,
           std::string_view("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 76\r\n\r\n"));
  const std::string body = "{\"text\":\"Patient SSN ***-**-**** phone (***) ***-****\",\"note\":\"tab\there\"}\n";
  const rec::recording_mask_span body_masks[] = {
      {uint32_t(body.find("***-**")), 11, "ssn"},
      {uint32_t(body.find("(***)")), 14, "phone"},
  };
  w.append(start + 15 * ms, rec::recording_direction::response, body, body_masks);
  // Escapes a terminal would act on, invalid UTF-8, a zero-width space, fullwidth asterisks.
  const std::string odd = "\x1b[31mred\x1b[0m \xff\xfe zero\xe2\x80\x8bwidth MRN \xef\xbc\x8a\xef\xbc\x8a ok\r\n";
  const rec::recording_mask_span odd_masks[] = {{uint32_t(odd.find("\xef\xbc\x8a")), 6, "mrn"}};
  w.append(start + 20 * ms, rec::recording_direction::response, odd, odd_masks);
  w.append(start + 21 * ms, rec::recording_direction::response, std::string_view());
  const std::string long_line = std::string(95, 'x') + std::string(10, '*') + std::string(45, 'y');
  const rec::recording_mask_span long_masks[] = {{95, 10, "email"}};
  w.append(start + 1500 * ms, rec::recording_direction::response, long_line, long_masks);
  if (!finish(w, key, dir)) return 1;

  rec::recording_meta meta2 = meta;
  meta2.session_id = "sess-0002";
  meta2.flow = {"192.0.2.7", 41000, "192.0.2.80", 443};
  meta2.request_ids = {"req-b1", "req-b2"};
  rec::recording_limits small;
  small.max_bytes = 64;
  rec::recording_writer t(meta2, start, small);
  t.append(start, rec::recording_direction::request, std::string_view("GET /v1/models HTTP/1.1\r\nHost: llm\r\n\r\n"));
  t.append(start + 2 * ms, rec::recording_direction::response,
           std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n"));
  t.append(start + 3 * ms, rec::recording_direction::response, std::string(200, 'm'));
  if (!finish(t, key, dir)) return 1;
  return 0;
}
