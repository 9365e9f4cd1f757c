#include "controlplane/approvals/approval_store.hh"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "controlplane/auth/crypto_util.hh"

namespace phigate::approvals {

namespace {

using nlohmann::json;

constexpr int schema_version = 1;

constexpr const char* schema_sql =
    "CREATE TABLE IF NOT EXISTS approvals ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " requester TEXT NOT NULL, requester_groups TEXT NOT NULL,"
    " route TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, model TEXT NOT NULL,"
    " body_digest TEXT NOT NULL, masked_summary TEXT NOT NULL, rule_id TEXT NOT NULL,"
    " approvals_required INTEGER NOT NULL, approver_groups TEXT NOT NULL,"
    " grant_ttl_s INTEGER NOT NULL, one_time INTEGER NOT NULL,"
    " created_s INTEGER NOT NULL, pending_expires_s INTEGER NOT NULL,"
    " state TEXT NOT NULL, votes TEXT NOT NULL,"
    " decided_s INTEGER NOT NULL, grant_expires_s INTEGER NOT NULL,"
    " rejected_by TEXT NOT NULL, reject_reason TEXT NOT NULL,"
    " revoked_s INTEGER NOT NULL, revoked_by TEXT NOT NULL, revoke_reason TEXT NOT NULL,"
    " consumed_s INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX IF NOT EXISTS approvals_by_state ON approvals(state, created_s);";

// Column order of every SELECT (decode() reads by these positions).
constexpr const char* select_columns =
    "SELECT id, requester, requester_groups, route, method, path, model, body_digest, masked_summary,"
    " rule_id, approvals_required, approver_groups, grant_ttl_s, one_time, created_s, pending_expires_s,"
    " state, votes, decided_s, grant_expires_s, rejected_by, reject_reason, revoked_s, revoked_by,"
    " revoke_reason, consumed_s FROM approvals";

struct statement {
  sqlite3_stmt* s = nullptr;
  statement() = default;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  ~statement() { sqlite3_finalize(s); }
};

approval_failure storage_failure(sqlite3* db, const char* step) {
  return {approval_error::storage, std::string(step) + ": " + sqlite3_errmsg(db)};
}

// Text for JSON columns and events: invalid UTF-8 is replaced rather than thrown on (values were
// validated for control characters, not for encoding).
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string groups_text(const std::vector<std::string>& groups) { return dump(json(groups)); }

std::string votes_text(const std::vector<approval_vote>& votes) {
  json a = json::array();
  for (const auto& v : votes) a.push_back({{"approver", v.approver}, {"at_s", v.at_s}});
  return dump(a);
}

bool parse_groups(std::string_view text, std::vector<std::string>& out) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_array()) return false;
  for (const auto& g : j) {
    if (!g.is_string()) return false;
    out.push_back(g.get<std::string>());
  }
  return true;
}

bool parse_votes(std::string_view text, std::vector<approval_vote>& out) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_array()) return false;
  for (const auto& v : j) {
    if (!v.is_object() || !v.contains("approver") || !v["approver"].is_string() || !v.contains("at_s") ||
        !v["at_s"].is_number_integer())
      return false;
    out.push_back({v["approver"].get<std::string>(), v["at_s"].get<int64_t>()});
  }
  return true;
}

std::string column_text(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, size_t(sqlite3_column_bytes(s, i))) : std::string();
}

