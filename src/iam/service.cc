#include "iam/service.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "core/strings.h"
#include "crypto/keys.h"
#include "crypto/totp.h"
#include "iam/cidr.h"

namespace cloison::iam {

Status CheckSeparationOfDuties(const std::vector<Role>& roles, const policy::Policy& policy) {
  const Role* manager = nullptr;
  const Role* reader = nullptr;
  for (const Role& r : roles) {
    if (policy.role(r).manage_accounts) manager = &r;
    if (policy.role(r).read_people) reader = &r;
  }
  if (manager && reader)
    return InvalidArgument(StrCat("separation of duties: role ", RoleName(*manager), " manages accounts and role ",
                                  RoleName(*reader), " reads people; one account cannot hold both"));
  return OkStatus();
}


namespace {

constexpr std::string_view kInvalidCredentials = "invalid credentials";
constexpr std::string_view kThrottled = "too many failed attempts; try again later";

std::string LowerAscii(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

// Usernames: 3-64 characters among a-z 0-9 . _ - (after lower-casing).
StatusOr<std::string> NormalizeUsername(std::string_view u) {
  std::string s = LowerAscii(u);
  if (s.size() < 3 || s.size() > 64) return InvalidArgument("username must have 3 to 64 characters");
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return InvalidArgument("username may only contain letters, digits, '.', '_' and '-'");
  return s;
}

Status CheckScope(std::string_view s) {
  if (s.empty() || s.size() > 64) return InvalidArgument("a scope must have 1 to 64 characters");
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == ':' ||
          c == '_' || c == '.' || c == '-'))
      return InvalidArgument(StrCat("bad scope '", s, "' (allowed: a-z 0-9 : _ . -)"));
  return OkStatus();
}

Status NeedReason(std::string_view reason) {
  if (reason.find_first_not_of(" \t\n") == std::string_view::npos)
    return InvalidArgument("a reason is required for every account change");
  return OkStatus();
}

std::vector<uint8_t> TotpAd(AccountId id) {
  std::string s = StrCat("cloison-totp:", id.value());
  return {s.begin(), s.end()};
}

bool IsSixDigits(const crypto::SecretBytes& f) {
  if (f.size() != 6) return false;
  for (uint8_t c : f.span())
    if (c < '0' || c > '9') return false;
  return true;
}

bool IsCreation(ChangeKind k) {
  return k == ChangeKind::kCreateTechnicalAccount || k == ChangeKind::kCreatePrivilegedAccount;
}

}  // namespace

bool Principal::HasRole(Role r) const { return std::find(roles.begin(), roles.end(), r) != roles.end(); }

IamService::IamService(AccountRepository& repo, std::unique_ptr<crypto::Aead> totp_aead, crypto::TokenHasher hasher,
                       const Clock& clock, Random& random, ParentOf parent_of, IamOptions options, EventSink sink)
    : repo_(repo),
      totp_aead_(std::move(totp_aead)),
      hasher_(std::move(hasher)),
      clock_(clock),
      random_(random),
      parent_of_(std::move(parent_of)),
      options_(std::move(options)),
      sink_(std::move(sink)) {}

StatusOr<std::unique_ptr<IamService>> IamService::Create(AccountRepository& repo, const crypto::SecretBytes& master_key,
                                                         const Clock& clock, Random& random, ParentOf parent_of,
                                                         IamOptions options, EventSink sink) {
  if (master_key.size() != crypto::kMasterKeySize) return InvalidArgument("master key must be 32 bytes");
  if (!parent_of) return InvalidArgument("iam needs the structure tree (parent_of)");
  CLOISON_ASSIGN_OR_RETURN(auto aead, crypto::XChaCha20Poly1305::Create(crypto::DeriveSubkey(master_key, 3, "cloisiam")));
  return std::unique_ptr<IamService>(new IamService(repo, std::move(aead), crypto::TokenHasher::FromMaster(master_key),
                                                    clock, random, std::move(parent_of), std::move(options),
                                                    std::move(sink)));
}

// ---------------------------------------------------------------- events, tx

void IamService::Emit(IamEventType type, std::optional<AccountId> actor, std::optional<AccountId> subject,
                      std::optional<ChangeRequestId> request, std::string detail, std::string source) {
  IamEvent e{type, clock_.NowMicros(), actor, subject, request, std::move(source), std::move(detail)};
  if (tx_depth_ > 0) {
    pending_events_.push_back(std::move(e));
  } else if (sink_) {
    sink_(e);
  }
}

Status IamService::Tx(const std::function<Status()>& fn) {
  if (tx_depth_ > 0) return fn();
  ++tx_depth_;
  Status s = repo_.InTransaction(fn);
  --tx_depth_;
  std::vector<IamEvent> events;
  events.swap(pending_events_);
  if (s.ok() && sink_)
    for (const auto& e : events) sink_(e);
  return s;
}

// ---------------------------------------------------------------- setup

StatusOr<CreatedAccount> IamService::Bootstrap(const NewHumanAccount& spec) {
  CLOISON_ASSIGN_OR_RETURN(auto existing, repo_.ListAccounts());
  for (const auto& a : existing) {
    CLOISON_ASSIGN_OR_RETURN(auto hash, repo_.GetPasswordHash(a.id));
    if (hash) return FailedPrecondition("iam is already set up: accounts with credentials exist");
  }
  CLOISON_ASSIGN_OR_RETURN(std::string username, NormalizeUsername(spec.username));
  if (spec.roles.empty()) return InvalidArgument("an account needs at least one role");
  const UnixMicros now = clock_.NowMicros();
  Account a;
  a.kind = AccountKind::kHuman;
  a.structure = spec.structure;
  a.username = username;
  a.display_name = spec.display_name;
  a.roles = spec.roles;
  a.status = AccountStatus::kActive;
  a.created_at = a.updated_at = now;
  a.daily_read_quota = options_.default_quota;
  a.must_change_password = true;
  CreatedAccount out;
  out.secret = crypto::NewRandomPassword(random_);
  CLOISON_ASSIGN_OR_RETURN(std::string hash, crypto::HashPassword(out.secret, options_.password_cost));
  CLOISON_RETURN_IF_ERROR(Tx([&]() -> Status {
    CLOISON_ASSIGN_OR_RETURN(out.id, repo_.InsertAccount(a));
    CLOISON_RETURN_IF_ERROR(repo_.SetPasswordHash(out.id, hash, now));
    Emit(IamEventType::kAccountCreated, std::nullopt, out.id, std::nullopt, "bootstrap account");
    return OkStatus();
  }));
  out.status = AccountStatus::kActive;
  return out;
}

StatusOr<int64_t> IamService::ImportAgents(const std::vector<Agent>& agents) {
  const UnixMicros now = clock_.NowMicros();
  int64_t added = 0;
  CLOISON_RETURN_IF_ERROR(Tx([&]() -> Status {
    for (const Agent& g : agents) {
      if (!g.id.valid()) return InvalidArgument("agent without id");
      auto existing = repo_.GetAccount(g.id);
      if (existing.ok()) continue;
      if (!absl::IsNotFound(existing.status())) return existing.status();
      CLOISON_ASSIGN_OR_RETURN(std::string username, NormalizeUsername(g.username));
      CLOISON_ASSIGN_OR_RETURN(auto by_name, repo_.FindAccountByUsername(username));
      if (by_name) continue;
      Account a;
      a.id = g.id;
      a.kind = AccountKind::kHuman;
      a.structure = g.structure;
      a.username = username;
      a.display_name = StrCat(g.prenom, " ", g.nom);
      a.roles = g.roles;
      a.status = AccountStatus::kActive;
      a.created_at = a.updated_at = now;
      a.daily_read_quota = options_.default_quota;
      a.must_change_password = true;
      CLOISON_RETURN_IF_ERROR(repo_.InsertAccount(a).status());
      ++added;
    }
    return OkStatus();
  }));
  if (added > 0) Emit(IamEventType::kAccountCreated, std::nullopt, std::nullopt, std::nullopt,
                      StrCat("imported ", added, " agents from the records store"));
  return added;
}

