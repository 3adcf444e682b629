// IamService: authentication (passwords, TOTP, recovery codes, API keys,
// sessions) and account administration under dual control.
//
// Contract highlights (details in docs/iam.md):
//  - Login answers an unknown username, a technical account, a wrong password
//    and a wrong second factor identically: Unauthenticated("invalid
//    credentials"), after exactly one Argon2id verification (against a dummy
//    hash when there is no account). Throttling is keyed by the submitted
//    username and by the source address, so it too answers alike for unknown
//    users: Unauthenticated("too many failed attempts; try again later").
//  - Privileged roles (access manager, security officer, DPO, auditor) must
//    pass TOTP; any account that enrolled must too. A code is accepted within
//    +/- `totp_window` steps of 30 s and only if its step is later than the
//    last accepted one (replay refused). One-time recovery codes stand in for
//    a code.
//  - Privileged acts are change requests (change_request.h). Approve() applies
//    the change atomically iff the approver is independent: not the requester;
//    not the request's target; an active human security officer, out of
//    probation, logged in with TOTP, in a structure that is a strict ancestor
//    of the structure concerned (for the root structure, which has no parent,
//    the root itself); and not an account the requester created, approved or
//    last modified. Requests expire after `request_ttl_us`.
//  - An access manager (or a security officer above) may create a plain
//    counsellor account in its own structure at once; it starts in probation
//    (`probation_us`, quota `probation_quota`). Everything else that widens
//    power goes through a request.
//
// Actors are Principals obtained from Authenticate (a live session); every
// administrative call re-reads the actor's account, so a suspension takes
// effect immediately.
//
// Thread-safety: not thread-safe (one per thread, like the repository).
// Errors: Unauthenticated (credentials), PermissionDenied (not allowed, with the
// rule in the message), FailedPrecondition (wrong state: pending, expired,
// enrolment needed), InvalidArgument (bad input), NotFound, IOError.
#pragma once

#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/domain.h"
#include "core/random.h"
#include "core/status.h"
#include "crypto/aead.h"
#include "crypto/password.h"
#include "crypto/secret.h"
#include "crypto/token.h"
#include "absl/container/flat_hash_map.h"
#include "iam/account.h"
#include "iam/change_request.h"
#include "iam/events.h"
#include "iam/lockout.h"
#include "iam/password_policy.h"
#include "iam/repository.h"
#include "policy/policy.h"
#include "iam/session.h"

namespace cloison::iam {

// The parent of a structure in the network tree (nullopt for the root or an
// unknown structure). Usually built from Store::ListStructures.
using ParentOf = std::function<std::optional<StructureId>(StructureId)>;

struct IamOptions {
  static constexpr int64_t kDay = 24LL * 3600 * 1'000'000;
  crypto::PasswordHashCost password_cost = crypto::PasswordHashCost::Interactive();
  PasswordPolicy password_policy;
  LockoutPolicy lockout;
  SessionPolicy sessions;
  unsigned totp_window = 1;          // +/- 1 step of 30 s
  std::string totp_issuer = "Cloison";
  int64_t probation_us = 14 * kDay;  // new accounts: 14 days of probation
  int64_t probation_quota = 20;      // people files per day while in probation
  int64_t default_quota = 200;       // people files per day afterwards (humans)
  int64_t max_quota_without_approval = 200;
  int64_t request_ttl_us = 3 * kDay;             // change requests expire after 72 h
  int64_t max_technical_lifetime_us = 90 * kDay; // technical accounts: expiry <= 90 days
  int recovery_codes = 10;
  // Role definitions for separation of duties: no account may hold a role
  // that manages accounts together with one that reads people (else an
  // access manager could grant itself a caseload). nullptr: Policy::Default().
  const policy::Policy* policy = nullptr;
};

// Refuses a role set that both manages accounts and reads people, per the
// policy's [role.X] definitions. Exposed for tests.
Status CheckSeparationOfDuties(const std::vector<Role>& roles, const policy::Policy& policy);

// An authenticated caller.
struct Principal {
  AccountId id;
  AccountKind kind = AccountKind::kHuman;
  StructureId structure;
  std::vector<Role> roles;
  bool mfa = false;         // a second factor was checked for this session
  int64_t session_id = 0;   // 0 for API keys
  std::vector<std::string> scopes;  // technical accounts
  std::string purpose;              // technical accounts
  bool in_probation = false;
  int64_t daily_read_quota = 0;     // effective quota (probation applied)
  // A human account whose password was set by someone else (created,
  // bootstrapped, or reset by an administrator) and not yet changed by its
  // holder. The API answers such a session only on the routes that let it
  // see its sessions or leave (docs/api.md, "Errors":
  // password_change_required).
  bool must_change_password = false;
  bool HasRole(Role r) const;
};

struct LoginRequest {
  std::string username;
  crypto::SecretBytes password;
  crypto::SecretBytes second_factor;  // TOTP code or recovery code; empty if none
  std::string source_address;
};

struct LoginResult {
  crypto::SecretBytes session_token;  // shown once; "cls_..."
  Principal principal;
  bool password_change_required = false;
  bool used_recovery_code = false;
  int64_t recovery_codes_left = 0;
};

struct TotpEnrollment {
  crypto::SecretBytes secret_base32;     // for manual entry
  crypto::SecretBytes provisioning_uri;  // otpauth://... for a QR code
};

struct NewHumanAccount {
  StructureId structure;
  std::string username;
  std::string display_name;
  std::vector<Role> roles;
};

struct NewTechnicalAccount {
  StructureId structure;
  std::string username;
  std::string display_name;
  std::string purpose;
  std::vector<std::string> scopes;
  std::vector<std::string> networks;
  UnixMicros expires_at = 0;
  int64_t daily_quota = 0;
};

struct CreatedAccount {
  AccountId id;
  AccountStatus status = AccountStatus::kPending;
  std::optional<ChangeRequestId> request;  // set when dual control applies
  // Shown once, never stored in clear: the initial password (human, to be
  // changed at first login) or the API key (technical, "clk_...").
  crypto::SecretBytes secret;
};

class IamService {
 public:
  // `master_key` derives the TOTP encryption key (DeriveSubkey(master, 3,
  // "cloisiam")) and the token-hashing key (DeriveSubkey(master, 4,
  // "cloistok")). `repo`, `clock`, `random` must outlive the service.
  static StatusOr<std::unique_ptr<IamService>> Create(AccountRepository& repo, const crypto::SecretBytes& master_key,
                                                      const Clock& clock, Random& random, ParentOf parent_of,
                                                      IamOptions options = {}, EventSink sink = {});