// One row in select_columns order; false when a column does not decode (a corrupt database).
bool decode(sqlite3_stmt* s, approval_record& r) {
  int i = 0;
  r.id = column_text(s, i++);
  r.request.requester = column_text(s, i++);
  if (!parse_groups(column_text(s, i++), r.request.requester_groups)) return false;
  r.request.route = column_text(s, i++);
  r.request.method = column_text(s, i++);
  r.request.path = column_text(s, i++);
  r.request.model = column_text(s, i++);
  r.request.body_digest = column_text(s, i++);
  r.request.masked_summary = column_text(s, i++);
  r.request.rule_id = column_text(s, i++);
  const int64_t required = sqlite3_column_int64(s, i++);
  if (required <= 0 || required > UINT32_MAX) return false;
  r.request.approvals_required = uint32_t(required);
  if (!parse_groups(column_text(s, i++), r.request.approver_groups)) return false;
  r.request.grant_ttl_s = sqlite3_column_int64(s, i++);
  r.request.one_time = sqlite3_column_int64(s, i++) != 0;
  r.created_s = sqlite3_column_int64(s, i++);
  r.pending_expires_s = sqlite3_column_int64(s, i++);
  const auto state = approval_state_parse(column_text(s, i++));
  if (!state || *state == approval_state::expired) return false;
  r.state = *state;
  if (!parse_votes(column_text(s, i++), r.votes)) return false;
  r.decided_s = sqlite3_column_int64(s, i++);
  r.grant_expires_s = sqlite3_column_int64(s, i++);
  r.rejected_by = column_text(s, i++);
  r.reject_reason = column_text(s, i++);
  r.revoked_s = sqlite3_column_int64(s, i++);
  r.revoked_by = column_text(s, i++);
  r.revoke_reason = column_text(s, i++);
  r.consumed_s = sqlite3_column_int64(s, i++);
  return is_approval_id(r.id);
}

void bind_text(sqlite3_stmt* s, int i, std::string_view text) {
  sqlite3_bind_text(s, i, text.data(), int(text.size()), SQLITE_TRANSIENT);
}
void bind_int(sqlite3_stmt* s, int i, int64_t v) { sqlite3_bind_int64(s, i, v); }

std::optional<std::string> random_id() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), int(bytes.size())) != 1) {
    auth::openssl_clear_errors();
    return std::nullopt;
  }
  return auth::hex_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// The SQL condition selecting records whose effective state at ?1 is `state`.
const char* state_condition(std::optional<approval_state> state) {
  if (!state) return "?1 = ?1";
  switch (*state) {
    case approval_state::pending: return "state = 'pending' AND pending_expires_s > ?1";
    case approval_state::approved: return "state = 'approved' AND grant_expires_s > ?1";
    case approval_state::expired:
      return "((state = 'pending' AND pending_expires_s <= ?1) OR (state = 'approved' AND grant_expires_s <= ?1))";
    case approval_state::rejected: return "state = 'rejected' AND ?1 = ?1";
    case approval_state::revoked: return "state = 'revoked' AND ?1 = ?1";
    case approval_state::consumed: return "state = 'consumed' AND ?1 = ?1";
  }
  return "0";
}

}  // namespace

std::string_view approval_event_kind_name(approval_event_kind k) noexcept {
  switch (k) {
    case approval_event_kind::created: return "created";
    case approval_event_kind::voted: return "voted";
    case approval_event_kind::approved: return "approved";
    case approval_event_kind::rejected: return "rejected";
    case approval_event_kind::revoked: return "revoked";
    case approval_event_kind::consumed: return "consumed";
  }
  return "invalid";
}

std::variant<std::unique_ptr<approval_store>, std::string> approval_store::open(const std::string& path,
                                                                                approval_config config) {
  if (auto bad = approval_config_check(config)) return "approval config: " + *bad;
  const bool in_memory = path == ":memory:";
  if (!in_memory) {
    // The file holds masked summaries and grant bindings: readable by the control plane only.
    // SQLite gives its -wal and -shm files the database file's mode.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return "open " + path + ": " + std::strerror(errno);
    ::close(fd);
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "open " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return msg;
  }
  std::unique_ptr<approval_store> store(new approval_store(db, config));
  sqlite3_busy_timeout(db, 5000);

  // journal_mode answers the mode actually in effect; WAL is refused on some file systems.
  {
    statement st;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st.s, nullptr) != SQLITE_OK ||
        sqlite3_step(st.s) != SQLITE_ROW)
      return "pragma journal_mode: " + std::string(sqlite3_errmsg(db));
    const std::string mode = column_text(st.s, 0);
    if (mode != "wal" && !(in_memory && mode == "memory")) return "pragma journal_mode: WAL not available (" + mode + ")";
  }
  for (const char* pragma : {"PRAGMA synchronous=FULL", "PRAGMA secure_delete=ON"})
    if (auto f = store->exec(pragma)) return "pragma: " + f->message;

  int version = 0;
  {
    statement st;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st.s, nullptr) != SQLITE_OK ||
        sqlite3_step(st.s) != SQLITE_ROW)
      return "schema: " + std::string(sqlite3_errmsg(db));
    version = sqlite3_column_int(st.s, 0);
  }
  if (version != 0 && version != schema_version)
    return "schema: unsupported version " + std::to_string(version) + " (this build reads " +
           std::to_string(schema_version) + ")";
  if (auto f = store->exec("BEGIN IMMEDIATE")) return "schema: " + f->message;
  if (auto f = store->exec(schema_sql)) {
    store->exec("ROLLBACK");
    return "schema: " + f->message;
  }
  const std::string set_version = "PRAGMA user_version=" + std::to_string(schema_version);
  if (auto f = store->exec(set_version.c_str())) {
    store->exec("ROLLBACK");
    return "schema: " + f->message;
  }
  if (auto f = store->exec("COMMIT")) {
    store->exec("ROLLBACK");
    return "schema: " + f->message;
  }
  return store;
}