StatusOr<crypto::SecretBytes> IamService::ResetCredentialsForSetup(AccountId id) {
  CLOISON_ASSIGN_OR_RETURN(Account a, repo_.GetAccount(id));
  if (a.status != AccountStatus::kActive)
    return FailedPrecondition(StrCat("account '", a.username, "' is ", AccountStatusName(a.status)));
  const UnixMicros now = clock_.NowMicros();
  if (a.kind == AccountKind::kTechnical) {
    crypto::SecretBytes key = crypto::NewToken(random_, "clk_");
    CLOISON_RETURN_IF_ERROR(Tx([&]() -> Status {
      CLOISON_RETURN_IF_ERROR(repo_.SetApiKey(id, hasher_.Hash("api_key", key), now));
      Emit(IamEventType::kAccountChanged, std::nullopt, id, std::nullopt, "API key reissued by setup");
      return OkStatus();
    }));
    return key;
  }
  crypto::SecretBytes password = crypto::NewRandomPassword(random_);
  CLOISON_ASSIGN_OR_RETURN(std::string hash, crypto::HashPassword(password, options_.password_cost));
  CLOISON_RETURN_IF_ERROR(Tx([&]() -> Status {
    CLOISON_RETURN_IF_ERROR(repo_.SetPasswordHash(id, hash, now));
    CLOISON_RETURN_IF_ERROR(repo_.DeleteMfa(id));
    CLOISON_RETURN_IF_ERROR(repo_.RevokeAccountSessions(id, now).status());
    a.must_change_password = false;
    a.updated_at = now;
    CLOISON_RETURN_IF_ERROR(repo_.UpdateAccount(a));
    Emit(IamEventType::kPasswordChanged, std::nullopt, id, std::nullopt, "password set by setup; sessions revoked");
    Emit(IamEventType::kMfaReset, std::nullopt, id, std::nullopt, "second factor removed by setup");
    return OkStatus();
  }));
  return password;
}

// ---------------------------------------------------------------- authentication

std::string IamService::AttemptKey(std::string_view kind, std::string_view text) const {
  auto d = hasher_.Hash(StrCat("attempt:", kind), crypto::SecretBytes::FromString(text));
  return crypto::ToHex(d);
}

Status IamService::RecordFailure(const std::string& user_key, const std::string& addr_key,
                                 const std::optional<Account>& a, const std::string& source, std::string_view why) {
  const UnixMicros now = clock_.NowMicros();
  bool locked_user = false, locked_addr = false;
  std::optional<AccountId> subject = a ? std::optional(a->id) : std::nullopt;
  CLOISON_RETURN_IF_ERROR(Tx([&]() -> Status {
    if (!user_key.empty()) {
      CLOISON_ASSIGN_OR_RETURN(auto u, repo_.GetAttempts(AttemptKey::kUsername, user_key));
      CLOISON_RETURN_IF_ERROR(
          repo_.PutAttempts(AttemptKey::kUsername, user_key, options_.lockout.per_account.AfterFailure(u, now, locked_user)));
    }
    CLOISON_ASSIGN_OR_RETURN(auto r, repo_.GetAttempts(AttemptKey::kAddress, addr_key));
    CLOISON_RETURN_IF_ERROR(
        repo_.PutAttempts(AttemptKey::kAddress, addr_key, options_.lockout.per_address.AfterFailure(r, now, locked_addr)));
    Emit(IamEventType::kLoginFailed, std::nullopt, subject, std::nullopt,
         a ? std::string(why) : std::string("unknown username"), source);
    if (locked_user)
      Emit(IamEventType::kLockout, std::nullopt, subject, std::nullopt,
           a ? "username locked" : "unknown username locked", source);
    if (locked_addr) Emit(IamEventType::kLockout, std::nullopt, std::nullopt, std::nullopt, "source address locked", source);
    return OkStatus();
  }));
  return OkStatus();
}

StatusOr<bool> IamService::CheckSecondFactor(const Account& a, const crypto::SecretBytes& factor, bool& used_recovery) {
  used_recovery = false;
  const UnixMicros now = clock_.NowMicros();
  if (IsSixDigits(factor)) {
    CLOISON_ASSIGN_OR_RETURN(auto totp, repo_.GetTotp(a.id));
    if (!totp || !totp->confirmed) return false;
    auto plain = totp_aead_->Decrypt(totp->encrypted_secret, TotpAd(a.id));
    if (!plain.ok()) return Corruption(StrCat("TOTP secret of account ", a.id.value(), " does not decrypt"));
    crypto::SecretBytes secret = crypto::SecretBytes::FromString(*plain);
    std::fill(plain->begin(), plain->end(), '\0');
    auto step = crypto::TotpMatchStep(secret, now / 1'000'000, options_.totp_window,
                                      std::string_view(reinterpret_cast<const char*>(factor.data()), factor.size()));
    if (!step) return false;
    // Refuses the replay of an accepted code (and of any older step).
    return repo_.AdvanceTotpStep(a.id, *step);
  }
  crypto::SecretBytes code = crypto::NormalizeRecoveryCode(factor);
  if (code.size() != 10) return false;
  CLOISON_ASSIGN_OR_RETURN(bool ok, repo_.ConsumeRecoveryCode(a.id, hasher_.Hash("recovery", code), now));
  used_recovery = ok;
  return ok;
}

StatusOr<IamService::Checked> IamService::CheckCredentials(const LoginRequest& req, bool need_mfa) {
  const UnixMicros now = clock_.NowMicros();
  const std::string lower = LowerAscii(req.username);
  const std::string user_key = AttemptKey("username", lower);
  const std::string addr_key = AttemptKey("address", req.source_address);
  CLOISON_ASSIGN_OR_RETURN(auto u, repo_.GetAttempts(AttemptKey::kUsername, user_key));
  CLOISON_ASSIGN_OR_RETURN(auto r, repo_.GetAttempts(AttemptKey::kAddress, addr_key));
  const UnixMicros blocked = std::max(options_.lockout.per_account.BlockedUntil(u, now),
                                      options_.lockout.per_address.BlockedUntil(r, now));
  if (now < blocked) {
    Emit(IamEventType::kLoginThrottled, std::nullopt, std::nullopt, std::nullopt, "attempt refused by throttling",
         req.source_address);
    return Unauthenticated(kThrottled);
  }

  // Exactly one Argon2id verification whatever the username: the dummy hash
  // when there is no (human, password-holding) account.
  CLOISON_ASSIGN_OR_RETURN(auto found, repo_.FindAccountByUsername(lower));
  std::optional<std::string> hash;
  if (found && found->kind == AccountKind::kHuman) {
    CLOISON_ASSIGN_OR_RETURN(hash, repo_.GetPasswordHash(found->id));
  }
  const std::string& stored = hash ? *hash : crypto::DummyPasswordHash(options_.password_cost);
  const bool password_ok = crypto::VerifyPassword(stored, req.password) && hash.has_value();
  if (!password_ok) {
    CLOISON_RETURN_IF_ERROR(RecordFailure(user_key, addr_key, hash ? found : std::nullopt, req.source_address,
                                          "wrong password"));
    return Unauthenticated(kInvalidCredentials);
  }
  Account a = *found;
  if (a.status != AccountStatus::kActive) {
    Emit(IamEventType::kLoginFailed, std::nullopt, a.id, std::nullopt,
         StrCat("account ", AccountStatusName(a.status)), req.source_address);
    return Unauthenticated("account not active");
  }
  Checked out{a, false, false};
  if (need_mfa) {
    CLOISON_ASSIGN_OR_RETURN(auto totp, repo_.GetTotp(a.id));
    const bool enrolled = totp && totp->confirmed;
    if (a.RequiresMfa() || enrolled) {
      if (!enrolled) return FailedPrecondition("second factor enrolment required (privileged role): enrol TOTP first");
      if (req.second_factor.empty()) return Unauthenticated("second factor required");
      bool used_recovery = false;
      CLOISON_ASSIGN_OR_RETURN(bool ok, CheckSecondFactor(a, req.second_factor, used_recovery));
      if (!ok) {
        Emit(IamEventType::kMfaFailed, std::nullopt, a.id, std::nullopt, "wrong, replayed or expired code",
             req.source_address);
        CLOISON_RETURN_IF_ERROR(RecordFailure(user_key, addr_key, a, req.source_address, "wrong second factor"));
        return Unauthenticated(kInvalidCredentials);
      }
      if (used_recovery)
        Emit(IamEventType::kRecoveryCodeUsed, a.id, a.id, std::nullopt, "recovery code used", req.source_address);
      out.mfa = true;
      out.used_recovery = used_recovery;
    }
  }
  CLOISON_RETURN_IF_ERROR(repo_.ClearAttempts(AttemptKey::kUsername, user_key));
  if (crypto::PasswordNeedsRehash(*hash, options_.password_cost)) {
    CLOISON_ASSIGN_OR_RETURN(std::string rehashed, crypto::HashPassword(req.password, options_.password_cost));
    CLOISON_RETURN_IF_ERROR(repo_.SetPasswordHash(a.id, rehashed, now));
  }
  return out;
}