  // --- Setup (trusted, no actor; recorded with an empty creator).
  // Creates the first account (normally a security officer at the root) when
  // no account exists yet; FailedPrecondition otherwise. Returns its initial
  // password; it must enrol TOTP at first login if its roles are privileged.
  StatusOr<CreatedAccount> Bootstrap(const NewHumanAccount& account);
  // Gives every store Agent without one an iam account with the same id
  // (active, no credential: cannot log in until a password is issued).
  // Returns how many were added.
  StatusOr<int64_t> ImportAgents(const std::vector<Agent>& agents);
  // Gives an existing active account fresh credentials, returned once: a
  // human gets a new random password (not flagged "must change"), loses its
  // TOTP and recovery codes (so it enrols again) and its sessions; a
  // technical account gets a new API key (the old one stops working). For
  // `cloison demo`, which hands its demo accounts known credentials; like
  // Bootstrap it needs the data directory (master key), never the API.
  // FailedPrecondition for an account that is not active.
  StatusOr<crypto::SecretBytes> ResetCredentialsForSetup(AccountId id);

  // --- Authentication.
  StatusOr<LoginResult> Login(const LoginRequest& request);
  // Checks a session token: live (idle and absolute timeouts), account still
  // active. Refreshes the idle timer (in the database at most every 30 s, so
  // a session may expire up to 30 s before its idle timeout, never after).
  StatusOr<Principal> Authenticate(const crypto::SecretBytes& session_token);
  // Brackets a burst of Authenticate calls that may share one look at the
  // database (AccountRepository::BeginReadBatch): an account suspended by
  // another process during the burst is refused from the next burst on.
  // Writes (a suspension through this service) end it at once.
  void BeginReadBatch() { repo_.BeginReadBatch(); }
  void EndReadBatch() { repo_.EndReadBatch(); }
  Status Logout(const crypto::SecretBytes& session_token);
  // Step-up: the live session of `session_token` proves a fresh TOTP code
  // (`code`, six digits; recovery codes are for logging in without the
  // device, not for step-up), because the guard asked for one. Throttled
  // and counted like a login's second factor: a wrong, replayed (its step
  // not later than the last accepted one) or expired code emits kMfaFailed
  // and a failure on the account's and the address's throttling counters,
  // and answers Unauthenticated("invalid code"); while throttled,
  // Unauthenticated("too many failed attempts; try again later"). A dead
  // session or inactive account: Unauthenticated; an account without a
  // confirmed TOTP: FailedPrecondition (nothing to step up with). On success
  // emits kStepUp and returns the session's principal (mfa = true). The
  // caller keeps the step-up's duration (iam stores nothing: a restart
  // forgets step-ups, the sessions stay).
  StatusOr<Principal> StepUp(const crypto::SecretBytes& session_token, const crypto::SecretBytes& code,
                             std::string_view source_address);
  // Technical accounts: the key must match, the account be active and not
  // expired, and `source_address` inside one of its networks.
  StatusOr<Principal> AuthenticateApiKey(const crypto::SecretBytes& api_key, std::string_view source_address);

