#include "controlplane/recording/recording_writer.hh"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "controlplane/recording/recording_file.hh"

namespace phigate::recording {

namespace {

bool entity_name_ok(std::string_view e) {
  if (e.empty() || e.size() > 32) return false;
  for (char c : e)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return true;
}

void cut(std::string& s) {
  if (s.size() > recording_max_meta_text_bytes) s.resize(recording_max_meta_text_bytes);
}

recording_error sys_error(const std::string& what) {
  return {errno == EEXIST ? recording_error_kind::exists : recording_error_kind::io, what + ": " + std::strerror(errno)};
}

bool write_all(int fd, std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

// Moves `tmp` to `path` only if `path` does not exist: a reused session id must never replace a
// recording whose digest is already in the audit log.
int rename_no_replace(const std::string& tmp, const std::string& path) {
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  // File systems without RENAME_NOREPLACE: link() also refuses an existing target.
  if (::link(tmp.c_str(), path.c_str()) != 0) return -1;
  ::unlink(tmp.c_str());
  return 0;
}

}  // namespace

recording_writer::recording_writer(recording_meta meta, int64_t start_mono_ns, recording_limits limits)
    : redactor_(limits.extra_redacted_headers),
      start_mono_ns_(start_mono_ns),
      max_events_(limits.max_events),
      max_masks_(limits.max_masks) {
  rec_.meta = std::move(meta);
  cut(rec_.meta.flow.client_addr);
  cut(rec_.meta.flow.server_addr);
  if (rec_.meta.request_ids.size() > recording_max_request_ids) rec_.meta.request_ids.resize(recording_max_request_ids);
  for (std::string& id : rec_.meta.request_ids) cut(id);
  rec_.max_bytes = std::min<uint64_t>(limits.max_bytes, recording_max_cap_bytes);
}

recording_writer::~recording_writer() { wipe(); }

void recording_writer::wipe() {
  for (recorded_event& e : rec_.events) OPENSSL_cleanse(e.bytes.data(), e.bytes.size());
  rec_.events.clear();
  rec_.events.shrink_to_fit();
}

void recording_writer::add_request_id(std::string_view id) {
  if (finished_ || rec_.meta.request_ids.size() >= recording_max_request_ids) return;
  rec_.meta.request_ids.emplace_back(id.substr(0, recording_max_meta_text_bytes));
}

void recording_writer::truncate(const char* cap, int64_t t_ns) {
  rec_.truncation.truncated = true;
  rec_.truncation.cap = cap;
  rec_.truncation.at_t_ns = t_ns;
}

void recording_writer::append(int64_t now_mono_ns, recording_direction dir, std::string_view bytes,
                              std::span<const recording_mask_span> masks) {
  append(now_mono_ns, dir, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
         masks);
}

void recording_writer::append(int64_t now_mono_ns, recording_direction dir, std::span<const uint8_t> bytes,
                              std::span<const recording_mask_span> masks) {
  if (finished_) return;
  int64_t t = now_mono_ns - start_mono_ns_;
  if (t < last_t_ns_) t = last_t_ns_;
  last_t_ns_ = t;

  recording_truncation& tr = rec_.truncation;
  if (!tr.truncated && rec_.events.size() >= max_events_) truncate("max_events", t);
  if (tr.truncated) {
    tr.bytes_dropped += bytes.size();
    tr.events_dropped += 1;
    return;
  }

  recorded_event e;
  e.t_ns = t;
  e.direction = dir;
  std::vector<int64_t> index;
  bool edited = false;
  if (dir == recording_direction::request)
    edited = redactor_.feed(bytes, e.bytes, masks.empty() ? nullptr : &index);
  else
    e.bytes.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());

