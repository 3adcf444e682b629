// SQLite implementation of AccountRepository. Tables are prefixed "iam_" so
// they cannot collide with the records store's tables in the same file.
#include <sqlite3.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/strings.h"
#include "crypto/aead.h"
#include "iam/repository.h"

namespace cloison::iam {

namespace {

constexpr int kSchemaVersion = 1;

// Migrations, index i brings version i to i + 1.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE iam_accounts (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  structure_id INTEGER NOT NULL,
  username TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  roles TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  probation_until INTEGER NOT NULL,
  created_by INTEGER,
  approved_by INTEGER,
  last_modified_by INTEGER,
  daily_read_quota INTEGER NOT NULL,
  must_change_password INTEGER NOT NULL,
  purpose TEXT NOT NULL,
  scopes TEXT NOT NULL,
  networks TEXT NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE INDEX iam_accounts_created_by ON iam_accounts(created_by);
CREATE TABLE iam_credentials (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES iam_accounts(id),
  kind TEXT NOT NULL,            -- password | totp | recovery | api_key
  value BLOB NOT NULL,           -- Argon2id string | AEAD ciphertext | keyed hash
  confirmed INTEGER NOT NULL DEFAULT 0,
  counter INTEGER NOT NULL DEFAULT -1,  -- totp: last accepted time step
  created_at INTEGER NOT NULL,
  used_at INTEGER);
CREATE INDEX iam_credentials_account ON iam_credentials(account_id, kind);
CREATE INDEX iam_credentials_value ON iam_credentials(kind, value);
CREATE TABLE iam_sessions (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL,
  token_digest BLOB NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL DEFAULT 0,
  source_address TEXT NOT NULL,
  mfa INTEGER NOT NULL);
CREATE INDEX iam_sessions_account ON iam_sessions(account_id);
CREATE TABLE iam_change_requests (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  spec TEXT NOT NULL,
  target_account INTEGER NOT NULL,
  structure_id INTEGER NOT NULL,
  requester INTEGER NOT NULL,
  reason TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  decided_by INTEGER,
  decided_at INTEGER NOT NULL DEFAULT 0,
  decision_note TEXT NOT NULL DEFAULT '');
CREATE INDEX iam_change_requests_status ON iam_change_requests(status);
CREATE TABLE iam_change_request_events (
  id INTEGER PRIMARY KEY,
  request_id INTEGER NOT NULL,
  at INTEGER NOT NULL,
  actor INTEGER,
  event TEXT NOT NULL,
  detail TEXT NOT NULL);
CREATE INDEX iam_change_request_events_request ON iam_change_request_events(request_id);
CREATE TABLE iam_login_attempts (
  kind TEXT NOT NULL,
  key TEXT NOT NULL,             -- keyed hash of the username / address, never the text
  failures INTEGER NOT NULL,
  last_failure INTEGER NOT NULL,
  locked_until INTEGER NOT NULL,
  PRIMARY KEY (kind, key));
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

std::string JoinList(const std::vector<std::string>& v) {
  std::string o;
  for (size_t i = 0; i < v.size(); ++i) o += (i ? "," : "") + v[i];
  return o;
}
std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto c = s.find(',');
    out.emplace_back(s.substr(0, c));
    if (c == std::string_view::npos) break;
    s.remove_prefix(c + 1);
  }
  return out;
}

// Prepared statements kept for reuse, by SQL text: every session check of
// every API request runs the same few queries, and preparing one (parsing
// the SQL, planning) cost more than running it. A statement is taken by one
// Stmt at a time (nested uses of the same SQL get another one) and given back
// reset, its bindings cleared. Used from one thread at a time, like the
// repository; finalises everything it holds on destruction.
class StmtCache {
 public:
  explicit StmtCache(sqlite3* db) : db_(db) {}
  ~StmtCache() { Clear(); }
  StmtCache(const StmtCache&) = delete;
  StmtCache& operator=(const StmtCache&) = delete;

  sqlite3* db() const { return db_; }