approval_store::~approval_store() { sqlite3_close_v2(db_); }

void approval_store::set_listener(approval_listener listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

std::optional<approval_failure> approval_store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) == SQLITE_OK) return std::nullopt;
  approval_failure f{approval_error::storage, err ? err : sqlite3_errmsg(db_)};
  sqlite3_free(err);
  return f;
}

std::variant<std::optional<approval_record>, approval_failure> approval_store::load(std::string_view id) {
  statement st;
  const std::string sql = std::string(select_columns) + " WHERE id = ?1";
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) return storage_failure(db_, "load");
  bind_text(st.s, 1, id);
  const int rc = sqlite3_step(st.s);
  if (rc == SQLITE_DONE) return std::optional<approval_record>();
  if (rc != SQLITE_ROW) return storage_failure(db_, "load");
  approval_record r;
  if (!decode(st.s, r)) return approval_failure{approval_error::storage, "load: a stored request does not decode"};
  return std::optional<approval_record>(std::move(r));
}

std::optional<approval_failure> approval_store::store(const approval_record& r, bool insert) {
  statement st;
  const char* sql =
      insert ? "INSERT INTO approvals (id, requester, requester_groups, route, method, path, model, body_digest,"
               " masked_summary, rule_id, approvals_required, approver_groups, grant_ttl_s, one_time, created_s,"
               " pending_expires_s, state, votes, decided_s, grant_expires_s, rejected_by, reject_reason,"
               " revoked_s, revoked_by, revoke_reason, consumed_s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
               " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)"
             // Only the columns a transition may change; the request itself is immutable.
             : "UPDATE approvals SET state = ?17, votes = ?18, decided_s = ?19, grant_expires_s = ?20,"
               " rejected_by = ?21, reject_reason = ?22, revoked_s = ?23, revoked_by = ?24,"
               " revoke_reason = ?25, consumed_s = ?26 WHERE id = ?1";
  if (sqlite3_prepare_v2(db_, sql, -1, &st.s, nullptr) != SQLITE_OK) return storage_failure(db_, "store");
  const auto& q = r.request;
  bind_text(st.s, 1, r.id);
  if (insert) {
    bind_text(st.s, 2, q.requester);
    bind_text(st.s, 3, groups_text(q.requester_groups));
    bind_text(st.s, 4, q.route);
    bind_text(st.s, 5, q.method);
    bind_text(st.s, 6, q.path);
    bind_text(st.s, 7, q.model);
    bind_text(st.s, 8, q.body_digest);
    bind_text(st.s, 9, q.masked_summary);
    bind_text(st.s, 10, q.rule_id);
    bind_int(st.s, 11, int64_t(q.approvals_required));
    bind_text(st.s, 12, groups_text(q.approver_groups));
    bind_int(st.s, 13, q.grant_ttl_s);
    bind_int(st.s, 14, int64_t(q.one_time ? 1 : 0));
    bind_int(st.s, 15, r.created_s);
    bind_int(st.s, 16, r.pending_expires_s);
  }
  bind_text(st.s, 17, approval_state_name(r.state));
  bind_text(st.s, 18, votes_text(r.votes));
  bind_int(st.s, 19, r.decided_s);
  bind_int(st.s, 20, r.grant_expires_s);
  bind_text(st.s, 21, r.rejected_by);
  bind_text(st.s, 22, r.reject_reason);
  bind_int(st.s, 23, r.revoked_s);
  bind_text(st.s, 24, r.revoked_by);
  bind_text(st.s, 25, r.revoke_reason);
  bind_int(st.s, 26, r.consumed_s);
  if (sqlite3_step(st.s) != SQLITE_DONE) return storage_failure(db_, "store");
  if (sqlite3_changes(db_) != 1) return approval_failure{approval_error::storage, "store: no row changed"};
  return std::nullopt;
}