Principal IamService::MakePrincipal(const Account& a, bool mfa, int64_t session_id) const {
  Principal p;
  p.id = a.id;
  p.kind = a.kind;
  p.structure = a.structure;
  p.roles = a.roles;
  p.mfa = mfa;
  p.session_id = session_id;
  if (a.kind == AccountKind::kTechnical) {
    p.scopes = a.technical.scopes;
    p.purpose = a.technical.purpose;
  }
  p.must_change_password = a.kind == AccountKind::kHuman && a.must_change_password;
  p.in_probation = a.InProbation(clock_.NowMicros());
  p.daily_read_quota = p.in_probation ? std::min(a.daily_read_quota, options_.probation_quota) : a.daily_read_quota;
  return p;
}

StatusOr<LoginResult> IamService::Login(const LoginRequest& req) {
  CLOISON_ASSIGN_OR_RETURN(Checked c, CheckCredentials(req, /*need_mfa=*/true));
  const UnixMicros now = clock_.NowMicros();
  LoginResult out;
  out.session_token = crypto::NewToken(random_, "cls_");
  Session s;
  s.account = c.account.id;
  s.token_digest = hasher_.Hash("session", out.session_token);
  s.created_at = s.last_seen_at = now;
  s.source_address = req.source_address;
  s.mfa = c.mfa;
  CLOISON_ASSIGN_OR_RETURN(s.id, repo_.InsertSession(s));
  out.principal = MakePrincipal(c.account, c.mfa, s.id);
  out.password_change_required = c.account.must_change_password;
  out.used_recovery_code = c.used_recovery;
  CLOISON_ASSIGN_OR_RETURN(out.recovery_codes_left, repo_.CountUnusedRecoveryCodes(c.account.id));
  Emit(IamEventType::kLoginSucceeded, c.account.id, c.account.id, std::nullopt,
       StrCat("session ", s.id, c.mfa ? " (with second factor)" : ""), req.source_address);
  return out;
}

StatusOr<Principal> IamService::Authenticate(const crypto::SecretBytes& token) {
  const UnixMicros now = clock_.NowMicros();
  const crypto::TokenDigest digest = hasher_.Hash("session", token);
  CLOISON_ASSIGN_OR_RETURN(AccountRepository::ChangeStamp stamp, repo_.CurrentChangeStamp());
  if (session_cache_stamp_ != stamp) {
    session_cache_.clear();
    session_cache_stamp_ = stamp;
  }
  auto cached = session_cache_.find(digest);
  if (cached == session_cache_.end()) {
    CLOISON_ASSIGN_OR_RETURN(auto found, repo_.FindSessionAndAccountByToken(digest));
    if (!found) return Unauthenticated("invalid or expired session");
    if (session_cache_.size() >= kMaxCachedSessions) session_cache_.clear();
    cached = session_cache_.emplace(digest, CachedSession{std::move(found->session), std::move(found->account)}).first;
  }
  // The writes below change the stamp: the next call, not this one, empties
  // the cache, so these references stay valid here.
  const Session& s = cached->second.session;
  if (!s.Live(options_.sessions, now)) {
    if (s.revoked_at == 0) CLOISON_RETURN_IF_ERROR(repo_.RevokeSession(s.id, now));
    return Unauthenticated("invalid or expired session");
  }
  const Account& a = cached->second.account;
  if (a.status != AccountStatus::kActive) return Unauthenticated("invalid or expired session");
  // The idle timer is refreshed in the database at most every
  // kTouchGranularity: a write (and a disk sync) per request would serialise
  // every read behind it. A session can thus expire up to that much earlier
  // than its idle timeout says, never later.
  constexpr UnixMicros kTouchGranularity = 30'000'000;
  if (now - s.last_seen_at >= kTouchGranularity || now < s.last_seen_at)
    CLOISON_RETURN_IF_ERROR(repo_.TouchSession(s.id, now));
  return MakePrincipal(a, s.mfa, s.id);
}

StatusOr<Principal> IamService::StepUp(const crypto::SecretBytes& token, const crypto::SecretBytes& code,
                                       std::string_view source) {
  const UnixMicros now = clock_.NowMicros();
  CLOISON_ASSIGN_OR_RETURN(auto s, repo_.FindSessionByToken(hasher_.Hash("session", token)));
  if (!s || !s->Live(options_.sessions, now)) return Unauthenticated("invalid or expired session");
  CLOISON_ASSIGN_OR_RETURN(Account a, repo_.GetAccount(s->account));
  if (a.status != AccountStatus::kActive) return Unauthenticated("invalid or expired session");
  if (a.kind != AccountKind::kHuman) return PermissionDenied("technical accounts have no second factor");
  CLOISON_ASSIGN_OR_RETURN(auto totp, repo_.GetTotp(a.id));
  if (!totp || !totp->confirmed)
    return FailedPrecondition("this account has no TOTP enrolled: there is no second factor to step up with");
  // The same counters as a login: step-up must not be a way around them.
  const std::string user_key = AttemptKey("username", a.username);
  const std::string addr_key = AttemptKey("address", source);
  CLOISON_ASSIGN_OR_RETURN(auto u, repo_.GetAttempts(AttemptKey::kUsername, user_key));
  CLOISON_ASSIGN_OR_RETURN(auto r, repo_.GetAttempts(AttemptKey::kAddress, addr_key));
  if (now < std::max(options_.lockout.per_account.BlockedUntil(u, now), options_.lockout.per_address.BlockedUntil(r, now))) {
    Emit(IamEventType::kLoginThrottled, a.id, a.id, std::nullopt, "step-up refused by throttling", std::string(source));
    return Unauthenticated(kThrottled);
  }
  bool ok = false;
  if (IsSixDigits(code)) {
    bool used_recovery = false;
    CLOISON_ASSIGN_OR_RETURN(ok, CheckSecondFactor(a, code, used_recovery));
  }
  if (!ok) {
    Emit(IamEventType::kMfaFailed, a.id, a.id, std::nullopt, "step-up: wrong, replayed or expired code",
         std::string(source));
    CLOISON_RETURN_IF_ERROR(RecordFailure(user_key, addr_key, a, std::string(source), "wrong step-up code"));
    return Unauthenticated("invalid code");
  }
  CLOISON_RETURN_IF_ERROR(repo_.TouchSession(s->id, now));
  Emit(IamEventType::kStepUp, a.id, a.id, std::nullopt, StrCat("session ", s->id), std::string(source));
  return MakePrincipal(a, true, s->id);
}

Status IamService::Logout(const crypto::SecretBytes& token) {
  CLOISON_ASSIGN_OR_RETURN(auto s, repo_.FindSessionByToken(hasher_.Hash("session", token)));
  if (!s) return OkStatus();
  CLOISON_RETURN_IF_ERROR(repo_.RevokeSession(s->id, clock_.NowMicros()));
  Emit(IamEventType::kSessionRevoked, s->account, s->account, std::nullopt, StrCat("logout of session ", s->id));
  return OkStatus();
}