  // Read batching (AccountRepository::BeginReadBatch), kept here because
  // every statement passes through the cache. While a batch is wanted, the
  // first JoinReadBatch opens a deferred read transaction that the reads
  // after it share; anything that may write (Exec, a statement that is not
  // read-only, InTransaction) first commits it, so writes never run on, or
  // upgrade, an old snapshot. Same thread rules as the cache.
  void WantReadBatch(bool want) {
    batch_wanted_ = want;
    if (!want) EndReadBatchTxn();
  }
  void JoinReadBatch() {
    if (!batch_wanted_ || batch_open_ || sqlite3_get_autocommit(db_) == 0) return;
    batch_open_ = RunCached("BEGIN");
  }
  bool read_batch_open() const { return batch_open_; }
  void EndReadBatchTxn() {
    if (!batch_open_) return;
    batch_open_ = false;
    if (sqlite3_get_autocommit(db_) == 0 && !RunCached("COMMIT")) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  int Take(const char* sql, sqlite3_stmt** out) {
    auto it = idle_.find(std::string_view(sql));
    if (it != idle_.end() && !it->second.empty()) {
      *out = it->second.back();
      it->second.pop_back();
      return SQLITE_OK;
    }
    return sqlite3_prepare_v2(db_, sql, -1, out, nullptr);
  }
  void Give(sqlite3_stmt* st) {
    if (!st) return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    const std::string_view sql = sqlite3_sql(st);
    auto it = idle_.find(sql);
    if (it == idle_.end()) it = idle_.emplace(std::string(sql), std::vector<sqlite3_stmt*>()).first;
    auto& v = it->second;
    if (v.size() >= kMaxIdlePerSql) {
      sqlite3_finalize(st);
      return;
    }
    v.push_back(st);
  }
  // Runs a statement without results through the cache (BEGIN, COMMIT:
  // once per batch, not worth parsing each time). True on SQLITE_DONE.
  bool RunCached(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (Take(sql, &st) != SQLITE_OK) {
      sqlite3_finalize(st);
      return false;
    }
    const bool done = sqlite3_step(st) == SQLITE_DONE;
    Give(st);
    return done;
  }
  void Clear() {
    for (auto& [sql, v] : idle_)
      for (sqlite3_stmt* st : v) sqlite3_finalize(st);
    idle_.clear();
  }

 private:
  static constexpr size_t kMaxIdlePerSql = 4;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  sqlite3* db_;
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>, Hash, std::equal_to<>> idle_;
  bool batch_wanted_ = false;
  bool batch_open_ = false;
};

// A statement from the cache for one use; given back on destruction.
class Stmt {
 public:
  Stmt(StmtCache& cache, const char* sql) : cache_(cache) { rc_ = cache.Take(sql, &st_); }
  ~Stmt() {
    if (rc_ == SQLITE_OK) cache_.Give(st_);
    else sqlite3_finalize(st_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool prepared() const { return rc_ == SQLITE_OK; }
  Stmt& Bind(int i, int64_t v) { sqlite3_bind_int64(st_, i, v); return *this; }
  Stmt& Bind(int i, std::string_view v) { sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); return *this; }
  Stmt& BindBlob(int i, std::span<const uint8_t> v) { sqlite3_bind_blob(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); return *this; }
  Stmt& BindOpt(int i, const std::optional<AccountId>& v) {
    if (v) sqlite3_bind_int64(st_, i, v->value()); else sqlite3_bind_null(st_, i);
    return *this;
  }
  // SQLITE_ROW -> true; SQLITE_DONE -> false; else error.
  StatusOr<bool> Step() {
    if (!prepared()) return IOError(StrCat("iam: SQL prepare failed: ", sqlite3_errmsg(cache_.db())));
    if (cache_.read_batch_open() && !sqlite3_stmt_readonly(st_)) cache_.EndReadBatchTxn();
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (rc == SQLITE_CONSTRAINT) return AlreadyExists(StrCat("iam: ", sqlite3_errmsg(cache_.db())));
    return IOError(StrCat("iam: SQL step failed: ", sqlite3_errmsg(cache_.db())));
  }
  Status Run() {
    auto r = Step();
    return r.ok() ? OkStatus() : r.status();
  }
  int64_t Int(int c) const { return sqlite3_column_int64(st_, c); }
  bool IsNull(int c) const { return sqlite3_column_type(st_, c) == SQLITE_NULL; }
  std::optional<AccountId> OptId(int c) const { return IsNull(c) ? std::nullopt : std::optional(AccountId(Int(c))); }
  std::string Text(int c) const {
    auto p = sqlite3_column_text(st_, c);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(st_, c)) : std::string();
  }
  std::vector<uint8_t> Blob(int c) const {
    auto p = static_cast<const uint8_t*>(sqlite3_column_blob(st_, c));
    return p ? std::vector<uint8_t>(p, p + sqlite3_column_bytes(st_, c)) : std::vector<uint8_t>();
  }