void approval_store::emit(approval_event_kind kind, const std::string& actor, const approval_record& r) noexcept {
  if (!listener_) return;
  try {
    listener_(approval_event{kind, actor, r});
  } catch (...) {
    // A failing listener (out of memory while queueing a webhook) must not undo a committed
    // decision nor reach the caller; the webhook counts its own drops.
  }
}

std::variant<approval_record, approval_failure> approval_store::create(const approval_request& req, int64_t now_s) {
  auto id = random_id();
  if (!id) return approval_failure{approval_error::storage, "create: no randomness for the id"};
  return insert(std::move(*id), req, now_s, false);
}

std::variant<approval_record, approval_failure> approval_store::create_with_id(std::string_view id,
                                                                               const approval_request& req,
                                                                               int64_t now_s) {
  return insert(std::string(id), req, now_s, true);
}

std::variant<approval_record, approval_failure> approval_store::insert(std::string id, const approval_request& req,
                                                                       int64_t now_s, bool idempotent) {
  std::lock_guard lock(mu_);
  auto made = make_record(req, std::move(id), now_s, config_);
  if (auto* f = std::get_if<approval_failure>(&made)) return *f;
  auto& r = std::get<approval_record>(made);
  auto abort = [&](approval_failure f) -> std::variant<approval_record, approval_failure> {
    exec("ROLLBACK");
    return f;
  };

  if (auto f = exec("BEGIN IMMEDIATE")) return *f;
  if (idempotent) {
    auto loaded = load(r.id);
    if (auto* f = std::get_if<approval_failure>(&loaded)) return abort(*f);
    if (auto& existing = std::get<std::optional<approval_record>>(loaded)) {
      // A redelivery carries the same request; its time of arrival may differ.
      if (existing->request != r.request) return abort({approval_error::duplicate_id, "the id exists with another request"});
      exec("ROLLBACK");
      return std::move(*existing);
    }
  }
  {
    statement st;
    if (sqlite3_prepare_v2(db_, "SELECT count(*) FROM approvals WHERE state = 'pending' AND pending_expires_s > ?1",
                           -1, &st.s, nullptr) != SQLITE_OK)
      return abort(storage_failure(db_, "create"));
    bind_int(st.s, 1, now_s);
    if (sqlite3_step(st.s) != SQLITE_ROW) return abort(storage_failure(db_, "create"));
    const uint64_t live = uint64_t(sqlite3_column_int64(st.s, 0));
    sqlite3_reset(st.s);
    if (live >= config_.max_pending) return abort({approval_error::full, "too many pending requests"});
  }
  if (auto f = store(r, true)) return abort(*f);
  if (auto f = exec("COMMIT")) return abort(*f);
  emit(approval_event_kind::created, r.request.requester, r);
  return std::move(r);
}

std::variant<approval_record, approval_failure> approval_store::get(std::string_view id) {
  std::lock_guard lock(mu_);
  auto loaded = load(id);
  if (auto* f = std::get_if<approval_failure>(&loaded)) return *f;
  auto& r = std::get<std::optional<approval_record>>(loaded);
  if (!r) return approval_failure{approval_error::unknown, "no such request"};
  return std::move(*r);
}

std::variant<approval_record, approval_failure> approval_store::update(std::string_view id, const transition& apply,
                                                                       const principal& who) {
  std::lock_guard lock(mu_);
  if (auto f = exec("BEGIN IMMEDIATE")) return *f;
  auto loaded = load(id);
  auto abort = [&](approval_failure f) -> std::variant<approval_record, approval_failure> {
    exec("ROLLBACK");
    return f;
  };
  if (auto* f = std::get_if<approval_failure>(&loaded)) return abort(*f);
  auto& slot = std::get<std::optional<approval_record>>(loaded);
  if (!slot) return abort({approval_error::unknown, "no such request"});
  approval_record& r = *slot;
  const approval_state before = r.state;
  if (auto f = apply(r)) return abort(*f);
  if (auto f = store(r, false)) return abort(*f);
  if (auto f = exec("COMMIT")) return abort(*f);

  approval_event_kind kind = approval_event_kind::voted;
  if (r.state == approval_state::approved && before != approval_state::approved) kind = approval_event_kind::approved;
  else if (r.state == approval_state::rejected) kind = approval_event_kind::rejected;
  else if (r.state == approval_state::revoked) kind = approval_event_kind::revoked;
  emit(kind, who.subject, r);
  return std::move(r);
}