  // TOTP enrolment, authenticated by password (throttled like Login).
  // Begin stores a new unconfirmed secret (replacing an unconfirmed one);
  // FailedPrecondition if a confirmed TOTP exists (reset goes through a request).
  StatusOr<TotpEnrollment> BeginTotpEnrollment(const LoginRequest& request);
  // Confirms with a current code (request.second_factor); returns the
  // recovery codes, shown once.
  StatusOr<std::vector<crypto::SecretBytes>> ConfirmTotpEnrollment(const LoginRequest& request);
  // Changes the password (the request authenticates like Login, second
  // factor included when required).
  Status ChangePassword(const LoginRequest& request, const crypto::SecretBytes& new_password);

  // --- Sessions.
  // The live sessions of `account` (the actor's own, or as an administrator of its structure).
  StatusOr<std::vector<Session>> ListSessions(const Principal& actor, AccountId account);
  Status RevokeSession(const Principal& actor, int64_t session_id);

  // --- Accounts.
  StatusOr<std::vector<Account>> ListAccounts(const Principal& actor);
  StatusOr<Account> GetAccount(const Principal& actor, AccountId id);
  StatusOr<Account> GetAccountByUsername(const Principal& actor, std::string_view username);
  // Accounts whose creator is `creator` ("accounts created by X").
  StatusOr<std::vector<Account>> AccountsCreatedBy(const Principal& actor, AccountId creator);

  // Plain counsellor in a structure the actor manages: active at once, in
  // probation. Anything else: a kCreatePrivilegedAccount request; the account
  // waits in status pending.
  StatusOr<CreatedAccount> CreateHumanAccount(const Principal& actor, const NewHumanAccount& account,
                                              std::string_view reason);
  // Always a request; the account waits in status pending with its API key
  // already issued (useless until approval).
  StatusOr<CreatedAccount> RequestTechnicalAccount(const Principal& actor, const NewTechnicalAccount& account,
                                                   std::string_view reason);
  StatusOr<ChangeRequestId> RequestRoleGrant(const Principal& actor, AccountId account, Role role,
                                             std::string_view reason);
  // A pure narrowing (every scope already held, every network inside a held
  // one) is applied at once and returns nullopt; anything else is a request.
  StatusOr<std::optional<ChangeRequestId>> ChangeTechnicalAccess(const Principal& actor, AccountId account,
                                                                 const std::vector<std::string>& scopes,
                                                                 const std::vector<std::string>& networks,
                                                                 std::string_view reason);
  // Lowering is immediate (nullopt); raising above the current quota is a request.
  StatusOr<std::optional<ChangeRequestId>> ChangeQuota(const Principal& actor, AccountId account, int64_t quota,
                                                       std::string_view reason);
  // Reinstates a suspended account; technical accounts also get `new_expiry`
  // (mandatory for them, <= 90 days).
  StatusOr<ChangeRequestId> RequestReinstate(const Principal& actor, AccountId account,
                                             std::optional<UnixMicros> new_expiry, std::string_view reason);
  StatusOr<ChangeRequestId> RequestMfaReset(const Principal& actor, AccountId account, std::string_view reason);
  // Approval of these two is the grant; the exporter / guard checks
  // IsApproved(request) and its subject.
  StatusOr<ChangeRequestId> RequestBulkExport(const Principal& actor, StructureId structure, std::string_view subject,
                                              std::string_view reason);
  StatusOr<ChangeRequestId> RequestBreakGlass(const Principal& actor, StructureId structure, std::string_view subject,
                                              std::string_view reason);
  // Immediate (a protective act): status suspended, sessions revoked.
  Status Suspend(const Principal& actor, AccountId account, std::string_view reason);
  // The guard's suspension (no human actor): an active or pending account
  // becomes suspended, its sessions are revoked (its API key is refused
  // while suspended). Reinstatement only through RequestReinstate + an
  // independent approver. Idempotent.
  Status SuspendByGuard(AccountId account, std::string_view reason);

