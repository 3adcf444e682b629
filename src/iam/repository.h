// Persistence of iam state behind one interface: accounts, credentials,
// sessions, change requests and their events, login-attempt counters.
//
// The SQLite implementation keeps its own tables in the records store's
// database file (or any file; ":memory:" for tests) and its own schema version
// (table iam_schema_version), so iam migrates independently of the store.
// Secrets never reach it in clear: passwords as Argon2id strings, TOTP secrets
// encrypted (AEAD), API keys / session tokens / recovery codes as keyed hashes.
//
// Thread-safety: a repository is used from one thread at a time (like Store).
// Failure: IOError when SQLite fails, Corruption for unreadable rows,
// NotFound / AlreadyExists as named.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/token.h"
#include "iam/account.h"
#include "iam/change_request.h"
#include "iam/lockout.h"
#include "iam/session.h"

namespace cloison::iam {

struct TotpCredential {
  std::vector<uint8_t> encrypted_secret;  // AEAD(totp key, secret, "cloison-totp:<account id>")
  bool confirmed = false;                 // enrolment finished (a code was checked)
  int64_t last_step = -1;                 // last accepted time step (replay refusal)
};

enum class AttemptKey { kUsername, kAddress };

class AccountRepository {
 public:
  virtual ~AccountRepository() = default;

  // Runs fn in one transaction: all of its writes or none. Not reentrant.
  virtual Status InTransaction(const std::function<Status()>& fn) = 0;

  // Changes whenever anything this repository reads may have changed: a
  // write through it (even one rolled back), or a commit to the database by
  // any other connection, in this process or another (the CLI suspending an
  // account while the server runs). Equal stamps mean no change in between,
  // so a cache validated by it is never stale. Costs one small statement.
  struct ChangeStamp {
    int64_t others = 0;  // SQLite's data_version: commits by other connections
    int64_t own = 0;     // rows changed through this connection
    bool operator==(const ChangeStamp&) const = default;
  };
  virtual StatusOr<ChangeStamp> CurrentChangeStamp() = 0;

  // Read batching: between BeginReadBatch and EndReadBatch the reads that
  // start with CurrentChangeStamp share one read transaction, one snapshot
  // taken at the first of them, instead of one each (in SQLite: the WAL
  // read lock, two fcntl calls, per statement). Inside it the stamp cannot
  // change for commits elsewhere, so a cache validated by it is not
  // re-checked: use it only for a short burst (the server's one event-loop
  // round) and never across a wait. Any write through the repository ends
  // the batch's transaction first: writes, and the reads after them, see the
  // latest state. Not reentrant. The default does nothing.
  virtual void BeginReadBatch() {}
  virtual void EndReadBatch() {}

  // --- Accounts. Usernames are unique (AlreadyExists).
  // A zero id is assigned: one more than the largest id in use, and at least
  // `min_new_id` (set it above the store's agent ids, see docs/iam.md).
  virtual StatusOr<AccountId> InsertAccount(const Account& a, int64_t min_new_id = 1) = 0;
  virtual Status UpdateAccount(const Account& a) = 0;
  virtual StatusOr<Account> GetAccount(AccountId id) = 0;
  virtual StatusOr<std::optional<Account>> FindAccountByUsername(std::string_view username) = 0;
  virtual StatusOr<std::vector<Account>> ListAccounts() = 0;

  // --- Credentials.
  virtual Status SetPasswordHash(AccountId id, std::string_view hash, UnixMicros now) = 0;
  virtual StatusOr<std::optional<std::string>> GetPasswordHash(AccountId id) = 0;
  virtual Status SetTotp(AccountId id, const TotpCredential& c, UnixMicros now) = 0;
  virtual StatusOr<std::optional<TotpCredential>> GetTotp(AccountId id) = 0;
  // Records `step` as used iff it is later than the stored last step; returns
  // whether it did (false = replay or older code). Atomic.
  virtual StatusOr<bool> AdvanceTotpStep(AccountId id, int64_t step) = 0;
  // Replaces all recovery codes of the account.
  virtual Status ReplaceRecoveryCodes(AccountId id, const std::vector<crypto::TokenDigest>& codes, UnixMicros now) = 0;
  // Marks the matching unused code used; false if none matched.
  virtual StatusOr<bool> ConsumeRecoveryCode(AccountId id, const crypto::TokenDigest& code, UnixMicros now) = 0;
  virtual StatusOr<int64_t> CountUnusedRecoveryCodes(AccountId id) = 0;
  // Removes TOTP and recovery codes.
  virtual Status DeleteMfa(AccountId id) = 0;
  virtual Status SetApiKey(AccountId id, const crypto::TokenDigest& digest, UnixMicros now) = 0;
  virtual StatusOr<std::optional<AccountId>> FindAccountByApiKey(const crypto::TokenDigest& digest) = 0;

  // --- Sessions.
  virtual StatusOr<int64_t> InsertSession(const Session& s) = 0;
  virtual StatusOr<std::optional<Session>> FindSessionByToken(const crypto::TokenDigest& digest) = 0;
  // The session with this token digest and its account, in one read (the
  // authentication of every request); nullopt when no session has it (or
  // its account is gone).
  struct SessionAndAccount {
    Session session;
    Account account;
  };
  virtual StatusOr<std::optional<SessionAndAccount>> FindSessionAndAccountByToken(
      const crypto::TokenDigest& digest) = 0;
  virtual StatusOr<Session> GetSession(int64_t id) = 0;
  virtual Status TouchSession(int64_t id, UnixMicros now) = 0;
  virtual Status RevokeSession(int64_t id, UnixMicros now) = 0;
  // Revokes every live session of the account; returns how many.
  virtual StatusOr<int64_t> RevokeAccountSessions(AccountId id, UnixMicros now) = 0;
  // Sessions not revoked (possibly timed out: the caller filters with the policy).
  virtual StatusOr<std::vector<Session>> ListSessions(AccountId id) = 0;

  // --- Change requests.
  virtual StatusOr<ChangeRequestId> InsertRequest(const ChangeRequest& r) = 0;
  virtual Status UpdateRequest(const ChangeRequest& r) = 0;
  virtual StatusOr<ChangeRequest> GetRequest(ChangeRequestId id) = 0;
  // All requests (status = nullopt) or those with the status, oldest first.
  virtual StatusOr<std::vector<ChangeRequest>> ListRequests(std::optional<RequestStatus> status) = 0;
  virtual Status AppendRequestEvent(const RequestEvent& e) = 0;
  virtual StatusOr<std::vector<RequestEvent>> ListRequestEvents(ChangeRequestId id) = 0;

  // --- Login-attempt counters (absent key = empty record).
  virtual StatusOr<AttemptRecord> GetAttempts(AttemptKey kind, std::string_view key) = 0;
  virtual Status PutAttempts(AttemptKey kind, std::string_view key, const AttemptRecord& r) = 0;
  virtual Status ClearAttempts(AttemptKey kind, std::string_view key) = 0;
};

// Opens (creating and migrating as needed) the iam tables in the SQLite
// database at `path` (":memory:" for a private in-memory database).
StatusOr<std::unique_ptr<AccountRepository>> OpenSqliteAccountRepository(const std::string& path);

}  // namespace cloison::iam