StatusOr<Principal> IamService::AuthenticateApiKey(const crypto::SecretBytes& key, std::string_view source) {
  const UnixMicros now = clock_.NowMicros();
  const std::string addr_key = AttemptKey("address", source);
  CLOISON_ASSIGN_OR_RETURN(auto r, repo_.GetAttempts(AttemptKey::kAddress, addr_key));
  if (now < options_.lockout.per_address.BlockedUntil(r, now)) return Unauthenticated(kThrottled);
  CLOISON_ASSIGN_OR_RETURN(auto id, repo_.FindAccountByApiKey(hasher_.Hash("api_key", key)));
  std::optional<Account> a;
  if (id) {
    CLOISON_ASSIGN_OR_RETURN(a, repo_.GetAccount(*id));
  }
  if (!a || a->kind != AccountKind::kTechnical) {
    CLOISON_RETURN_IF_ERROR(RecordFailure("", addr_key, std::nullopt, std::string(source), "unknown API key"));
    Emit(IamEventType::kApiKeyRefused, std::nullopt, std::nullopt, std::nullopt, "unknown API key", std::string(source));
    return Unauthenticated("invalid API key");
  }
  auto refuse = [&](std::string why, Status st) -> Status {
    Emit(IamEventType::kApiKeyRefused, a->id, a->id, std::nullopt, std::move(why), std::string(source));
    return st;
  };
  if (a->status != AccountStatus::kActive)
    return refuse(StrCat("account ", AccountStatusName(a->status)), Unauthenticated("account not active"));
  if (now >= a->technical.expires_at) return refuse("account expired", Unauthenticated("account expired"));
  bool allowed = false;
  for (const auto& n : a->technical.networks) {
    auto c = Cidr::Parse(n);
    if (c.ok() && c->Contains(source)) allowed = true;
  }
  if (!allowed)
    return refuse("source address outside the allowed networks",
                  PermissionDenied("source address not allowed for this account"));
  Emit(IamEventType::kApiKeyAccepted, a->id, a->id, std::nullopt, "", std::string(source));
  return MakePrincipal(*a, false, 0);
}

// ---------------------------------------------------------------- MFA, password

StatusOr<TotpEnrollment> IamService::BeginTotpEnrollment(const LoginRequest& req) {
  CLOISON_ASSIGN_OR_RETURN(Checked c, CheckCredentials(req, /*need_mfa=*/false));
  CLOISON_ASSIGN_OR_RETURN(auto existing, repo_.GetTotp(c.account.id));
  if (existing && existing->confirmed)
    return FailedPrecondition("a second factor is already enrolled; resetting it needs an approved request");
  crypto::SecretBytes secret = crypto::NewTotpSecret(random_);
  TotpCredential cred{totp_aead_->Encrypt(secret.span(), TotpAd(c.account.id)), false, -1};
  CLOISON_RETURN_IF_ERROR(repo_.SetTotp(c.account.id, cred, clock_.NowMicros()));
  Emit(IamEventType::kMfaEnrollmentStarted, c.account.id, c.account.id, std::nullopt, "TOTP", req.source_address);
  return TotpEnrollment{crypto::TotpSecretBase32(secret),
                        crypto::TotpProvisioningUri(secret, options_.totp_issuer, c.account.username)};
}

StatusOr<std::vector<crypto::SecretBytes>> IamService::IssueRecoveryCodes(AccountId id) {
  std::vector<crypto::SecretBytes> codes;
  std::vector<crypto::TokenDigest> digests;
  for (int i = 0; i < options_.recovery_codes; ++i) {
    codes.push_back(crypto::NewRecoveryCode(random_));
    digests.push_back(hasher_.Hash("recovery", crypto::NormalizeRecoveryCode(codes.back())));
  }
  CLOISON_RETURN_IF_ERROR(repo_.ReplaceRecoveryCodes(id, digests, clock_.NowMicros()));
  return codes;
}

StatusOr<std::vector<crypto::SecretBytes>> IamService::ConfirmTotpEnrollment(const LoginRequest& req) {
  CLOISON_ASSIGN_OR_RETURN(Checked c, CheckCredentials(req, /*need_mfa=*/false));
  const AccountId id = c.account.id;
  CLOISON_ASSIGN_OR_RETURN(auto totp, repo_.GetTotp(id));
  if (!totp) return FailedPrecondition("no TOTP enrolment in progress");
  if (totp->confirmed) return FailedPrecondition("a second factor is already enrolled");
  auto plain = totp_aead_->Decrypt(totp->encrypted_secret, TotpAd(id));
  if (!plain.ok()) return Corruption(StrCat("TOTP secret of account ", id.value(), " does not decrypt"));
  crypto::SecretBytes secret = crypto::SecretBytes::FromString(*plain);
  std::fill(plain->begin(), plain->end(), '\0');
  std::optional<int64_t> step;
  if (IsSixDigits(req.second_factor))
    step = crypto::TotpMatchStep(secret, clock_.NowSeconds(), options_.totp_window,
                                 std::string_view(reinterpret_cast<const char*>(req.second_factor.data()), 6));
  if (!step) {
    CLOISON_RETURN_IF_ERROR(RecordFailure(AttemptKey("username", LowerAscii(req.username)),
                                          AttemptKey("address", req.source_address), c.account, req.source_address,
                                          "wrong enrolment code"));
    return Unauthenticated(kInvalidCredentials);
  }
  std::vector<crypto::SecretBytes> codes;
  CLOISON_RETURN_IF_ERROR(Tx([&]() -> Status {
    totp->confirmed = true;
    totp->last_step = *step;
    CLOISON_RETURN_IF_ERROR(repo_.SetTotp(id, *totp, clock_.NowMicros()));
    CLOISON_ASSIGN_OR_RETURN(codes, IssueRecoveryCodes(id));
    Emit(IamEventType::kMfaEnrolled, id, id, std::nullopt, "TOTP", req.source_address);
    return OkStatus();
  }));
  return codes;
}

Status IamService::ChangePassword(const LoginRequest& req, const crypto::SecretBytes& new_password) {
  CLOISON_ASSIGN_OR_RETURN(Checked c, CheckCredentials(req, /*need_mfa=*/true));
  CLOISON_RETURN_IF_ERROR(options_.password_policy.Check(new_password, c.account.username));
  if (new_password == req.password) return InvalidArgument("the new password must differ from the current one");
  CLOISON_ASSIGN_OR_RETURN(std::string hash, crypto::HashPassword(new_password, options_.password_cost));
  const UnixMicros now = clock_.NowMicros();
  return Tx([&]() -> Status {
    CLOISON_RETURN_IF_ERROR(repo_.SetPasswordHash(c.account.id, hash, now));
    Account a = c.account;
    a.must_change_password = false;
    a.updated_at = now;
    CLOISON_RETURN_IF_ERROR(repo_.UpdateAccount(a));
    // Other sessions may belong to whoever knew the old password.
    CLOISON_RETURN_IF_ERROR(repo_.RevokeAccountSessions(a.id, now).status());
    Emit(IamEventType::kPasswordChanged, a.id, a.id, std::nullopt, "sessions revoked", req.source_address);
    return OkStatus();
  });
}

// ---------------------------------------------------------------- authority

StatusOr<Account> IamService::LoadActor(const Principal& actor) {
  auto a = repo_.GetAccount(actor.id);
  if (!a.ok()) {
    if (absl::IsNotFound(a.status())) return PermissionDenied("unknown actor");
    return a.status();
  }
  if (a->kind != AccountKind::kHuman) return PermissionDenied("technical accounts cannot administer accounts");
  if (a->status != AccountStatus::kActive) return PermissionDenied("actor account is not active");
  if (a->RequiresMfa() && !actor.mfa) return PermissionDenied("privileged acts need a session with a second factor");
  return *a;
}

bool IamService::IsAncestor(StructureId ancestor, StructureId s) const {
  auto p = parent_of_(s);
  for (int depth = 0; p && depth < 64; ++depth) {
    if (*p == ancestor) return true;
    p = parent_of_(*p);
  }
  return false;
}

bool IamService::Manages(const Account& actor, StructureId structure) const {
  if (actor.HasRole(Role::kAccessManager) && actor.structure == structure) return true;
  if (actor.HasRole(Role::kSecurityOfficer) && (actor.structure == structure || IsAncestor(actor.structure, structure)))
    return true;
  return false;
}

Status IamService::RequireManager(const Account& actor, StructureId structure) {
  if (Manages(actor, structure)) return OkStatus();
  return PermissionDenied(StrCat("account ", actor.id.value(), " does not manage accounts of structure ",
                                 structure.value(), " (access manager of that structure or security officer above)"));
}

Status IamService::CheckTechnicalProfile(const TechnicalProfile& p) const {
  if (p.purpose.empty()) return InvalidArgument("a technical account needs an integration purpose");
  if (p.scopes.empty()) return InvalidArgument("a technical account needs explicit scopes");
  for (const auto& s : p.scopes) CLOISON_RETURN_IF_ERROR(CheckScope(s));
  if (p.networks.empty()) return InvalidArgument("a technical account needs allowed source networks (CIDR)");
  for (const auto& n : p.networks) CLOISON_RETURN_IF_ERROR(Cidr::Parse(n).status());
  const UnixMicros now = clock_.NowMicros();
  if (p.expires_at <= now) return InvalidArgument("a technical account needs an expiry in the future");
  if (p.expires_at > now + options_.max_technical_lifetime_us)
    return InvalidArgument("a technical account expires at most 90 days from now");
  return OkStatus();
}

