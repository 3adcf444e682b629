#include "store/sqlite_util.h"

#include <mutex>

#include "core/strings.h"
#include "store/sqlite_store.h"

namespace cloison::store {

bool ConfigureSqliteForProcess() {
  static std::once_flag once;
  static bool applied = false;
  std::call_once(once, [] {
    // SQLITE_MISUSE if SQLite is already initialised: then nothing changes.
    applied = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
    sqlite3_initialize();
  });
  return applied;
}

}  // namespace cloison::store

namespace cloison::store::internal {

Db::~Db() { Close(); }

void Db::Close() {
  if (db_) {
    EndReadBatchTxn();
    sqlite3_finalize(begin_stmt_);
    sqlite3_finalize(commit_stmt_);
    begin_stmt_ = commit_stmt_ = nullptr;
    // sqlite3_close_v2 defers the close until every statement is finalized;
    // the store finalizes its statements first, so this closes now.
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

Status Db::Open(const std::string& path) {
  Close();
  ConfigureSqliteForProcess();
  const int rc = sqlite3_open_v2(path.c_str(), &db_,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = IOError(StrCat("cannot open database ", path, ": ",
                              db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)));
    Close();
    return s;
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
  return OkStatus();
}

Status Db::Error(int rc, std::string_view what) const {
  const char* msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  std::string m = StrCat(what, ": ", msg);
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Corruption(m);
    case SQLITE_CONSTRAINT:
      return InvalidArgument(m);
    default:
      return IOError(m);
  }
}

void Db::WantReadBatch(bool want) {
  batch_wanted_ = want;
  if (!want) EndReadBatchTxn();
}

namespace {
// Steps a statement prepared once and kept (`slot`): BEGIN and COMMIT run
// once per batch, and sqlite3_exec would parse them every time.
bool RunCached(sqlite3* db, sqlite3_stmt*& slot, const char* sql) {
  if (slot == nullptr && sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot, nullptr) != SQLITE_OK) {
    sqlite3_finalize(slot);
    slot = nullptr;
    return false;
  }
  const int rc = sqlite3_step(slot);
  sqlite3_reset(slot);
  return rc == SQLITE_DONE;
}
}  // namespace

void Db::JoinReadBatch() {
  if (!batch_wanted_ || batch_open_ || db_ == nullptr || sqlite3_get_autocommit(db_) == 0) return;
  batch_open_ = RunCached(db_, begin_stmt_, "BEGIN");
}

void Db::EndReadBatchTxn() {
  if (!batch_open_) return;
  batch_open_ = false;
  // A read-only transaction: COMMIT only drops the read lock. Should it
  // fail, ROLLBACK ends it the same way.
  if (sqlite3_get_autocommit(db_) == 0 && !RunCached(db_, commit_stmt_, "COMMIT"))
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Status Db::Exec(std::string_view sql, std::string_view what) {
  EndReadBatchTxn();
  const std::string s(sql);
  const int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, what);
  return OkStatus();
}

StatusOr<Stmt> Db::Prepare(std::string_view sql, std::string_view what) {
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s,
                                    nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(s);
    return Error(rc, what);
  }
  return Stmt(s);
}

Status Db::StepDone(const Stmt& s, std::string_view what) {
  if (batch_open_ && !sqlite3_stmt_readonly(s.get())) EndReadBatchTxn();
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return OkStatus();
  return Error(rc, what);
}

StatusOr<bool> Db::StepRow(const Stmt& s, std::string_view what) {
  if (batch_open_ && !sqlite3_stmt_readonly(s.get())) EndReadBatchTxn();
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(rc, what);
}

StatusOr<int64_t> Db::QueryInt(std::string_view sql, std::string_view what) {
  CLOISON_ASSIGN_OR_RETURN(Stmt s, Prepare(sql, what));
  CLOISON_ASSIGN_OR_RETURN(bool row, StepRow(s, what));
  return row ? s.ColumnInt(0) : 0;
}

Txn::~Txn() {
  if (!open_) return;
  if (nested_) sqlite3_exec(db_.raw(), "ROLLBACK TO cloison_txn; RELEASE cloison_txn", nullptr, nullptr, nullptr);
  else sqlite3_exec(db_.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
}

Status Txn::Begin() {
  // Inside a transaction already (Store::RunInTransaction): a savepoint,
  // so that this one can still fail alone. A read batch's transaction is
  // not one to nest in: it ends here, before writing.
  db_.EndReadBatchTxn();
  nested_ = sqlite3_get_autocommit(db_.raw()) == 0;
  CLOISON_RETURN_IF_ERROR(db_.Exec(nested_ ? "SAVEPOINT cloison_txn" : "BEGIN IMMEDIATE", "begin transaction"));
  open_ = true;
  return OkStatus();
}

Status Txn::Commit() {
  CLOISON_RETURN_IF_ERROR(db_.Exec(nested_ ? "RELEASE cloison_txn" : "COMMIT", "commit"));
  open_ = false;
  return OkStatus();
}

}  // namespace cloison::store::internal