  // --- Change requests.
  Status Approve(const Principal& actor, ChangeRequestId id, std::string_view note);
  Status Reject(const Principal& actor, ChangeRequestId id, std::string_view note);
  // The requester withdraws its own pending request.
  Status Cancel(const Principal& actor, ChangeRequestId id);
  // Marks every pending request past its expiry as expired (and a pending
  // account it would have created as rejected). Returns how many.
  StatusOr<int64_t> ExpireRequests();
  StatusOr<std::vector<ChangeRequest>> ListRequests(std::optional<RequestStatus> status);
  StatusOr<ChangeRequest> GetRequest(ChangeRequestId id);
  StatusOr<std::vector<RequestEvent>> RequestHistory(ChangeRequestId id);
  // True iff the request exists, was approved, and its kind is `kind`.
  StatusOr<bool> IsApproved(ChangeRequestId id, ChangeKind kind);

  const IamOptions& options() const { return options_; }
  const policy::Policy& Policy() const { return options_.policy ? *options_.policy : policy::Policy::Default(); }

 private:
  IamService(AccountRepository& repo, std::unique_ptr<crypto::Aead> totp_aead, crypto::TokenHasher hasher,
             const Clock& clock, Random& random, ParentOf parent_of, IamOptions options, EventSink sink);

  struct Checked {
    Account account;
    bool mfa = false;
    bool used_recovery = false;
  };
  // The shared password + second-factor check with throttling. `need_mfa`
  // false skips the second factor (enrolment). On failure returns the uniform
  // answer and records the failure.
  StatusOr<Checked> CheckCredentials(const LoginRequest& request, bool need_mfa);
  StatusOr<bool> CheckSecondFactor(const Account& a, const crypto::SecretBytes& factor, bool& used_recovery);
  Status RecordFailure(const std::string& user_key, const std::string& addr_key, const std::optional<Account>& a,
                       const std::string& source, std::string_view why);
  std::string AttemptKey(std::string_view kind, std::string_view text) const;

  StatusOr<Account> LoadActor(const Principal& actor);
  bool IsAncestor(StructureId ancestor, StructureId s) const;  // strict
  bool Manages(const Account& actor, StructureId structure) const;
  Status RequireManager(const Account& actor, StructureId structure);
  Status CheckApprover(const Account& approver, const ChangeRequest& r);
  Status ApplyChange(const ChangeRequest& r, const Account& approver);
  StatusOr<ChangeRequestId> FileRequest(const Account& requester, const ChangeSpec& spec, std::string_view reason);
  Status Decide(const Principal& actor, ChangeRequestId id, std::string_view note, bool approve);
  Status ExpireIfDue(ChangeRequest& r);
  Status CheckTechnicalProfile(const TechnicalProfile& p) const;
  Principal MakePrincipal(const Account& a, bool mfa, int64_t session_id) const;
  StatusOr<std::vector<crypto::SecretBytes>> IssueRecoveryCodes(AccountId id);
  // Runs fn in one repository transaction (nested calls join the outer one)
  // and delivers the events it emitted only if it commits.
  Status Tx(const std::function<Status()>& fn);
  void Emit(IamEventType type, std::optional<AccountId> actor, std::optional<AccountId> subject,
            std::optional<ChangeRequestId> request, std::string detail, std::string source = {});

  AccountRepository& repo_;
  std::unique_ptr<crypto::Aead> totp_aead_;
  crypto::TokenHasher hasher_;
  const Clock& clock_;
  Random& random_;
  ParentOf parent_of_;
  IamOptions options_;
  EventSink sink_;
  int tx_depth_ = 0;
  std::vector<IamEvent> pending_events_;

  // Sessions answered from memory: Authenticate runs on every request, and
  // reading the session and its account was a quarter of a people read.
  // An entry is used only under the repository's ChangeStamp it was read
  // under, so a suspension, a revocation or an expiry written by this
  // process or any other takes effect on the next request, as before. Holds
  // token digests and account records, no secret; bounded (cleared when
  // full). Same thread-safety as the rest of the service: one caller at a time.
  struct CachedSession {
    Session session;
    Account account;
  };
  struct DigestHash {
    size_t operator()(const crypto::TokenDigest& d) const {
      size_t h;
      std::memcpy(&h, d.data(), sizeof h);  // a keyed hash: its bytes are uniform
      return h;
    }
  };
  static constexpr size_t kMaxCachedSessions = 16384;
  std::optional<AccountRepository::ChangeStamp> session_cache_stamp_;
  absl::flat_hash_map<crypto::TokenDigest, CachedSession, DigestHash> session_cache_;
};

}  // namespace cloison::iam