namespace {
std::vector<std::string> CanonicalNetworks(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& n : in) {
    auto c = Cidr::Parse(n);
    out.push_back(c.ok() ? c->ToString() : n);
  }
  return out;
}
}  // namespace

// ---------------------------------------------------------------- accounts

StatusOr<std::vector<Account>> IamService::ListAccounts(const Principal& actor) {
  CLOISON_ASSIGN_OR_RETURN(Account me, LoadActor(actor));
  CLOISON_ASSIGN_OR_RETURN(auto all, repo_.ListAccounts());
  std::vector<Account> out;
  const bool overseer = HasPrivilegedRole(me.roles);
  for (auto& a : all)
    if (a.id == me.id || (overseer && (a.structure == me.structure || IsAncestor(me.structure, a.structure))))
      out.push_back(std::move(a));
  return out;
}

StatusOr<Account> IamService::GetAccount(const Principal& actor, AccountId id) {
  CLOISON_ASSIGN_OR_RETURN(Account me, LoadActor(actor));
  CLOISON_ASSIGN_OR_RETURN(Account a, repo_.GetAccount(id));
  if (a.id == me.id ||
      (HasPrivilegedRole(me.roles) && (a.structure == me.structure || IsAncestor(me.structure, a.structure))))
    return a;
  return PermissionDenied(StrCat("account ", id.value(), " is outside the actor's structures"));
}

StatusOr<Account> IamService::GetAccountByUsername(const Principal& actor, std::string_view username) {
  CLOISON_ASSIGN_OR_RETURN(auto a, repo_.FindAccountByUsername(LowerAscii(username)));
  if (!a) return NotFound(StrCat("no account named '", username, "'"));
  return GetAccount(actor, a->id);
}

StatusOr<std::vector<Account>> IamService::AccountsCreatedBy(const Principal& actor, AccountId creator) {
  CLOISON_ASSIGN_OR_RETURN(auto visible, ListAccounts(actor));
  std::vector<Account> out;
  for (auto& a : visible)
    if (a.created_by == creator) out.push_back(std::move(a));
  return out;
}

StatusOr<ChangeRequestId> IamService::FileRequest(const Account& requester, const ChangeSpec& spec,
                                                  std::string_view reason) {
  CLOISON_RETURN_IF_ERROR(NeedReason(reason));
  const UnixMicros now = clock_.NowMicros();
  ChangeRequest r;
  r.spec = spec;
  r.requester = requester.id;
  r.reason = std::string(reason);
  r.created_at = now;
  r.expires_at = now + options_.request_ttl_us;
  r.status = RequestStatus::kPending;
  ChangeRequestId id = 0;
  CLOISON_RETURN_IF_ERROR(Tx([&]() -> Status {
    CLOISON_ASSIGN_OR_RETURN(id, repo_.InsertRequest(r));
    CLOISON_RETURN_IF_ERROR(repo_.AppendRequestEvent({id, now, requester.id, "created", spec.Describe()}));
    Emit(IamEventType::kRequestCreated, requester.id, spec.target.valid() ? std::optional(spec.target) : std::nullopt,
         id, spec.Describe());
    return OkStatus();
  }));
  return id;
}

StatusOr<CreatedAccount> IamService::CreateHumanAccount(const Principal& actor, const NewHumanAccount& spec,
                                                        std::string_view reason) {
  CLOISON_ASSIGN_OR_RETURN(Account me, LoadActor(actor));
  CLOISON_RETURN_IF_ERROR(RequireManager(me, spec.structure));
  CLOISON_RETURN_IF_ERROR(NeedReason(reason));
  CLOISON_ASSIGN_OR_RETURN(std::string username, NormalizeUsername(spec.username));
  std::vector<Role> roles;
  for (Role r : spec.roles)
    if (std::find(roles.begin(), roles.end(), r) == roles.end()) roles.push_back(r);
  if (roles.empty()) return InvalidArgument("an account needs at least one role");
  CLOISON_RETURN_IF_ERROR(CheckSeparationOfDuties(roles, Policy()));
  const bool plain = roles.size() == 1 && roles[0] == Role::kCounsellor;
  const UnixMicros now = clock_.NowMicros();

  Account a;
  a.kind = AccountKind::kHuman;
  a.structure = spec.structure;
  a.username = username;
  a.display_name = spec.display_name;
  a.roles = roles;
  a.status = plain ? AccountStatus::kActive : AccountStatus::kPending;
  a.created_at = a.updated_at = now;
  a.probation_until = plain ? now + options_.probation_us : 0;  // privileged: from activation
  a.created_by = me.id;
  a.last_modified_by = me.id;
  a.daily_read_quota = options_.default_quota;
  a.must_change_password = true;

  CreatedAccount out;
  out.secret = crypto::NewRandomPassword(random_);
  CLOISON_ASSIGN_OR_RETURN(std::string hash, crypto::HashPassword(out.secret, options_.password_cost));
  CLOISON_RETURN_IF_ERROR(Tx([&]() -> Status {
    CLOISON_ASSIGN_OR_RETURN(out.id, repo_.InsertAccount(a));
    CLOISON_RETURN_IF_ERROR(repo_.SetPasswordHash(out.id, hash, now));
    Emit(IamEventType::kAccountCreated, me.id, out.id, std::nullopt,
         plain ? StrCat("counsellor '", username, "' in probation") : StrCat("'", username, "' pending approval"));
    if (!plain) {
      ChangeSpec cs;
      cs.kind = ChangeKind::kCreatePrivilegedAccount;
      cs.target = out.id;
      cs.structure = spec.structure;
      cs.username = username;
      cs.roles = roles;
      CLOISON_ASSIGN_OR_RETURN(ChangeRequestId rid, FileRequest(me, cs, reason));
      out.request = rid;
    }
    return OkStatus();
  }));
  out.status = a.status;
  return out;
}

StatusOr<CreatedAccount> IamService::RequestTechnicalAccount(const Principal& actor, const NewTechnicalAccount& spec,
                                                             std::string_view reason) {
  CLOISON_ASSIGN_OR_RETURN(Account me, LoadActor(actor));
  CLOISON_RETURN_IF_ERROR(RequireManager(me, spec.structure));
  CLOISON_RETURN_IF_ERROR(NeedReason(reason));
  CLOISON_ASSIGN_OR_RETURN(std::string username, NormalizeUsername(spec.username));
  TechnicalProfile p{spec.purpose, spec.scopes, CanonicalNetworks(spec.networks), spec.expires_at};
  CLOISON_RETURN_IF_ERROR(CheckTechnicalProfile(p));
  if (spec.daily_quota < 0) return InvalidArgument("quota must be >= 0");
  const UnixMicros now = clock_.NowMicros();
  Account a;
  a.kind = AccountKind::kTechnical;
  a.structure = spec.structure;
  a.username = username;
  a.display_name = spec.display_name.empty() ? username : spec.display_name;
  a.status = AccountStatus::kPending;
  a.created_at = a.updated_at = now;
  a.created_by = me.id;
  a.last_modified_by = me.id;
  a.daily_read_quota = spec.daily_quota;
  a.technical = p;

  CreatedAccount out;
  out.secret = crypto::NewToken(random_, "clk_");
  CLOISON_RETURN_IF_ERROR(Tx([&]() -> Status {
    CLOISON_ASSIGN_OR_RETURN(out.id, repo_.InsertAccount(a));
    CLOISON_RETURN_IF_ERROR(repo_.SetApiKey(out.id, hasher_.Hash("api_key", out.secret), now));
    Emit(IamEventType::kAccountCreated, me.id, out.id, std::nullopt,
         StrCat("technical '", username, "' pending approval"));
    ChangeSpec cs;
    cs.kind = ChangeKind::kCreateTechnicalAccount;
    cs.target = out.id;
    cs.structure = spec.structure;
    cs.username = username;
    cs.purpose = p.purpose;
    cs.scopes = p.scopes;
    cs.networks = p.networks;
    cs.expires_at = p.expires_at;
    cs.quota = spec.daily_quota;
    CLOISON_ASSIGN_OR_RETURN(ChangeRequestId rid, FileRequest(me, cs, reason));
    out.request = rid;
    return OkStatus();
  }));
  out.status = AccountStatus::kPending;
  return out;
}