 private:
  StmtCache& cache_;
  sqlite3_stmt* st_ = nullptr;
  int rc_;
};

constexpr const char* kAccountColumns =
    "id, kind, structure_id, username, display_name, roles, status, created_at, updated_at, probation_until, "
    "created_by, approved_by, last_modified_by, daily_read_quota, must_change_password, purpose, scopes, networks, "
    "expires_at";

// Reads the account columns (kAccountColumns) starting at column `c`.
StatusOr<Account> ReadAccount(const Stmt& s, int c = 0) {
  Account a;
  a.id = AccountId(s.Int(c + 0));
  auto kind = ParseAccountKind(s.Text(c + 1));
  auto status = ParseAccountStatus(s.Text(c + 6));
  if (!kind || !status) return Corruption(StrCat("iam: account ", a.id.value(), " has an unknown kind or status"));
  a.kind = *kind;
  a.status = *status;
  a.structure = StructureId(s.Int(c + 2));
  a.username = s.Text(c + 3);
  a.display_name = s.Text(c + 4);
  for (const auto& r : SplitList(s.Text(c + 5))) {
    auto role = ParseRole(r);
    if (!role) return Corruption(StrCat("iam: account ", a.id.value(), " has an unknown role"));
    a.roles.push_back(*role);
  }
  a.created_at = s.Int(c + 7);
  a.updated_at = s.Int(c + 8);
  a.probation_until = s.Int(c + 9);
  a.created_by = s.OptId(c + 10);
  a.approved_by = s.OptId(c + 11);
  a.last_modified_by = s.OptId(c + 12);
  a.daily_read_quota = s.Int(c + 13);
  a.must_change_password = s.Int(c + 14) != 0;
  a.technical.purpose = s.Text(c + 15);
  a.technical.scopes = SplitList(s.Text(c + 16));
  a.technical.networks = SplitList(s.Text(c + 17));
  a.technical.expires_at = s.Int(c + 18);
  return a;
}

// Binds every column but id, starting at parameter `first`.
void BindAccount(Stmt& s, const Account& a, int first) {
  std::vector<std::string> roles;
  for (Role r : a.roles) roles.emplace_back(RoleName(r));
  const int i = first;
  s.Bind(i + 0, AccountKindName(a.kind));
  s.Bind(i + 1, a.structure.value());
  s.Bind(i + 2, a.username);
  s.Bind(i + 3, a.display_name);
  s.Bind(i + 4, JoinList(roles));
  s.Bind(i + 5, AccountStatusName(a.status));
  s.Bind(i + 6, a.created_at);
  s.Bind(i + 7, a.updated_at);
  s.Bind(i + 8, a.probation_until);
  s.BindOpt(i + 9, a.created_by);
  s.BindOpt(i + 10, a.approved_by);
  s.BindOpt(i + 11, a.last_modified_by);
  s.Bind(i + 12, a.daily_read_quota);
  s.Bind(i + 13, int64_t{a.must_change_password});
  s.Bind(i + 14, a.technical.purpose);
  s.Bind(i + 15, JoinList(a.technical.scopes));
  s.Bind(i + 16, JoinList(a.technical.networks));
  s.Bind(i + 17, a.technical.expires_at);
}

constexpr const char* kSessionColumns =
    "id, account_id, token_digest, created_at, last_seen_at, revoked_at, source_address, mfa";

// Reads the session columns (kSessionColumns) starting at column `c`.
Session ReadSession(const Stmt& s, int c = 0) {
  Session x;
  x.id = s.Int(c + 0);
  x.account = AccountId(s.Int(c + 1));
  auto d = s.Blob(c + 2);
  std::memcpy(x.token_digest.data(), d.data(), std::min(d.size(), x.token_digest.size()));
  x.created_at = s.Int(c + 3);
  x.last_seen_at = s.Int(c + 4);
  x.revoked_at = s.Int(c + 5);
  x.source_address = s.Text(c + 6);
  x.mfa = s.Int(c + 7) != 0;
  return x;
}

// "a, b" -> "t.a, t.b": a column list for a join.
std::string Qualified(std::string_view table, std::string_view columns) {
  std::string out;
  for (std::string_view rest = columns; !rest.empty();) {
    const size_t comma = rest.find(',');
    std::string_view col = rest.substr(0, comma);
    while (!col.empty() && col.front() == ' ') col.remove_prefix(1);
    if (!out.empty()) out += ", ";
    out += table;
    out += '.';
    out += col;
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return out;
}

constexpr const char* kRequestColumns =
    "id, spec, requester, reason, created_at, expires_at, status, decided_by, decided_at, decision_note";

StatusOr<ChangeRequest> ReadRequest(const Stmt& s) {
  ChangeRequest r;
  r.id = s.Int(0);
  CLOISON_ASSIGN_OR_RETURN(r.spec, ChangeSpec::FromJson(s.Text(1)));
  r.requester = AccountId(s.Int(2));
  r.reason = s.Text(3);
  r.created_at = s.Int(4);
  r.expires_at = s.Int(5);
  auto st = ParseRequestStatus(s.Text(6));
  if (!st) return Corruption(StrCat("iam: change request ", r.id, " has an unknown status"));
  r.status = *st;
  r.decided_by = s.OptId(7);
  r.decided_at = s.Int(8);
  r.decision_note = s.Text(9);
  return r;
}

std::string_view AttemptKindName(AttemptKey k) { return k == AttemptKey::kUsername ? "username" : "address"; }

class SqliteAccountRepository final : public AccountRepository {
 public:
  explicit SqliteAccountRepository(sqlite3* db) : db_(db), stmts_(db) {}
  ~SqliteAccountRepository() override {
    stmts_.EndReadBatchTxn();
    stmts_.Clear();
    sqlite3_close_v2(db_);
  }

  Status Exec(const char* sql) {
    stmts_.EndReadBatchTxn();  // BEGIN IMMEDIATE, DDL: never inside a batch's read
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return IOError(StrCat("iam: ", msg));
    }
    return OkStatus();
  }

  Status Migrate() {
    CLOISON_RETURN_IF_ERROR(Exec("CREATE TABLE IF NOT EXISTS iam_schema_version (version INTEGER NOT NULL)"));
    int64_t version = 0;
    {
      Stmt s(stmts_, "SELECT version FROM iam_schema_version");
      CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
      if (row) version = s.Int(0);
    }
    if (version > kSchemaVersion)
      return FailedPrecondition(StrCat("iam schema version ", version, " is newer than this program (", kSchemaVersion,
                                       "): upgrade cloison"));
    for (int64_t v = version; v < kSchemaVersion; ++v) {
      CLOISON_RETURN_IF_ERROR(InTransaction([&]() -> Status {
        CLOISON_RETURN_IF_ERROR(Exec(kMigrations[v]));
        CLOISON_RETURN_IF_ERROR(Exec("DELETE FROM iam_schema_version"));
        Stmt s(stmts_, "INSERT INTO iam_schema_version(version) VALUES (?)");
        return s.Bind(1, v + 1).Run();
      }));
    }
    return OkStatus();
  }

  Status InTransaction(const std::function<Status()>& fn) override {
    CLOISON_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status s = fn();
    if (s.ok()) s = Exec("COMMIT");
    if (!s.ok()) Exec("ROLLBACK").IgnoreError();
    return s;
  }

  void BeginReadBatch() override { stmts_.WantReadBatch(true); }
  void EndReadBatch() override { stmts_.WantReadBatch(false); }

  StatusOr<ChangeStamp> CurrentChangeStamp() override {
    stmts_.JoinReadBatch();  // a no-op outside BeginReadBatch
    ChangeStamp stamp;
    stamp.own = sqlite3_total_changes64(db_);
    Stmt s(stmts_, "PRAGMA data_version");
    CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return IOError("cannot read the database's data version");
    stamp.others = s.Int(0);
    return stamp;
  }

  // --- Accounts.
  StatusOr<AccountId> InsertAccount(const Account& a, int64_t min_new_id) override {
    int64_t id = a.id.value();
    if (id <= 0) {
      Stmt s(stmts_, "SELECT COALESCE(MAX(id), 0) FROM iam_accounts");
      CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
      id = std::max<int64_t>(row ? s.Int(0) + 1 : 1, min_new_id);
    }
    Stmt s(stmts_, StrCat("INSERT INTO iam_accounts (", kAccountColumns,
                          ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)").c_str());
    s.Bind(1, id);
    BindAccount(s, a, 2);
    Status st = s.Run();
    if (absl::IsAlreadyExists(st)) return AlreadyExists(StrCat("account '", a.username, "' or id ", id, " already exists"));
    CLOISON_RETURN_IF_ERROR(st);
    return AccountId(id);
  }

  Status UpdateAccount(const Account& a) override {
    Stmt s(stmts_,
           "UPDATE iam_accounts SET kind=?, structure_id=?, username=?, display_name=?, roles=?, status=?, "
           "created_at=?, updated_at=?, probation_until=?, created_by=?, approved_by=?, last_modified_by=?, "
           "daily_read_quota=?, must_change_password=?, purpose=?, scopes=?, networks=?, expires_at=? WHERE id=?");
    BindAccount(s, a, 1);
    s.Bind(19, a.id.value());
    CLOISON_RETURN_IF_ERROR(s.Run());
    if (sqlite3_changes(db_) == 0) return NotFound(StrCat("no account ", a.id.value()));
    return OkStatus();
  }

  StatusOr<Account> GetAccount(AccountId id) override {
    Stmt s(stmts_, StrCat("SELECT ", kAccountColumns, " FROM iam_accounts WHERE id=?").c_str());
    s.Bind(1, id.value());
    CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return NotFound(StrCat("no account ", id.value()));
    return ReadAccount(s);
  }

  StatusOr<std::optional<Account>> FindAccountByUsername(std::string_view username) override {
    Stmt s(stmts_, StrCat("SELECT ", kAccountColumns, " FROM iam_accounts WHERE username=?").c_str());
    s.Bind(1, username);
    CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<Account>();
    CLOISON_ASSIGN_OR_RETURN(Account a, ReadAccount(s));
    return std::optional<Account>(std::move(a));
  }

  StatusOr<std::vector<Account>> ListAccounts() override {
    Stmt s(stmts_, StrCat("SELECT ", kAccountColumns, " FROM iam_accounts ORDER BY id").c_str());
    std::vector<Account> out;
    while (true) {
      CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      CLOISON_ASSIGN_OR_RETURN(Account a, ReadAccount(s));
      out.push_back(std::move(a));
    }
    return out;
  }

  // --- Credentials.
  Status DeleteCredentials(AccountId id, std::string_view kind) {
    Stmt s(stmts_, "DELETE FROM iam_credentials WHERE account_id=? AND kind=?");
    return s.Bind(1, id.value()).Bind(2, kind).Run();
  }
  Status InsertCredential(AccountId id, std::string_view kind, std::span<const uint8_t> value, bool confirmed,
                          int64_t counter, UnixMicros now) {
    Stmt s(stmts_, "INSERT INTO iam_credentials (account_id, kind, value, confirmed, counter, created_at) VALUES (?,?,?,?,?,?)");
    s.Bind(1, id.value()).Bind(2, kind).BindBlob(3, value).Bind(4, int64_t{confirmed}).Bind(5, counter).Bind(6, now);
    return s.Run();
  }

  Status SetPasswordHash(AccountId id, std::string_view hash, UnixMicros now) override {
    return InTransactionIfNeeded([&]() -> Status {
      CLOISON_RETURN_IF_ERROR(DeleteCredentials(id, "password"));
      return InsertCredential(id, "password", crypto::AsBytes(hash), true, -1, now);
    });
  }

  StatusOr<std::optional<std::string>> GetPasswordHash(AccountId id) override {
    Stmt s(stmts_, "SELECT value FROM iam_credentials WHERE account_id=? AND kind='password'");
    s.Bind(1, id.value());
    CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<std::string>();
    auto b = s.Blob(0);
    return std::optional<std::string>(std::string(b.begin(), b.end()));
  }

  Status SetTotp(AccountId id, const TotpCredential& c, UnixMicros now) override {
    return InTransactionIfNeeded([&]() -> Status {
      CLOISON_RETURN_IF_ERROR(DeleteCredentials(id, "totp"));
      return InsertCredential(id, "totp", c.encrypted_secret, c.confirmed, c.last_step, now);
    });
  }

  StatusOr<std::optional<TotpCredential>> GetTotp(AccountId id) override {
    Stmt s(stmts_, "SELECT value, confirmed, counter FROM iam_credentials WHERE account_id=? AND kind='totp'");
    s.Bind(1, id.value());
    CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<TotpCredential>();
    TotpCredential c{s.Blob(0), s.Int(1) != 0, s.Int(2)};
    return std::optional<TotpCredential>(std::move(c));
  }

  StatusOr<bool> AdvanceTotpStep(AccountId id, int64_t step) override {
    Stmt s(stmts_, "UPDATE iam_credentials SET counter=? WHERE account_id=? AND kind='totp' AND counter < ?");
    CLOISON_RETURN_IF_ERROR(s.Bind(1, step).Bind(2, id.value()).Bind(3, step).Run());
    return sqlite3_changes(db_) == 1;
  }

  Status ReplaceRecoveryCodes(AccountId id, const std::vector<crypto::TokenDigest>& codes, UnixMicros now) override {
    return InTransactionIfNeeded([&]() -> Status {
      CLOISON_RETURN_IF_ERROR(DeleteCredentials(id, "recovery"));
      for (const auto& c : codes) CLOISON_RETURN_IF_ERROR(InsertCredential(id, "recovery", c, true, -1, now));
      return OkStatus();
    });
  }

  StatusOr<bool> ConsumeRecoveryCode(AccountId id, const crypto::TokenDigest& code, UnixMicros now) override {
    Stmt s(stmts_,
           "UPDATE iam_credentials SET used_at=? WHERE id = (SELECT id FROM iam_credentials WHERE account_id=? AND "
           "kind='recovery' AND value=? AND used_at IS NULL LIMIT 1)");
    CLOISON_RETURN_IF_ERROR(s.Bind(1, now).Bind(2, id.value()).BindBlob(3, code).Run());
    return sqlite3_changes(db_) == 1;
  }

  StatusOr<int64_t> CountUnusedRecoveryCodes(AccountId id) override {
    Stmt s(stmts_, "SELECT COUNT(*) FROM iam_credentials WHERE account_id=? AND kind='recovery' AND used_at IS NULL");
    s.Bind(1, id.value());
    CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
    return row ? s.Int(0) : 0;
  }

  Status DeleteMfa(AccountId id) override {
    return InTransactionIfNeeded([&]() -> Status {
      CLOISON_RETURN_IF_ERROR(DeleteCredentials(id, "totp"));
      return DeleteCredentials(id, "recovery");
    });
  }

  Status SetApiKey(AccountId id, const crypto::TokenDigest& digest, UnixMicros now) override {
    return InTransactionIfNeeded([&]() -> Status {
      CLOISON_RETURN_IF_ERROR(DeleteCredentials(id, "api_key"));
      return InsertCredential(id, "api_key", digest, true, -1, now);
    });
  }

  StatusOr<std::optional<AccountId>> FindAccountByApiKey(const crypto::TokenDigest& digest) override {
    Stmt s(stmts_, "SELECT account_id FROM iam_credentials WHERE kind='api_key' AND value=?");
    s.BindBlob(1, digest);
    CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<AccountId>();
    return std::optional<AccountId>(AccountId(s.Int(0)));
  }

  // --- Sessions.
  StatusOr<int64_t> InsertSession(const Session& x) override {
    Stmt s(stmts_,
           "INSERT INTO iam_sessions (account_id, token_digest, created_at, last_seen_at, revoked_at, source_address, "
           "mfa) VALUES (?,?,?,?,?,?,?)");
    s.Bind(1, x.account.value()).BindBlob(2, x.token_digest).Bind(3, x.created_at).Bind(4, x.last_seen_at);
    s.Bind(5, x.revoked_at).Bind(6, x.source_address).Bind(7, int64_t{x.mfa});
    CLOISON_RETURN_IF_ERROR(s.Run());
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  }

  StatusOr<std::optional<Session>> FindSessionByToken(const crypto::TokenDigest& digest) override {
    Stmt s(stmts_, StrCat("SELECT ", kSessionColumns, " FROM iam_sessions WHERE token_digest=?").c_str());
    s.BindBlob(1, digest);
    CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<Session>();
    return std::optional<Session>(ReadSession(s));
  }

  StatusOr<std::optional<SessionAndAccount>> FindSessionAndAccountByToken(const crypto::TokenDigest& digest) override {
    // One statement (one read transaction) instead of two: this runs for
    // every authenticated request.
    static const std::string kSql = StrCat("SELECT ", Qualified("s", kSessionColumns), ", ",
                                           Qualified("a", kAccountColumns),
                                           " FROM iam_sessions s JOIN iam_accounts a ON a.id = s.account_id"
                                           " WHERE s.token_digest=?");
    static const int kAccountFirst = [] {
      int n = 1;
      for (const char* p = kSessionColumns; *p; ++p) n += *p == ',';
      return n;
    }();
    Stmt s(stmts_, kSql.c_str());
    s.BindBlob(1, digest);
    CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<SessionAndAccount>();
    SessionAndAccount out{ReadSession(s), Account()};
    CLOISON_ASSIGN_OR_RETURN(out.account, ReadAccount(s, kAccountFirst));
    return std::optional<SessionAndAccount>(std::move(out));
  }

  StatusOr<Session> GetSession(int64_t id) override {
    Stmt s(stmts_, StrCat("SELECT ", kSessionColumns, " FROM iam_sessions WHERE id=?").c_str());
    s.Bind(1, id);
    CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return NotFound(StrCat("no session ", id));
    return ReadSession(s);
  }

  Status TouchSession(int64_t id, UnixMicros now) override {
    Stmt s(stmts_, "UPDATE iam_sessions SET last_seen_at=? WHERE id=?");
    return s.Bind(1, now).Bind(2, id).Run();
  }

  Status RevokeSession(int64_t id, UnixMicros now) override {
    Stmt s(stmts_, "UPDATE iam_sessions SET revoked_at=? WHERE id=? AND revoked_at=0");
    return s.Bind(1, now).Bind(2, id).Run();
  }

  StatusOr<int64_t> RevokeAccountSessions(AccountId id, UnixMicros now) override {
    Stmt s(stmts_, "UPDATE iam_sessions SET revoked_at=? WHERE account_id=? AND revoked_at=0");
    CLOISON_RETURN_IF_ERROR(s.Bind(1, now).Bind(2, id.value()).Run());
    return static_cast<int64_t>(sqlite3_changes(db_));
  }

  StatusOr<std::vector<Session>> ListSessions(AccountId id) override {
    Stmt s(stmts_, StrCat("SELECT ", kSessionColumns, " FROM iam_sessions WHERE account_id=? AND revoked_at=0 ORDER BY id")
                       .c_str());
    s.Bind(1, id.value());
    std::vector<Session> out;
    while (true) {
      CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(ReadSession(s));
    }
    return out;
  }

  // --- Change requests.
  StatusOr<ChangeRequestId> InsertRequest(const ChangeRequest& r) override {
    Stmt s(stmts_,
           "INSERT INTO iam_change_requests (kind, spec, target_account, structure_id, requester, reason, created_at, "
           "expires_at, status, decided_by, decided_at, decision_note) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
    s.Bind(1, ChangeKindName(r.spec.kind)).Bind(2, r.spec.ToJson()).Bind(3, r.spec.target.value());
    s.Bind(4, r.spec.structure.value()).Bind(5, r.requester.value()).Bind(6, r.reason).Bind(7, r.created_at);
    s.Bind(8, r.expires_at).Bind(9, RequestStatusName(r.status)).BindOpt(10, r.decided_by).Bind(11, r.decided_at);
    s.Bind(12, r.decision_note);
    CLOISON_RETURN_IF_ERROR(s.Run());
    return static_cast<ChangeRequestId>(sqlite3_last_insert_rowid(db_));
  }

  Status UpdateRequest(const ChangeRequest& r) override {
    // The specification, requester and reason are immutable once recorded.
    Stmt s(stmts_, "UPDATE iam_change_requests SET status=?, decided_by=?, decided_at=?, decision_note=? WHERE id=?");
    s.Bind(1, RequestStatusName(r.status)).BindOpt(2, r.decided_by).Bind(3, r.decided_at).Bind(4, r.decision_note);
    s.Bind(5, r.id);
    CLOISON_RETURN_IF_ERROR(s.Run());
    if (sqlite3_changes(db_) == 0) return NotFound(StrCat("no change request ", r.id));
    return OkStatus();
  }

  StatusOr<ChangeRequest> GetRequest(ChangeRequestId id) override {
    Stmt s(stmts_, StrCat("SELECT ", kRequestColumns, " FROM iam_change_requests WHERE id=?").c_str());
    s.Bind(1, id);
    CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return NotFound(StrCat("no change request ", id));
    return ReadRequest(s);
  }

  StatusOr<std::vector<ChangeRequest>> ListRequests(std::optional<RequestStatus> status) override {
    std::string sql = StrCat("SELECT ", kRequestColumns, " FROM iam_change_requests",
                             status ? " WHERE status=?" : "", " ORDER BY id");
    Stmt s(stmts_, sql.c_str());
    if (status) s.Bind(1, RequestStatusName(*status));
    std::vector<ChangeRequest> out;
    while (true) {
      CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      CLOISON_ASSIGN_OR_RETURN(ChangeRequest r, ReadRequest(s));
      out.push_back(std::move(r));
    }
    return out;
  }

  Status AppendRequestEvent(const RequestEvent& e) override {
    Stmt s(stmts_, "INSERT INTO iam_change_request_events (request_id, at, actor, event, detail) VALUES (?,?,?,?,?)");
    return s.Bind(1, e.request).Bind(2, e.at).BindOpt(3, e.actor).Bind(4, e.event).Bind(5, e.detail).Run();
  }

  StatusOr<std::vector<RequestEvent>> ListRequestEvents(ChangeRequestId id) override {
    Stmt s(stmts_, "SELECT request_id, at, actor, event, detail FROM iam_change_request_events WHERE request_id=? ORDER BY id");
    s.Bind(1, id);
    std::vector<RequestEvent> out;
    while (true) {
      CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(RequestEvent{s.Int(0), s.Int(1), s.OptId(2), s.Text(3), s.Text(4)});
    }
    return out;
  }

  // --- Attempts.
  StatusOr<AttemptRecord> GetAttempts(AttemptKey kind, std::string_view key) override {
    Stmt s(stmts_, "SELECT failures, last_failure, locked_until FROM iam_login_attempts WHERE kind=? AND key=?");
    s.Bind(1, AttemptKindName(kind)).Bind(2, key);
    CLOISON_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return AttemptRecord{};
    return AttemptRecord{s.Int(0), s.Int(1), s.Int(2)};
  }

  Status PutAttempts(AttemptKey kind, std::string_view key, const AttemptRecord& r) override {
    Stmt s(stmts_,
           "INSERT INTO iam_login_attempts (kind, key, failures, last_failure, locked_until) VALUES (?,?,?,?,?) "
           "ON CONFLICT(kind, key) DO UPDATE SET failures=excluded.failures, last_failure=excluded.last_failure, "
           "locked_until=excluded.locked_until");
    return s.Bind(1, AttemptKindName(kind)).Bind(2, key).Bind(3, r.failures).Bind(4, r.last_failure)
        .Bind(5, r.locked_until).Run();
  }

  Status ClearAttempts(AttemptKey kind, std::string_view key) override {
    Stmt s(stmts_, "DELETE FROM iam_login_attempts WHERE kind=? AND key=?");
    return s.Bind(1, AttemptKindName(kind)).Bind(2, key).Run();
  }

 private:
  // Multi-statement writes are atomic whether or not the caller opened a transaction.
  Status InTransactionIfNeeded(const std::function<Status()>& fn) {
    stmts_.EndReadBatchTxn();  // a batch's read transaction is not one to write in
    if (!sqlite3_get_autocommit(db_)) return fn();
    return InTransaction(fn);
  }

  sqlite3* db_;
  StmtCache stmts_;
};

}  // namespace

StatusOr<std::unique_ptr<AccountRepository>> OpenSqliteAccountRepository(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return IOError(StrCat("iam: cannot open ", path, ": ", msg));
  }
  auto repo = std::make_unique<SqliteAccountRepository>(db);
  sqlite3_busy_timeout(db, 5000);
  if (path != ":memory:") CLOISON_RETURN_IF_ERROR(repo->Exec("PRAGMA journal_mode=WAL"));
  CLOISON_RETURN_IF_ERROR(repo->Exec("PRAGMA foreign_keys=ON"));
  CLOISON_RETURN_IF_ERROR(repo->Migrate());
  return std::unique_ptr<AccountRepository>(std::move(repo));
}

}  // namespace cloison::iam