std::variant<approval_record, approval_failure> approval_store::approve(std::string_view id, const principal& who,
                                                                        int64_t now_s) {
  return update(id, [&](approval_record& r) { return approvals::approve(r, who, now_s); }, who);
}

std::variant<approval_record, approval_failure> approval_store::reject(std::string_view id, const principal& who,
                                                                       std::string_view reason, int64_t now_s) {
  return update(id, [&](approval_record& r) { return approvals::reject(r, who, reason, now_s, config_); }, who);
}

std::variant<approval_record, approval_failure> approval_store::revoke(std::string_view id, const principal& who,
                                                                       std::string_view reason, int64_t now_s) {
  return update(id, [&](approval_record& r) { return approvals::revoke(r, who, reason, now_s, config_); }, who);
}

grant_status approval_store::check_grant(std::string_view id, std::string_view subject, std::string_view route,
                                         std::string_view body_digest, int64_t now_s) {
  if (!is_approval_id(id)) return grant_status::unknown;
  std::lock_guard lock(mu_);
  if (exec("BEGIN IMMEDIATE")) return grant_status::storage_error;
  auto loaded = load(id);
  if (std::holds_alternative<approval_failure>(loaded)) {
    exec("ROLLBACK");
    return grant_status::storage_error;
  }
  auto& slot = std::get<std::optional<approval_record>>(loaded);
  if (!slot) {
    exec("ROLLBACK");
    return grant_status::unknown;
  }
  approval_record& r = *slot;
  const approval_state before = r.state;
  const grant_status status = approvals::check_grant(r, subject, route, body_digest, now_s);
  if (r.state == before) {
    exec("ROLLBACK");
    return status;
  }
  // A one-time grant: `ok` only once its consumption is durable, so a crash right after cannot
  // let the same grant through twice.
  if (store(r, false) || exec("COMMIT")) {
    exec("ROLLBACK");
    return grant_status::storage_error;
  }
  emit(approval_event_kind::consumed, r.request.requester, r);
  return status;
}

std::variant<std::vector<approval_record>, approval_failure> approval_store::list(
    std::optional<approval_state> state, int64_t now_s, size_t limit,
    const std::function<bool(const approval_record&)>& visible) {
  std::lock_guard lock(mu_);
  std::vector<approval_record> out;
  if (limit == 0) return out;
  statement st;
  const std::string sql =
      std::string(select_columns) + " WHERE " + state_condition(state) + " ORDER BY created_s DESC, rowid DESC";
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) return storage_failure(db_, "list");
  bind_int(st.s, 1, now_s);
  for (;;) {
    const int rc = sqlite3_step(st.s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return storage_failure(db_, "list");
    approval_record r;
    if (!decode(st.s, r)) return approval_failure{approval_error::storage, "list: a stored request does not decode"};
    if (visible && !visible(r)) continue;
    out.push_back(std::move(r));
    if (out.size() >= limit) break;
  }
  return out;
}

std::variant<size_t, approval_failure> approval_store::prune(int64_t created_before_s, int64_t now_s) {
  std::lock_guard lock(mu_);
  statement st;
  if (sqlite3_prepare_v2(db_,
                         "DELETE FROM approvals WHERE created_s < ?2 AND (state IN ('rejected', 'revoked', 'consumed')"
                         " OR (state = 'pending' AND pending_expires_s <= ?1)"
                         " OR (state = 'approved' AND grant_expires_s <= ?1))",
                         -1, &st.s, nullptr) != SQLITE_OK)
    return storage_failure(db_, "prune");
  bind_int(st.s, 1, now_s);
  bind_int(st.s, 2, created_before_s);
  if (sqlite3_step(st.s) != SQLITE_DONE) return storage_failure(db_, "prune");
  return size_t(sqlite3_changes(db_));
}

}  // namespace phigate::approvals