StatusOr<ChangeRequestId> IamService::RequestRoleGrant(const Principal& actor, AccountId account, Role role,
                                                       std::string_view reason) {
  CLOISON_ASSIGN_OR_RETURN(Account me, LoadActor(actor));
  CLOISON_ASSIGN_OR_RETURN(Account t, repo_.GetAccount(account));
  CLOISON_RETURN_IF_ERROR(RequireManager(me, t.structure));
  if (t.kind != AccountKind::kHuman) return InvalidArgument("roles are for human accounts; technical accounts have scopes");
  if (t.HasRole(role)) return AlreadyExists(StrCat("account ", account.value(), " already has role ", RoleName(role)));
  {
    std::vector<Role> after = t.roles;
    after.push_back(role);
    CLOISON_RETURN_IF_ERROR(CheckSeparationOfDuties(after, Policy()));
  }
  ChangeSpec cs;
  cs.kind = ChangeKind::kGrantRole;
  cs.target = t.id;
  cs.structure = t.structure;
  cs.username = t.username;
  cs.roles = {role};
  return FileRequest(me, cs, reason);
}

StatusOr<std::optional<ChangeRequestId>> IamService::ChangeTechnicalAccess(const Principal& actor, AccountId account,
                                                                           const std::vector<std::string>& scopes,
                                                                           const std::vector<std::string>& networks,
                                                                           std::string_view reason) {
  CLOISON_ASSIGN_OR_RETURN(Account me, LoadActor(actor));
  CLOISON_ASSIGN_OR_RETURN(Account t, repo_.GetAccount(account));
  CLOISON_RETURN_IF_ERROR(RequireManager(me, t.structure));
  CLOISON_RETURN_IF_ERROR(NeedReason(reason));
  if (t.kind != AccountKind::kTechnical) return InvalidArgument("scopes and networks are for technical accounts");
  TechnicalProfile p = t.technical;
  p.scopes = scopes;
  p.networks = CanonicalNetworks(networks);
  if (p.scopes.empty() || p.networks.empty()) return InvalidArgument("scopes and networks must not be empty");
  for (const auto& s : p.scopes) CLOISON_RETURN_IF_ERROR(CheckScope(s));
  bool narrowing = true;
  for (const auto& s : p.scopes)
    if (std::find(t.technical.scopes.begin(), t.technical.scopes.end(), s) == t.technical.scopes.end()) narrowing = false;
  for (const auto& n : p.networks) {
    CLOISON_ASSIGN_OR_RETURN(Cidr inner, Cidr::Parse(n));
    bool covered = false;
    for (const auto& o : t.technical.networks) {
      auto outer = Cidr::Parse(o);
      if (outer.ok() && outer->Covers(inner)) covered = true;
    }
    if (!covered) narrowing = false;
  }
  if (narrowing) {
    const UnixMicros now = clock_.NowMicros();
    t.technical.scopes = p.scopes;
    t.technical.networks = p.networks;
    t.last_modified_by = me.id;
    t.updated_at = now;
    CLOISON_RETURN_IF_ERROR(Tx([&]() -> Status {
      CLOISON_RETURN_IF_ERROR(repo_.UpdateAccount(t));
      Emit(IamEventType::kAccountChanged, me.id, t.id, std::nullopt, "technical access narrowed");
      return OkStatus();
    }));
    return std::optional<ChangeRequestId>();
  }
  ChangeSpec cs;
  cs.kind = ChangeKind::kWidenTechnicalAccess;
  cs.target = t.id;
  cs.structure = t.structure;
  cs.username = t.username;
  cs.scopes = p.scopes;
  cs.networks = p.networks;
  CLOISON_ASSIGN_OR_RETURN(ChangeRequestId id, FileRequest(me, cs, reason));
  return std::optional<ChangeRequestId>(id);
}

StatusOr<std::optional<ChangeRequestId>> IamService::ChangeQuota(const Principal& actor, AccountId account,
                                                                 int64_t quota, std::string_view reason) {
  CLOISON_ASSIGN_OR_RETURN(Account me, LoadActor(actor));
  CLOISON_ASSIGN_OR_RETURN(Account t, repo_.GetAccount(account));
  CLOISON_RETURN_IF_ERROR(RequireManager(me, t.structure));
  CLOISON_RETURN_IF_ERROR(NeedReason(reason));
  if (quota < 0) return InvalidArgument("quota must be >= 0");
  if (quota <= t.daily_read_quota) {
    t.daily_read_quota = quota;
    t.last_modified_by = me.id;
    t.updated_at = clock_.NowMicros();
    CLOISON_RETURN_IF_ERROR(Tx([&]() -> Status {
      CLOISON_RETURN_IF_ERROR(repo_.UpdateAccount(t));
      Emit(IamEventType::kAccountChanged, me.id, t.id, std::nullopt, StrCat("quota lowered to ", quota));
      return OkStatus();
    }));
    return std::optional<ChangeRequestId>();
  }
  ChangeSpec cs;
  cs.kind = ChangeKind::kRaiseQuota;
  cs.target = t.id;
  cs.structure = t.structure;
  cs.username = t.username;
  cs.quota = quota;
  CLOISON_ASSIGN_OR_RETURN(ChangeRequestId id, FileRequest(me, cs, reason));
  return std::optional<ChangeRequestId>(id);
}

StatusOr<ChangeRequestId> IamService::RequestReinstate(const Principal& actor, AccountId account,
                                                       std::optional<UnixMicros> new_expiry, std::string_view reason) {
  CLOISON_ASSIGN_OR_RETURN(Account me, LoadActor(actor));
  CLOISON_ASSIGN_OR_RETURN(Account t, repo_.GetAccount(account));
  CLOISON_RETURN_IF_ERROR(RequireManager(me, t.structure));
  const UnixMicros now = clock_.NowMicros();
  const bool expired_technical = t.kind == AccountKind::kTechnical && t.status == AccountStatus::kActive &&
                                 now >= t.technical.expires_at;
  if (t.status != AccountStatus::kSuspended && !expired_technical)
    return FailedPrecondition(StrCat("account ", account.value(), " is ", AccountStatusName(t.status),
                                     ": only suspended accounts (or expired technical ones) are re-enabled"));
  ChangeSpec cs;
  cs.kind = ChangeKind::kReenableAccount;
  cs.target = t.id;
  cs.structure = t.structure;
  cs.username = t.username;
  if (t.kind == AccountKind::kTechnical) {
    if (!new_expiry) return InvalidArgument("re-enabling a technical account needs a new expiry (at most 90 days)");
    TechnicalProfile p = t.technical;
    p.expires_at = *new_expiry;
    CLOISON_RETURN_IF_ERROR(CheckTechnicalProfile(p));
    cs.expires_at = *new_expiry;
  }
  return FileRequest(me, cs, reason);
}

StatusOr<ChangeRequestId> IamService::RequestMfaReset(const Principal& actor, AccountId account,
                                                      std::string_view reason) {
  CLOISON_ASSIGN_OR_RETURN(Account me, LoadActor(actor));
  CLOISON_ASSIGN_OR_RETURN(Account t, repo_.GetAccount(account));
  CLOISON_RETURN_IF_ERROR(RequireManager(me, t.structure));
  if (t.kind != AccountKind::kHuman) return InvalidArgument("technical accounts have no second factor");
  ChangeSpec cs;
  cs.kind = ChangeKind::kResetMfa;
  cs.target = t.id;
  cs.structure = t.structure;
  cs.username = t.username;
  return FileRequest(me, cs, reason);
}

StatusOr<ChangeRequestId> IamService::RequestBulkExport(const Principal& actor, StructureId structure,
                                                        std::string_view subject, std::string_view reason) {
  CLOISON_ASSIGN_OR_RETURN(Account me, LoadActor(actor));
  if (me.structure != structure && !IsAncestor(me.structure, structure))
    return PermissionDenied("bulk exports are requested from the structure concerned or above");
  if (subject.empty()) return InvalidArgument("say what is to be exported");
  ChangeSpec cs;
  cs.kind = ChangeKind::kBulkExport;
  cs.structure = structure;
  cs.subject = std::string(subject);
  return FileRequest(me, cs, reason);
}

