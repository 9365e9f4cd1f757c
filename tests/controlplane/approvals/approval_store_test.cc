// The SQLite approval store: ids, every transition persisted, state identical after reopening
// (including a one-time grant consumed before the restart and a quorum completed after it),
// one `ok` under concurrent checks of a one-time grant, effective-state listing, pruning, the
// pending cap, listener events, fail-closed on a corrupt row, file mode and WAL.
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "controlplane/approvals/approval_store.hh"
#include "tests/controlplane/approvals/approval_test_util.hh"

namespace phigate::approvals {
namespace {

using test::alice;
using test::bob;
using test::carol;
using test::dave;
using test::must;

constexpr int64_t t0 = 1'700'000'000;

void raw_exec(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

std::string raw_query(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

class ApprovalStore : public ::testing::Test {
 protected:
  test::scratch_dir dir_;
  std::string path_ = dir_.file("approvals.db");
};

TEST_F(ApprovalStore, CreateDrawsDistinctRandomIds) {
  auto store = test::must_open(path_);
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto r = must(store->create(test::sample_request(), t0));
    EXPECT_TRUE(is_approval_id(r.id)) << r.id;
    ids.insert(r.id);
    EXPECT_EQ(r.state, approval_state::pending);
    EXPECT_EQ(r.created_s, t0);
    EXPECT_EQ(r.pending_expires_s, t0 + 24 * 3600);
    EXPECT_EQ(r.request.grant_ttl_s, 1800);  // default
  }
  EXPECT_EQ(ids.size(), 20u);
}

TEST_F(ApprovalStore, StateIsIdenticalAfterReopen) {
  std::vector<approval_record> before;
  std::string one_time_id, quorum_id, time_bound_id;
  {
    auto store = test::must_open(path_);
    auto pending = must(store->create(test::sample_request(), t0));
    auto rejected = must(store->create(test::sample_request(), t0 + 1));
    must(store->reject(rejected.id, bob, "not this week", t0 + 2));
    auto revoked = must(store->create(test::sample_request(1, false), t0 + 3));
    must(store->approve(revoked.id, bob, t0 + 4));
    must(store->revoke(revoked.id, carol, "wrong model", t0 + 5));
    auto one_time = must(store->create(test::sample_request(1, true), t0 + 6));
    must(store->approve(one_time.id, carol, t0 + 7));
    ASSERT_EQ(store->check_grant(one_time.id, "alice", "chat", one_time.request.body_digest, t0 + 8), grant_status::ok);
    auto quorum = must(store->create(test::sample_request(2, false, 600), t0 + 9));
    must(store->approve(quorum.id, bob, t0 + 10));
    auto time_bound = must(store->create(test::sample_request(1, false, 3600), t0 + 11));
    must(store->approve(time_bound.id, bob, t0 + 12));
    one_time_id = one_time.id;
    quorum_id = quorum.id;
    time_bound_id = time_bound.id;
    before = must(store->list(std::nullopt, t0 + 20, 100));
    ASSERT_EQ(before.size(), 6u);
    (void)pending;
  }
  auto store = test::must_open(path_);
  auto after = must(store->list(std::nullopt, t0 + 20, 100));
  EXPECT_EQ(after, before);  // every field, votes and reasons included, same order
  for (const auto& r : before) EXPECT_EQ(must(store->get(r.id)), r);

  // The one-time grant used before the restart stays used: the replay is refused.
  const std::string digest = test::digest_of(test::secret_body);
  EXPECT_EQ(store->check_grant(one_time_id, "alice", "chat", digest, t0 + 21), grant_status::consumed);
  // The vote cast before the restart counts toward the quorum after it.
  EXPECT_EQ(test::error_name(store->approve(quorum_id, bob, t0 + 22)), "duplicate_vote");
  auto approved = must(store->approve(quorum_id, carol, t0 + 23));
  EXPECT_EQ(approved.state, approval_state::approved);
  EXPECT_EQ(approved.grant_expires_s, t0 + 23 + 600);
  // A time-bound grant keeps its window across the restart.
  EXPECT_EQ(store->check_grant(time_bound_id, "alice", "chat", digest, t0 + 12 + 3599), grant_status::ok);
  EXPECT_EQ(store->check_grant(time_bound_id, "alice", "chat", digest, t0 + 12 + 3600), grant_status::expired);
}

TEST_F(ApprovalStore, ConcurrentChecksOfAOneTimeGrantYieldOneOk) {
  auto store = test::must_open(path_);
  auto r = must(store->create(test::sample_request(1, true), t0));
  must(store->approve(r.id, bob, t0 + 1));
  std::atomic<int> ok{0}, consumed{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      const grant_status s = store->check_grant(r.id, "alice", "chat", r.request.body_digest, t0 + 2);
      (s == grant_status::ok ? ok : s == grant_status::consumed ? consumed : other)++;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(consumed.load(), 7);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(must(store->get(r.id)).consumed_s, t0 + 2);
}

TEST_F(ApprovalStore, CreateWithIdIsIdempotentForTheSameRequest) {
  auto store = test::must_open(path_);
  int created = 0;
  store->set_listener([&](const approval_event& e) { created += e.kind == approval_event_kind::created; });
  const std::string id = "5f1e0c9a7b3d2e4f60718293a4b5c6d7";  // minted by the dataplane
  auto first = must(store->create_with_id(id, test::sample_request(2), t0));
  EXPECT_EQ(first.id, id);
  must(store->approve(id, bob, t0 + 1));
  // The IPC redelivers the same request later: same record (the vote kept), no second event.
  auto again = must(store->create_with_id(id, test::sample_request(2), t0 + 5));
  EXPECT_EQ(again.created_s, t0);
  EXPECT_EQ(again.votes.size(), 1u);
  EXPECT_EQ(created, 1);
  // The same id for another request is refused and changes nothing.
  auto other = test::sample_request(2);
  other.body_digest = test::digest_of("another body");
  EXPECT_EQ(test::error_name(store->create_with_id(id, other, t0 + 6)), "duplicate_id");
  EXPECT_EQ(must(store->get(id)).request.body_digest, test::digest_of(test::secret_body));
  EXPECT_EQ(test::error_name(store->create_with_id("5F1E0C9A7B3D2E4F60718293A4B5C6D7", other, t0)), "invalid_request");
  EXPECT_EQ(test::error_name(store->create_with_id("", other, t0)), "invalid_request");
  EXPECT_EQ(created, 1);
}

TEST_F(ApprovalStore, UnknownAndMalformedIds) {
  auto store = test::must_open(path_);
  const std::string unknown = "00000000000000000000000000000000";
  EXPECT_EQ(test::error_name(store->get(unknown)), "unknown");
  EXPECT_EQ(test::error_name(store->approve(unknown, bob, t0)), "unknown");
  EXPECT_EQ(test::error_name(store->reject(unknown, bob, "x", t0)), "unknown");
  EXPECT_EQ(test::error_name(store->revoke(unknown, bob, "x", t0)), "unknown");
  EXPECT_EQ(store->check_grant(unknown, "alice", "chat", test::digest_of("x"), t0), grant_status::unknown);
  EXPECT_EQ(store->check_grant("'; DROP TABLE approvals; --", "alice", "chat", test::digest_of("x"), t0),
            grant_status::unknown);
}

TEST_F(ApprovalStore, ListByEffectiveStateNewestFirstWithVisibility) {
  auto store = test::must_open(path_);
  auto a = must(store->create(test::sample_request(), t0));           // expires t0 + 1 day
  auto b = must(store->create(test::sample_request(), t0 + 100));     // approved below
  auto c = must(store->create(test::sample_request(), t0 + 200));     // rejected below
  auto other_group = test::sample_request();
  other_group.approver_groups = {"finance"};
  auto d = must(store->create(other_group, t0 + 300));  // dave's group, pending
  must(store->approve(b.id, bob, t0 + 400));             // grant until t0 + 400 + 1800
  must(store->reject(c.id, bob, "no", t0 + 500));

  auto ids = [&](std::optional<approval_state> s, int64_t now, const principal* who = nullptr, size_t limit = 100) {
    std::vector<std::string> out;
    auto visible = [&](const approval_record& r) { return who == nullptr || may_view(r, *who); };
    for (const auto& r : must(store->list(s, now, limit, visible))) out.push_back(r.id);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids(approval_state::pending, t0 + 600), (V{d.id, a.id}));
  EXPECT_EQ(ids(approval_state::approved, t0 + 600), (V{b.id}));
  EXPECT_EQ(ids(approval_state::rejected, t0 + 600), (V{c.id}));
  EXPECT_EQ(ids(approval_state::expired, t0 + 600), V{});
  EXPECT_EQ(ids(std::nullopt, t0 + 600), (V{d.id, c.id, b.id, a.id}));
  EXPECT_EQ(ids(std::nullopt, t0 + 600, nullptr, 2), (V{d.id, c.id}));
  // Visibility: bob sees the oncall requests, dave only his group's, alice her own (all four).
  EXPECT_EQ(ids(approval_state::pending, t0 + 600, &bob), (V{a.id}));
  EXPECT_EQ(ids(approval_state::pending, t0 + 600, &dave), (V{d.id}));
  EXPECT_EQ(ids(std::nullopt, t0 + 600, &alice).size(), 4u);
  // Time moves: the grant and then the pending requests expire.
  EXPECT_EQ(ids(approval_state::expired, t0 + 400 + 1800), (V{b.id}));
  EXPECT_EQ(ids(approval_state::expired, t0 + 24 * 3600 + 300), (V{d.id, b.id, a.id}));
  EXPECT_EQ(ids(approval_state::pending, t0 + 24 * 3600 + 300), V{});
}

TEST_F(ApprovalStore, PruneDeletesOnlyFinishedRecords) {
  auto store = test::must_open(path_);
  auto pending = must(store->create(test::sample_request(), t0));
  auto active = must(store->create(test::sample_request(1, false, 3600), t0));
  must(store->approve(active.id, bob, t0 + 1));
  auto rejected = must(store->create(test::sample_request(), t0));
  must(store->reject(rejected.id, bob, "no", t0 + 1));
  auto consumed = must(store->create(test::sample_request(), t0));
  must(store->approve(consumed.id, bob, t0 + 1));
  ASSERT_EQ(store->check_grant(consumed.id, "alice", "chat", consumed.request.body_digest, t0 + 2), grant_status::ok);
  auto young = must(store->create(test::sample_request(), t0 + 50));
  must(store->reject(young.id, bob, "no", t0 + 51));

  EXPECT_EQ(must(store->prune(t0 + 10, t0 + 60)), 2u);  // rejected and consumed; `young` is too new
  EXPECT_EQ(test::error_name(store->get(rejected.id)), "unknown");
  EXPECT_EQ(test::error_name(store->get(consumed.id)), "unknown");
  EXPECT_EQ(test::error_name(store->get(pending.id)), "ok");
  EXPECT_EQ(test::error_name(store->get(active.id)), "ok");
  EXPECT_EQ(test::error_name(store->get(young.id)), "ok");
  // Once expired, the pending request and the time-bound grant go too.
  EXPECT_EQ(must(store->prune(t0 + 10, t0 + 24 * 3600)), 2u);
  EXPECT_EQ(test::error_name(store->get(pending.id)), "unknown");
  EXPECT_EQ(test::error_name(store->get(active.id)), "unknown");
}

TEST_F(ApprovalStore, PendingCapRefusesNewRequestsUntilOldOnesExpire) {
  approval_config config;
  config.max_pending = 2;
  config.pending_ttl_s = 100;
  auto store = test::must_open(path_, config);
  must(store->create(test::sample_request(), t0));
  must(store->create(test::sample_request(), t0));
  EXPECT_EQ(test::error_name(store->create(test::sample_request(), t0 + 1)), "full");
  EXPECT_EQ(test::error_name(store->create(test::sample_request(), t0 + 100)), "ok");
}

TEST_F(ApprovalStore, InvalidRequestIsRefusedAndNothingStored) {
  auto store = test::must_open(path_);
  auto bad = test::sample_request();
  bad.body_digest = "not-a-digest";
  EXPECT_EQ(test::error_name(store->create(bad, t0)), "invalid_request");
  EXPECT_TRUE(must(store->list(std::nullopt, t0, 10)).empty());
}

TEST_F(ApprovalStore, ListenerSeesEveryCommittedTransitionInOrder) {
  auto store = test::must_open(path_);
  std::vector<std::pair<approval_event_kind, std::string>> events;
  store->set_listener([&](const approval_event& e) { events.emplace_back(e.kind, e.actor); });
  auto r = must(store->create(test::sample_request(2), t0));
  must(store->approve(r.id, bob, t0 + 1));
  EXPECT_EQ(test::error_name(store->approve(r.id, bob, t0 + 2)), "duplicate_vote");  // no event
  must(store->approve(r.id, carol, t0 + 3));
  ASSERT_EQ(store->check_grant(r.id, "alice", "chat", r.request.body_digest, t0 + 4), grant_status::ok);
  EXPECT_EQ(store->check_grant(r.id, "alice", "chat", r.request.body_digest, t0 + 5), grant_status::consumed);
  auto q = must(store->create(test::sample_request(), t0 + 6));
  must(store->reject(q.id, carol, "no", t0 + 7));
  auto v = must(store->create(test::sample_request(1, false), t0 + 8));
  must(store->approve(v.id, bob, t0 + 9));
  must(store->revoke(v.id, carol, "stop", t0 + 10));
  using K = approval_event_kind;
  const std::vector<std::pair<K, std::string>> expected = {
      {K::created, "alice"},  {K::voted, "bob"},    {K::approved, "carol"}, {K::consumed, "alice"},
      {K::created, "alice"},  {K::rejected, "carol"}, {K::created, "alice"}, {K::approved, "bob"},
      {K::revoked, "carol"}};
  EXPECT_EQ(events, expected);
}

TEST_F(ApprovalStore, CorruptRowFailsClosed) {
  std::string id;
  {
    auto store = test::must_open(path_);
    auto r = must(store->create(test::sample_request(), t0));
    must(store->approve(r.id, bob, t0));
    id = r.id;
  }
  raw_exec(path_, "UPDATE approvals SET votes = 'not json'");
  auto store = test::must_open(path_);
  EXPECT_EQ(test::error_name(store->get(id)), "storage");
  EXPECT_EQ(store->check_grant(id, "alice", "chat", test::digest_of(test::secret_body), t0 + 1),
            grant_status::storage_error);
  raw_exec(path_, "UPDATE approvals SET votes = '[]', state = 'expired'");  // never stored
  EXPECT_EQ(test::error_name(store->get(id)), "storage");
}

TEST_F(ApprovalStore, FileIsPrivateAndInWalMode) {
  { auto store = test::must_open(path_); must(store->create(test::sample_request(), t0)); }
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(raw_query(path_, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw_query(path_, "PRAGMA user_version"), "1");
}

TEST_F(ApprovalStore, OpenRefusesUnknownSchemaVersionAndBadConfig) {
  { auto store = test::must_open(path_); }
  raw_exec(path_, "PRAGMA user_version = 7");
  auto opened = approval_store::open(path_);
  ASSERT_TRUE(std::holds_alternative<std::string>(opened));
  EXPECT_NE(std::get<std::string>(opened).find("unsupported version 7"), std::string::npos);

  approval_config bad;
  bad.default_grant_ttl_s = 0;
  EXPECT_TRUE(std::holds_alternative<std::string>(approval_store::open(dir_.file("other.db"), bad)));
  EXPECT_TRUE(std::holds_alternative<std::string>(approval_store::open(dir_.file("missing/dir/x.db"))));
}

// The durable path against the real temporary directory (not tmpfs) once.
TEST(ApprovalStoreDisk, ReopenOnDisk) {
  const std::string tmpl = (std::filesystem::temp_directory_path() / "phigate-approvals-disk-XXXXXX").string();
  std::string dir = tmpl;
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/a.db";
  std::string id;
  {
    auto store = test::must_open(path);
    auto r = must(store->create(test::sample_request(), t0));
    must(store->approve(r.id, bob, t0 + 1));
    id = r.id;
  }
  {
    auto store = test::must_open(path);
    EXPECT_EQ(store->check_grant(id, "alice", "chat", test::digest_of(test::secret_body), t0 + 2), grant_status::ok);
  }
  {
    auto store = test::must_open(path);
    EXPECT_EQ(store->check_grant(id, "alice", "chat", test::digest_of(test::secret_body), t0 + 3),
              grant_status::consumed);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace phigate::approvals
