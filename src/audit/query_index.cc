#include "audit/query_index.h"

#include <sqlite3.h>

#include "core/strings.h"

namespace cloison::audit {
namespace {

Status SqlError(sqlite3* db, std::string_view what) {
  return IOError(StrCat("audit index: ", what, ": ", sqlite3_errmsg(db)));
}

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

}  // namespace

StatusOr<std::unique_ptr<QueryIndex>> QueryIndex::Open(const std::string& path) {
  std::unique_ptr<QueryIndex> q(new QueryIndex());
  if (sqlite3_open_v2(path.c_str(), &q->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return SqlError(q->db_, "open");
  }
  const char* schema =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
      "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS by_account(account INTEGER NOT NULL, time INTEGER NOT NULL, idx INTEGER NOT NULL,"
      " PRIMARY KEY(account, time, idx)) WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS by_person(person INTEGER NOT NULL, time INTEGER NOT NULL, idx INTEGER NOT NULL,"
      " PRIMARY KEY(person, time, idx)) WITHOUT ROWID;"
      "INSERT OR IGNORE INTO meta VALUES('indexed', 0);";
  if (sqlite3_exec(q->db_, schema, nullptr, nullptr, nullptr) != SQLITE_OK) return SqlError(q->db_, "schema");
  Stmt st;
  sqlite3_prepare_v2(q->db_, "SELECT v FROM meta WHERE k='indexed'", -1, &st.s, nullptr);
  if (sqlite3_step(st.s) == SQLITE_ROW) q->indexed_ = static_cast<uint64_t>(sqlite3_column_int64(st.s, 0));
  return q;
}

QueryIndex::~QueryIndex() { sqlite3_close(db_); }

Status QueryIndex::CatchUp(const AuditLog& log) {
  const uint64_t end = log.size();
  if (indexed_ > end) return Corruption("audit index covers more entries than the log holds: delete index.db");
  if (indexed_ == end) return OkStatus();
  if (sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) return SqlError(db_, "begin");
  Stmt acc, per, meta;
  sqlite3_prepare_v2(db_, "INSERT OR IGNORE INTO by_account VALUES(?,?,?)", -1, &acc.s, nullptr);
  sqlite3_prepare_v2(db_, "INSERT OR IGNORE INTO by_person VALUES(?,?,?)", -1, &per.s, nullptr);
  sqlite3_prepare_v2(db_, "UPDATE meta SET v=? WHERE k='indexed'", -1, &meta.s, nullptr);
  auto run = [&](sqlite3_stmt* s, int64_t key, int64_t time, uint64_t idx) -> Status {
    sqlite3_bind_int64(s, 1, key);
    sqlite3_bind_int64(s, 2, time);
    sqlite3_bind_int64(s, 3, static_cast<int64_t>(idx));
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? OkStatus() : SqlError(db_, "insert");
  };
  Status s = OkStatus();
  for (uint64_t i = indexed_; i < end && s.ok(); ++i) {
    auto leaf = log.ReadEntry(i);
    if (!leaf.ok()) {
      s = leaf.status();
      break;
    }
    auto e = DecodeEvent(*leaf);
    if (!e.ok()) continue;
    if (e->account.valid()) s = run(acc.s, e->account.value(), e->time, i);
    for (PersonId p : e->persons) {
      if (s.ok()) s = run(per.s, p.value(), e->time, i);
    }
  }
  if (s.ok()) {
    sqlite3_bind_int64(meta.s, 1, static_cast<int64_t>(end));
    if (sqlite3_step(meta.s) != SQLITE_DONE) s = SqlError(db_, "meta");
  }
  if (!s.ok()) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return SqlError(db_, "commit");
  indexed_ = end;
  return OkStatus();
}

StatusOr<std::vector<uint64_t>> QueryIndex::Query(const char* sql, int64_t key, UnixMicros from, UnixMicros to,
                                                  size_t limit) {
  Stmt st;
  if (sqlite3_prepare_v2(db_, sql, -1, &st.s, nullptr) != SQLITE_OK) return SqlError(db_, "query");
  sqlite3_bind_int64(st.s, 1, key);
  sqlite3_bind_int64(st.s, 2, from);
  sqlite3_bind_int64(st.s, 3, to);
  sqlite3_bind_int64(st.s, 4, static_cast<int64_t>(limit));
  std::vector<uint64_t> out;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) out.push_back(static_cast<uint64_t>(sqlite3_column_int64(st.s, 0)));
  if (rc != SQLITE_DONE) return SqlError(db_, "query");
  return out;
}

StatusOr<std::vector<uint64_t>> QueryIndex::ByAccount(AccountId account, UnixMicros from, UnixMicros to,
                                                      size_t limit) {
  return Query("SELECT idx FROM by_account WHERE account=? AND time>=? AND time<? ORDER BY time, idx LIMIT ?",
               account.value(), from, to, limit);
}

StatusOr<std::vector<uint64_t>> QueryIndex::ByPerson(PersonId person, UnixMicros from, UnixMicros to, size_t limit) {
  return Query("SELECT idx FROM by_person WHERE person=? AND time>=? AND time<? ORDER BY time, idx LIMIT ?",
               person.value(), from, to, limit);
}

}  // namespace cloison::audit