StatusOr<ChangeRequestId> IamService::RequestBreakGlass(const Principal& actor, StructureId structure,
                                                        std::string_view subject, std::string_view reason) {
  CLOISON_ASSIGN_OR_RETURN(Account me, LoadActor(actor));
  if (me.structure != structure && !IsAncestor(me.structure, structure))
    return PermissionDenied("break-glass access is requested from the structure concerned or above");
  if (subject.empty()) return InvalidArgument("say what is to be accessed");
  ChangeSpec cs;
  cs.kind = ChangeKind::kBreakGlass;
  cs.structure = structure;
  cs.subject = std::string(subject);
  return FileRequest(me, cs, reason);
}

Status IamService::Suspend(const Principal& actor, AccountId account, std::string_view reason) {
  CLOISON_ASSIGN_OR_RETURN(Account me, LoadActor(actor));
  CLOISON_ASSIGN_OR_RETURN(Account t, repo_.GetAccount(account));
  if (t.id != me.id) CLOISON_RETURN_IF_ERROR(RequireManager(me, t.structure));
  CLOISON_RETURN_IF_ERROR(NeedReason(reason));
  if (t.status == AccountStatus::kSuspended) return OkStatus();
  if (t.status != AccountStatus::kActive)
    return FailedPrecondition(StrCat("account ", account.value(), " is ", AccountStatusName(t.status)));
  const UnixMicros now = clock_.NowMicros();
  t.status = AccountStatus::kSuspended;
  t.last_modified_by = me.id;
  t.updated_at = now;
  return Tx([&]() -> Status {
    CLOISON_RETURN_IF_ERROR(repo_.UpdateAccount(t));
    CLOISON_ASSIGN_OR_RETURN(int64_t n, repo_.RevokeAccountSessions(t.id, now));
    Emit(IamEventType::kAccountSuspended, me.id, t.id, std::nullopt,
         StrCat(reason, " (", n, " sessions revoked)"));
    return OkStatus();
  });
}

Status IamService::SuspendByGuard(AccountId account, std::string_view reason) {
  CLOISON_ASSIGN_OR_RETURN(Account t, repo_.GetAccount(account));
  if (t.status == AccountStatus::kSuspended) return OkStatus();
  if (t.status != AccountStatus::kActive && t.status != AccountStatus::kPending)
    return FailedPrecondition(StrCat("account ", account.value(), " is ", AccountStatusName(t.status)));
  const UnixMicros now = clock_.NowMicros();
  t.status = AccountStatus::kSuspended;
  t.updated_at = now;
  return Tx([&]() -> Status {
    CLOISON_RETURN_IF_ERROR(repo_.UpdateAccount(t));
    CLOISON_ASSIGN_OR_RETURN(int64_t n, repo_.RevokeAccountSessions(t.id, now));
    Emit(IamEventType::kAccountSuspended, std::nullopt, t.id, std::nullopt,
         StrCat("guard: ", reason, " (", n, " sessions revoked)"));
    return OkStatus();
  });
}

// ---------------------------------------------------------------- sessions

StatusOr<std::vector<Session>> IamService::ListSessions(const Principal& actor, AccountId account) {
  CLOISON_ASSIGN_OR_RETURN(Account me, LoadActor(actor));
  if (account != me.id) {
    CLOISON_ASSIGN_OR_RETURN(Account t, repo_.GetAccount(account));
    CLOISON_RETURN_IF_ERROR(RequireManager(me, t.structure));
  }
  CLOISON_ASSIGN_OR_RETURN(auto all, repo_.ListSessions(account));
  std::vector<Session> out;
  const UnixMicros now = clock_.NowMicros();
  for (auto& s : all)
    if (s.Live(options_.sessions, now)) out.push_back(std::move(s));
  return out;
}

Status IamService::RevokeSession(const Principal& actor, int64_t session_id) {
  CLOISON_ASSIGN_OR_RETURN(Account me, LoadActor(actor));
  CLOISON_ASSIGN_OR_RETURN(Session s, repo_.GetSession(session_id));
  if (s.account != me.id) {
    CLOISON_ASSIGN_OR_RETURN(Account t, repo_.GetAccount(s.account));
    CLOISON_RETURN_IF_ERROR(RequireManager(me, t.structure));
  }
  CLOISON_RETURN_IF_ERROR(repo_.RevokeSession(session_id, clock_.NowMicros()));
  Emit(IamEventType::kSessionRevoked, me.id, s.account, std::nullopt, StrCat("session ", session_id, " revoked"));
  return OkStatus();
}

// ---------------------------------------------------------------- dual control

Status IamService::CheckApprover(const Account& approver, const ChangeRequest& r) {
  const UnixMicros now = clock_.NowMicros();
  if (approver.id == r.requester) return PermissionDenied("the requester cannot approve its own request");
  if (r.spec.target.valid() && approver.id == r.spec.target)
    return PermissionDenied("an account cannot approve a change to itself");
  if (approver.kind != AccountKind::kHuman || !approver.HasRole(kApproverRole))
    return PermissionDenied("only a security officer can approve change requests");
  if (approver.InProbation(now)) return PermissionDenied("an account in probation cannot approve change requests");
  const StructureId s = r.spec.structure;
  if (parent_of_(s)) {
    if (!IsAncestor(approver.structure, s))
      return PermissionDenied(StrCat("the approver must sit at the parent level of structure ", s.value(),
                                     " (a peer or a lower level cannot approve)"));
  } else if (approver.structure != s) {
    return PermissionDenied(StrCat("the approver must sit in root structure ", s.value()));
  }
  if (approver.created_by == r.requester) return PermissionDenied("the approver was created by the requester");
  if (approver.approved_by == r.requester) return PermissionDenied("the approver was approved by the requester");
  if (approver.last_modified_by == r.requester)
    return PermissionDenied("the approver was last modified by the requester");
  // Any earlier approved request about the approver in which the requester
  // asked or approved also ties them together.
  CLOISON_ASSIGN_OR_RETURN(auto approved, repo_.ListRequests(RequestStatus::kApproved));
  for (const auto& o : approved) {
    if (o.spec.target != approver.id) continue;
    if (o.decided_by == r.requester) return PermissionDenied("the approver was approved by the requester");
    if (o.requester == r.requester) return PermissionDenied("the approver was modified by the requester");
  }
  return OkStatus();
}

Status IamService::ApplyChange(const ChangeRequest& r, const Account& approver) {
  const UnixMicros now = clock_.NowMicros();
  const ChangeSpec& cs = r.spec;
  if (!cs.target.valid()) return OkStatus();  // bulk export / break-glass: the approval is the grant
  CLOISON_ASSIGN_OR_RETURN(Account t, repo_.GetAccount(cs.target));
  IamEventType type = IamEventType::kAccountChanged;
  std::string what = cs.Describe();
  switch (cs.kind) {
    case ChangeKind::kCreateTechnicalAccount:
    case ChangeKind::kCreatePrivilegedAccount:
      if (t.status != AccountStatus::kPending)
        return FailedPrecondition(StrCat("account ", t.id.value(), " is ", AccountStatusName(t.status), ", not pending"));
      if (t.kind == AccountKind::kTechnical && now >= t.technical.expires_at)
        return FailedPrecondition("the technical account's expiry has already passed");
      t.status = AccountStatus::kActive;
      // Probation runs from activation (humans; integrations have their quota).
      if (t.kind == AccountKind::kHuman) t.probation_until = now + options_.probation_us;
      type = IamEventType::kAccountActivated;
      break;
    case ChangeKind::kReenableAccount:
      if (t.kind == AccountKind::kTechnical) {
        if (!cs.expires_at || *cs.expires_at <= now) return FailedPrecondition("the new expiry has already passed");
        t.technical.expires_at = *cs.expires_at;
      }
      if (t.status != AccountStatus::kSuspended && t.status != AccountStatus::kActive)
        return FailedPrecondition(StrCat("account ", t.id.value(), " is ", AccountStatusName(t.status)));
      t.status = AccountStatus::kActive;
      type = IamEventType::kAccountActivated;
      break;
    case ChangeKind::kGrantRole:
      for (Role role : cs.roles)
        if (!t.HasRole(role)) t.roles.push_back(role);
      // Checked again at approval: the account's roles may have changed since the request.
      CLOISON_RETURN_IF_ERROR(CheckSeparationOfDuties(t.roles, Policy()));
      break;
    case ChangeKind::kWidenTechnicalAccess:
      t.technical.scopes = cs.scopes;
      t.technical.networks = cs.networks;
      break;
    case ChangeKind::kRaiseQuota:
      t.daily_read_quota = cs.quota.value_or(t.daily_read_quota);
      break;
    case ChangeKind::kResetMfa:
      CLOISON_RETURN_IF_ERROR(repo_.DeleteMfa(t.id));
      CLOISON_RETURN_IF_ERROR(repo_.RevokeAccountSessions(t.id, now).status());
      type = IamEventType::kMfaReset;
      break;
    case ChangeKind::kBulkExport:
    case ChangeKind::kBreakGlass:
      break;
  }
  t.approved_by = approver.id;
  t.last_modified_by = r.requester;
  t.updated_at = now;
  CLOISON_RETURN_IF_ERROR(repo_.UpdateAccount(t));
  Emit(type, approver.id, t.id, r.id, what);
  return OkStatus();
}