  for (const recording_mask_span& m : masks) {
    if (m.length == 0 || m.offset > bytes.size() || m.length > bytes.size() - m.offset) {
      ++rec_.rejected_masks;
      continue;
    }
    uint64_t start = m.offset, end = uint64_t(m.offset) + m.length;
    if (edited) {
      // The span keeps exactly the input bytes it covered that survived redaction.
      size_t a = m.offset, b = size_t(end);
      while (a < b && index[a] < 0) ++a;
      while (b > a && index[b - 1] < 0) --b;
      if (a == b) continue;
      start = uint64_t(index[a]);
      end = uint64_t(index[b - 1]) + 1;
    }
    e.masks.push_back({uint32_t(start), uint32_t(end - start),
                       entity_name_ok(m.entity) ? std::string(m.entity) : std::string("unknown")});
  }
  std::stable_sort(e.masks.begin(), e.masks.end(),
                   [](const recorded_mask& x, const recorded_mask& y) { return x.offset < y.offset; });

  if (stored_masks_ + e.masks.size() > max_masks_) {
    truncate("max_masks", t);
    tr.bytes_dropped += e.bytes.size();
    tr.events_dropped += 1;
    OPENSSL_cleanse(e.bytes.data(), e.bytes.size());
    return;
  }
  const uint64_t room = rec_.max_bytes - stored_bytes_;
  if (e.bytes.size() > room) {
    truncate("max_bytes", t);
    tr.bytes_dropped += e.bytes.size() - room;
    tr.events_dropped += 1;
    OPENSSL_cleanse(e.bytes.data() + room, e.bytes.size() - room);
    if (room == 0) return;
    e.bytes.resize(size_t(room));
    std::erase_if(e.masks, [&](const recorded_mask& m) { return m.offset >= room; });
    for (recorded_mask& m : e.masks) m.length = uint32_t(std::min<uint64_t>(m.length, room - m.offset));
  }
  stored_bytes_ += e.bytes.size();
  stored_masks_ += e.masks.size();
  rec_.events.push_back(std::move(e));
}

std::variant<std::string, recording_error> recording_writer::seal(const recording_key& key) const {
  if (!recording_session_id_valid(rec_.meta.session_id))
    return recording_error{recording_error_kind::invalid_argument,
                           "session id is not a valid file name ([A-Za-z0-9][A-Za-z0-9._-]{0,127})"};
  std::string doc = recording_serialize(rec_);
  auto sealed = recording_seal(doc, key);
  OPENSSL_cleanse(doc.data(), doc.size());
  return sealed;
}

std::variant<recording_written, recording_error> recording_writer::finish(const recording_key& key,
                                                                          const std::string& dir) {
  if (finished_) return recording_error{recording_error_kind::invalid_argument, "recording already finished"};
  if (dir.empty()) return recording_error{recording_error_kind::invalid_argument, "no recording directory"};
  auto sealed = seal(key);
  if (auto* e = std::get_if<recording_error>(&sealed)) return *e;
  const std::string& file = std::get<std::string>(sealed);

  const std::string path = dir + "/" + rec_.meta.session_id + ".rec";
  std::string tmp = dir + "/." + rec_.meta.session_id + ".rec.tmp-XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return sys_error(dir + ": cannot create a temporary recording file");
  auto fail = [&](const std::string& what) {
    recording_error e = sys_error(what);
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  };
  if (::fchmod(fd, 0600) != 0) return fail(tmp + ": chmod failed");
  if (!write_all(fd, file)) return fail(tmp + ": write failed");
  if (::fsync(fd) != 0) return fail(tmp + ": fsync failed");
  if (::close(fd) != 0) {
    fd = -1;
    return fail(tmp + ": close failed");
  }
  fd = -1;
  if (rename_no_replace(tmp, path) != 0) return fail(path + ": cannot move the recording into place");
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    const int rc = ::fsync(dfd);
    ::close(dfd);
    if (rc != 0) {
      // Not durable, so not reported as written: remove it and let the caller retry.
      recording_error e = sys_error(dir + ": fsync of the directory failed");
      ::unlink(path.c_str());
      return e;
    }
  }

  recording_written out{path, recording_digest_hex(file), file.size()};
  finished_ = true;
  wipe();
  return out;
}

}  // namespace phigate::recording
