// Thin RAII wrappers over the SQLite C API, private to src/store.
//
// Why not a third-party wrapper: the store needs exactly prepare / bind /
// step / reset with SQLITE_STATIC blobs on its hot path, and errors mapped to
// cloison::Status (IOError / Corruption / InvalidArgument) with
// sqlite3_errmsg and never a bound value. That is a page of code.
//
// Thread-safety: none; a Db and its statements belong to one thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cloison::store::internal {

// Owns a prepared statement; finalizes it on destruction.
class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(Stmt&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept {
    if (this != &o) {
      sqlite3_finalize(s_);
      s_ = o.s_;
      o.s_ = nullptr;
    }
    return *this;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  sqlite3_stmt* get() const { return s_; }
  explicit operator bool() const { return s_ != nullptr; }

  // Binders; indexes are 1-based like SQLite's. Text and blobs are bound
  // SQLITE_STATIC: the caller keeps the bytes alive until the statement is
  // reset (every use goes through a ScopedReset).
  void BindInt(int i, int64_t v) const { sqlite3_bind_int64(s_, i, v); }
  void BindNull(int i) const { sqlite3_bind_null(s_, i); }
  void BindText(int i, std::string_view v) const {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  // Empty text binds NULL ("absent").
  void BindTextOrNull(int i, std::string_view v) const {
    if (v.empty()) BindNull(i); else BindText(i, v);
  }
  void BindBlob(int i, std::span<const uint8_t> v) const {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }

  int64_t ColumnInt(int i) const { return sqlite3_column_int64(s_, i); }
  bool ColumnIsNull(int i) const { return sqlite3_column_type(s_, i) == SQLITE_NULL; }
  std::string_view ColumnText(int i) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s_, i))) : std::string_view();
  }
  std::span<const uint8_t> ColumnBlob(int i) const {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(s_, i));
    return p ? std::span<const uint8_t>(p, static_cast<size_t>(sqlite3_column_bytes(s_, i)))
             : std::span<const uint8_t>();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

// Resets a cached statement when leaving scope, so its SQLITE_STATIC
// bindings never outlive the bytes they point to and read cursors close.
class ScopedReset {
 public:
  explicit ScopedReset(const Stmt& s) : s_(s.get()) {}
  ~ScopedReset() { sqlite3_reset(s_); }
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;

 private:
  sqlite3_stmt* s_;
};

// Owns a connection.
class Db {
 public:
  Db() = default;
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Opens (creating if missing) the database file. IOError on failure.
  Status Open(const std::string& path);
  void Close();
  sqlite3* raw() const { return db_; }

  // Runs one or more statements without results (DDL, PRAGMA, BEGIN).
  // `what` names the operation in the error message.
  Status Exec(std::string_view sql, std::string_view what);
  StatusOr<Stmt> Prepare(std::string_view sql, std::string_view what);
  // Steps `s` to completion (expects SQLITE_DONE).
  Status StepDone(const Stmt& s, std::string_view what);
  // Steps once: true if a row is available, false at the end.
  StatusOr<bool> StepRow(const Stmt& s, std::string_view what);
  // Runs a query returning a single integer (e.g. PRAGMA user_version).
  StatusOr<int64_t> QueryInt(std::string_view sql, std::string_view what);

  // Maps a SQLite result code to a Status carrying `what` and
  // sqlite3_errmsg (which names tables and columns, never bound values).
  Status Error(int rc, std::string_view what) const;

  // Read batching (Store::BeginReadBatch). While a batch is wanted, the
  // first read that calls JoinReadBatch opens one deferred read transaction
  // and the reads after it share it: SQLite takes its WAL read lock (two
  // fcntl calls on the -shm file, and the WAL header checks) once per batch
  // instead of once per statement. Anything that may write -- Exec (BEGIN,
  // DDL, PRAGMA) or stepping a statement that is not read-only -- first
  // commits the batch's read transaction, so writes never run on, or
  // upgrade, a snapshot older than the database (SQLITE_BUSY_SNAPSHOT); the
  // next JoinReadBatch opens a fresh one. Not thread-safe (the connection's
  // owner serialises it, like every other call).
  void WantReadBatch(bool want);
  // Opens the batch's read transaction if a batch is wanted and none is
  // open (and no other transaction is). Failing to open it is not an error:
  // the read then runs in autocommit, as without a batch.
  void JoinReadBatch();
  // Commits the batch's read transaction if one is open (the batch stays
  // wanted: the next JoinReadBatch opens another).
  void EndReadBatchTxn();

 private:
  sqlite3* db_ = nullptr;
  bool batch_wanted_ = false;
  bool batch_open_ = false;
  sqlite3_stmt* begin_stmt_ = nullptr;   // the batch's BEGIN and COMMIT, prepared once
  sqlite3_stmt* commit_stmt_ = nullptr;
};

// A write transaction (BEGIN IMMEDIATE, so the write lock is taken up front
// and a busy database fails at BEGIN rather than mid-batch). Rolls back in
// the destructor unless committed. Begun inside an open transaction (see
// Store::RunInTransaction) it is a savepoint: Commit releases it into the
// outer transaction, the destructor rolls back to it.
class Txn {
 public:
  explicit Txn(Db& db) : db_(db) {}
  ~Txn();
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  Status Begin();
  Status Commit();

 private:
  Db& db_;
  bool open_ = false;
  bool nested_ = false;
};

}  // namespace cloison::store::internal