Status IamService::ExpireIfDue(ChangeRequest& r) {
  const UnixMicros now = clock_.NowMicros();
  if (r.status != RequestStatus::kPending || now < r.expires_at) return OkStatus();
  r.status = RequestStatus::kExpired;
  r.decided_at = now;
  return Tx([&]() -> Status {
    CLOISON_RETURN_IF_ERROR(repo_.UpdateRequest(r));
    CLOISON_RETURN_IF_ERROR(repo_.AppendRequestEvent({r.id, now, std::nullopt, "expired", "no decision in time"}));
    if (IsCreation(r.spec.kind)) {
      CLOISON_ASSIGN_OR_RETURN(Account t, repo_.GetAccount(r.spec.target));
      if (t.status == AccountStatus::kPending) {
        t.status = AccountStatus::kRejected;
        t.updated_at = now;
        CLOISON_RETURN_IF_ERROR(repo_.UpdateAccount(t));
      }
    }
    Emit(IamEventType::kRequestExpired, std::nullopt, r.spec.target.valid() ? std::optional(r.spec.target) : std::nullopt,
         r.id, r.spec.Describe());
    return OkStatus();
  });
}

Status IamService::Decide(const Principal& actor, ChangeRequestId id, std::string_view note, bool approve) {
  CLOISON_ASSIGN_OR_RETURN(Account me, LoadActor(actor));
  CLOISON_ASSIGN_OR_RETURN(ChangeRequest r, repo_.GetRequest(id));
  CLOISON_RETURN_IF_ERROR(ExpireIfDue(r));
  if (r.status != RequestStatus::kPending)
    return FailedPrecondition(StrCat("change request ", id, " is ", RequestStatusName(r.status)));
  const UnixMicros now = clock_.NowMicros();

  Status allowed = OkStatus();
  if (approve) {
    if (!actor.mfa) allowed = PermissionDenied("approval needs a session with a second factor");
    if (allowed.ok()) allowed = CheckApprover(me, r);
  } else if (me.id != r.requester &&
             !(me.HasRole(kApproverRole) &&
               (me.structure == r.spec.structure || IsAncestor(me.structure, r.spec.structure)))) {
    allowed = PermissionDenied("only a security officer of the structure or above can reject (the requester cancels)");
  }
  if (!allowed.ok()) {
    if (!IsIOError(allowed)) {
      // Refusals are steps too: recorded even though nothing changes.
      CLOISON_RETURN_IF_ERROR(Tx([&]() -> Status {
        CLOISON_RETURN_IF_ERROR(repo_.AppendRequestEvent(
            {id, now, me.id, approve ? "approval_refused" : "rejection_refused", std::string(MessageOf(allowed))}));
        Emit(IamEventType::kApprovalRefused, me.id,
             r.spec.target.valid() ? std::optional(r.spec.target) : std::nullopt, id, std::string(MessageOf(allowed)));
        return OkStatus();
      }));
    }
    return allowed;
  }

  return Tx([&]() -> Status {
    if (approve) {
      CLOISON_RETURN_IF_ERROR(ApplyChange(r, me));
    } else if (IsCreation(r.spec.kind)) {
      CLOISON_ASSIGN_OR_RETURN(Account t, repo_.GetAccount(r.spec.target));
      if (t.status == AccountStatus::kPending) {
        t.status = AccountStatus::kRejected;
        t.updated_at = now;
        CLOISON_RETURN_IF_ERROR(repo_.UpdateAccount(t));
      }
    }
    r.status = approve ? RequestStatus::kApproved : RequestStatus::kRejected;
    r.decided_by = me.id;
    r.decided_at = now;
    r.decision_note = std::string(note);
    CLOISON_RETURN_IF_ERROR(repo_.UpdateRequest(r));
    CLOISON_RETURN_IF_ERROR(
        repo_.AppendRequestEvent({id, now, me.id, approve ? "approved" : "rejected", std::string(note)}));
    Emit(approve ? IamEventType::kRequestApproved : IamEventType::kRequestRejected, me.id,
         r.spec.target.valid() ? std::optional(r.spec.target) : std::nullopt, id, r.spec.Describe());
    return OkStatus();
  });
}

Status IamService::Approve(const Principal& actor, ChangeRequestId id, std::string_view note) {
  return Decide(actor, id, note, true);
}

Status IamService::Reject(const Principal& actor, ChangeRequestId id, std::string_view note) {
  return Decide(actor, id, note, false);
}

Status IamService::Cancel(const Principal& actor, ChangeRequestId id) {
  CLOISON_ASSIGN_OR_RETURN(Account me, LoadActor(actor));
  CLOISON_ASSIGN_OR_RETURN(ChangeRequest r, repo_.GetRequest(id));
  if (r.requester != me.id) return PermissionDenied("only the requester can cancel a request");
  CLOISON_RETURN_IF_ERROR(ExpireIfDue(r));
  if (r.status != RequestStatus::kPending)
    return FailedPrecondition(StrCat("change request ", id, " is ", RequestStatusName(r.status)));
  const UnixMicros now = clock_.NowMicros();
  return Tx([&]() -> Status {
    if (IsCreation(r.spec.kind)) {
      CLOISON_ASSIGN_OR_RETURN(Account t, repo_.GetAccount(r.spec.target));
      if (t.status == AccountStatus::kPending) {
        t.status = AccountStatus::kRejected;
        t.updated_at = now;
        CLOISON_RETURN_IF_ERROR(repo_.UpdateAccount(t));
      }
    }
    r.status = RequestStatus::kCancelled;
    r.decided_by = me.id;
    r.decided_at = now;
    CLOISON_RETURN_IF_ERROR(repo_.UpdateRequest(r));
    CLOISON_RETURN_IF_ERROR(repo_.AppendRequestEvent({id, now, me.id, "cancelled", ""}));
    Emit(IamEventType::kRequestCancelled, me.id, std::nullopt, id, r.spec.Describe());
    return OkStatus();
  });
}

StatusOr<int64_t> IamService::ExpireRequests() {
  CLOISON_ASSIGN_OR_RETURN(auto pending, repo_.ListRequests(RequestStatus::kPending));
  int64_t n = 0;
  for (auto& r : pending) {
    if (clock_.NowMicros() < r.expires_at) continue;
    CLOISON_RETURN_IF_ERROR(ExpireIfDue(r));
    ++n;
  }
  return n;
}

StatusOr<std::vector<ChangeRequest>> IamService::ListRequests(std::optional<RequestStatus> status) {
  CLOISON_RETURN_IF_ERROR(ExpireRequests().status());
  return repo_.ListRequests(status);
}

StatusOr<ChangeRequest> IamService::GetRequest(ChangeRequestId id) {
  CLOISON_ASSIGN_OR_RETURN(ChangeRequest r, repo_.GetRequest(id));
  CLOISON_RETURN_IF_ERROR(ExpireIfDue(r));
  return r;
}

StatusOr<std::vector<RequestEvent>> IamService::RequestHistory(ChangeRequestId id) {
  return repo_.ListRequestEvents(id);
}

StatusOr<bool> IamService::IsApproved(ChangeRequestId id, ChangeKind kind) {
  auto r = repo_.GetRequest(id);
  if (!r.ok()) return absl::IsNotFound(r.status()) ? StatusOr<bool>(false) : StatusOr<bool>(r.status());
  return r->status == RequestStatus::kApproved && r->spec.kind == kind;
}

}  // namespace cloison::iam
