// cloison account ... | cloison request ... (see account_cmd.h).
#include "cli/account_cmd.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "cli/audit_sink.h"
#include "cli/common.h"
#include "core/strings.h"
#include "crypto/keys.h"
#include "crypto/secure_random.h"
#include "iam/repository.h"
#include "iam/service.h"

namespace cloison::cli {

namespace {

constexpr const char* kCliSource = "127.0.0.1";  // throttling key for local invocations
constexpr int64_t kDayUs = 86400LL * 1'000'000;

// Like Fail, but "no" answers (authentication, permission, dual-control rule,
// wrong state) exit 1, not 3.
void Refuse(Context& ctx, std::string_view what, const Status& s) {
  Fail(ctx, what, s);
  switch (s.code()) {
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition: ctx.exit_code = 1; break;
    default: break;
  }
}

std::string Printable(const crypto::SecretBytes& s) {
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

// Reads one line from the terminal without echo; empty if there is no terminal.
crypto::SecretBytes PromptSecret(const std::string& prompt) {
  FILE* tty = std::fopen("/dev/tty", "r+");
  if (!tty) return {};
  std::fputs(prompt.c_str(), tty);
  std::fflush(tty);
  termios old{};
  const int fd = fileno(tty);
  const bool have_term = tcgetattr(fd, &old) == 0;
  if (have_term) {
    termios noecho = old;
    noecho.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &noecho);
  }
  crypto::SecretBytes buf(512);
  size_t n = 0;
  int c;
  while ((c = std::fgetc(tty)) != EOF && c != '\n' && n < buf.size()) buf.mutable_data()[n++] = static_cast<uint8_t>(c);
  if (have_term) tcsetattr(fd, TCSAFLUSH, &old);
  std::fputs("\n", tty);
  std::fclose(tty);
  return crypto::SecretBytes(std::span<const uint8_t>(buf.data(), n));
}

StatusOr<crypto::SecretBytes> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IOError(StrCat("cannot read ", path));
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  crypto::SecretBytes s = crypto::SecretBytes::FromString(line);
  std::fill(line.begin(), line.end(), '\0');
  return s;
}

struct AuthArgs {
  std::string as;
  std::string password_file;
  std::string totp;
};

void AddAuthOptions(CLI::App* cmd, AuthArgs& a) {
  cmd->add_option("--as", a.as, "Acting account (username)")->required();
  cmd->add_option("--password-file", a.password_file, "File whose first line is the password ($CLOISON_PASSWORD, else a prompt)");
  cmd->add_option("--totp", a.totp, "Current TOTP code or a recovery code ($CLOISON_TOTP, else a prompt)");
}

// Everything one invocation needs: the audit log, the store (structure
// tree, codes) and iam with the log as its event sink. Destruction closes
// the session, then the log, and reports (exit 3) any event the log could
// not record: the command's effect is then committed but unrecorded.
struct Iam {
  Context* ctx = nullptr;
  std::string what;  // "account suspend", for messages
  // Declared first: destroyed last, after the service that appends to it.
  std::unique_ptr<audit::AuditLog> log;
  std::shared_ptr<SinkErrors> sink_errors = std::make_shared<SinkErrors>();
  std::unique_ptr<store::Store> store;
  std::unique_ptr<iam::AccountRepository> repo;
  std::unique_ptr<iam::IamService> service;
  std::map<StructureId, Structure> structures;
  crypto::SecretBytes session;

  StatusOr<StructureId> StructureByCode(const std::string& code) {
    for (const auto& [id, s] : structures)
      if (s.code == code) return id;
    return NotFound(StrCat("no structure with code '", code, "'"));
  }
  std::string StructureName(StructureId id) const {
    auto it = structures.find(id);
    return it == structures.end() ? StrCat("#", id.value()) : it->second.code;
  }
  ~Iam() {
    if (!session.empty() && service) service->Logout(session).IgnoreError();
    service.reset();
    if (!log) return;
    const Status closed = log->Close();
    Status s = sink_errors->first();
    if (s.ok()) s = closed;
    if (!s.ok() && ctx) {
      *ctx->err << "cloison: " << what << ": the audit log could not record this command (" << MessageOf(s)
                << "): what it did may be unrecorded\n";
      ctx->exit_code = 3;
    }
  }
};

// Opens the store, then the audit log (refused while a server holds it:
// nothing is done unrecorded), then iam with the log as its sink.
StatusOr<std::unique_ptr<Iam>> OpenIam(Context& ctx, std::string_view what) {
  CLOISON_RETURN_IF_ERROR(crypto::InitCrypto());
  auto out = std::make_unique<Iam>();
  out->ctx = &ctx;
  out->what = std::string(what);
  // The store first: a wrong --data fails here without creating an audit log.
  CLOISON_ASSIGN_OR_RETURN(out->store, OpenStore(ctx));
  CLOISON_ASSIGN_OR_RETURN(out->log, OpenAuditLogForWriting(ctx, what));
  CLOISON_ASSIGN_OR_RETURN(auto list, out->store->ListStructures());
  for (auto& s : list) out->structures[s.id] = std::move(s);
  CLOISON_ASSIGN_OR_RETURN(auto master, crypto::LoadMasterKey(ctx.master_key_path()));
  CLOISON_ASSIGN_OR_RETURN(out->repo, iam::OpenSqliteAccountRepository(ctx.db_path()));
  Iam* raw = out.get();
  auto parent_of = [raw](StructureId id) -> std::optional<StructureId> {
    auto it = raw->structures.find(id);
    if (it == raw->structures.end()) return std::nullopt;
    return it->second.parent;
  };
  CLOISON_ASSIGN_OR_RETURN(out->service,
                           iam::IamService::Create(*out->repo, master, SystemClock::Instance(),
                                                   crypto::SecureRandom::Instance(), parent_of, iam::IamOptions{},
                                                   IamAuditSink(out->log.get(), out->sink_errors)));
  return out;
}

StatusOr<iam::LoginRequest> Credentials(const AuthArgs& a) {
  iam::LoginRequest req;
  req.username = a.as;
  req.source_address = kCliSource;
  if (!a.password_file.empty()) {
    CLOISON_ASSIGN_OR_RETURN(req.password, ReadSecretFile(a.password_file));
  } else if (const char* env = std::getenv("CLOISON_PASSWORD"); env && *env) {
    req.password = crypto::SecretBytes::FromString(env);
  } else {
    req.password = PromptSecret(StrCat("Password for ", a.as, ": "));
  }
  if (req.password.empty()) return InvalidArgument("no password (use --password-file, $CLOISON_PASSWORD or a terminal)");
  if (!a.totp.empty()) {
    req.second_factor = crypto::SecretBytes::FromString(a.totp);
  } else if (const char* env = std::getenv("CLOISON_TOTP"); env && *env) {
    req.second_factor = crypto::SecretBytes::FromString(env);
  }
  return req;
}

// Logs in (prompting for the second factor if needed) and keeps the session
// until `iam` is destroyed.
StatusOr<iam::Principal> LogIn(Iam& iam, const AuthArgs& a) {
  CLOISON_ASSIGN_OR_RETURN(iam::LoginRequest req, Credentials(a));
  auto r = iam.service->Login(req);
  if (!r.ok() && MessageOf(r.status()) == "second factor required") {
    req.second_factor = PromptSecret("TOTP code (or recovery code): ");
    if (!req.second_factor.empty()) r = iam.service->Login(req);
  }
  if (!r.ok()) return r.status();
  iam.session = std::move(r->session_token);
  if (r->password_change_required)
    std::fprintf(stderr, "cloison: note: this account must change its password (cloison account passwd)\n");
  if (r->used_recovery_code)
    std::fprintf(stderr, "cloison: note: recovery code used, %lld left\n", static_cast<long long>(r->recovery_codes_left));
  return r->principal;
}

std::string Roles(const std::vector<Role>& roles) {
  std::string o;
  for (size_t i = 0; i < roles.size(); ++i) o += StrCat(i ? "," : "", RoleName(roles[i]));
  return o;
}

std::string When(UnixMicros t) {
  if (t == 0) return "-";
  char buf[32];
  time_t s = static_cast<time_t>(t / 1'000'000);
  tm tmv{};
  gmtime_r(&s, &tmv);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tmv);
  return buf;
}

std::string Who(Iam& iam, std::optional<AccountId> id) {
  if (!id) return "-";
  auto a = iam.repo->GetAccount(*id);
  return a.ok() ? StrCat(a->username, " (#", id->value(), ")") : StrCat("#", id->value());
}

void PrintAccount(Context& ctx, Iam& iam, const iam::Account& a, bool detail) {
  const UnixMicros now = SystemClock::Instance().NowMicros();
  *ctx.out << "#" << a.id.value() << "  " << a.username << "  " << iam::AccountKindName(a.kind) << "  "
           << iam::AccountStatusName(a.status) << (a.InProbation(now) ? " (probation)" : "") << "  "
           << iam.StructureName(a.structure) << "  "
           << (a.kind == iam::AccountKind::kHuman ? Roles(a.roles) : StrCat("purpose=", a.technical.purpose)) << "\n";
  if (!detail) return;
  *ctx.out << "  display name     " << a.display_name << "\n"
           << "  created          " << When(a.created_at) << " by " << Who(iam, a.created_by) << "\n"
           << "  approved by      " << Who(iam, a.approved_by) << "\n"
           << "  last modified by " << Who(iam, a.last_modified_by) << " at " << When(a.updated_at) << "\n"
           << "  probation until  " << When(a.probation_until) << "\n"
           << "  daily quota      " << a.daily_read_quota << "\n";
  if (a.kind == iam::AccountKind::kTechnical) {
    std::string scopes, nets;
    for (const auto& s : a.technical.scopes) scopes += s + " ";
    for (const auto& n : a.technical.networks) nets += n + " ";
    *ctx.out << "  scopes           " << scopes << "\n"
             << "  networks         " << nets << "\n"
             << "  expires          " << When(a.technical.expires_at) << "\n";
  } else {
    auto totp = iam.repo->GetTotp(a.id);
    *ctx.out << "  second factor    " << (totp.ok() && *totp && (*totp)->confirmed ? "TOTP" : "none") << "\n";
  }
}

void PrintRequest(Context& ctx, Iam& iam, const iam::ChangeRequest& r, bool detail) {
  *ctx.out << "request " << r.id << "  " << iam::RequestStatusName(r.status) << "  "
           << iam::ChangeKindName(r.spec.kind) << "  by " << Who(iam, r.requester) << "  expires "
           << When(r.expires_at) << "\n  " << r.spec.Describe() << "\n  reason: " << r.reason << "\n";
  if (!detail) return;
  auto h = iam.service->RequestHistory(r.id);
  if (!h.ok()) return;
  for (const auto& e : *h)
    *ctx.out << "  " << When(e.at) << "  " << e.event << "  " << Who(iam, e.actor) << (e.detail.empty() ? "" : "  ")
             << e.detail << "\n";
}

StatusOr<AccountId> AccountByName(Iam& iam, const std::string& username) {
  auto a = iam.repo->FindAccountByUsername(username);
  if (!a.ok()) return a.status();
  if (!*a) {
    std::string lower = username;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    CLOISON_ASSIGN_OR_RETURN(a, iam.repo->FindAccountByUsername(lower));
  }
  if (!*a) return NotFound(StrCat("no account named '", username, "'"));
  return (*a)->id;
}

// Runs `body` with an opened iam and (when `auth` is set) a logged-in actor.
template <typename Fn>
void WithActor(Context& ctx, std::string_view what, const AuthArgs& auth, Fn body) {
  auto iam = OpenIam(ctx, what);
  if (!iam.ok()) return Fail(ctx, what, iam.status());
  auto actor = LogIn(**iam, auth);
  if (!actor.ok()) return Refuse(ctx, what, actor.status());
  Status s = body(**iam, *actor);
  if (!s.ok()) Refuse(ctx, what, s);
}

void PrintFiled(Context& ctx, iam::ChangeRequestId id) {
  *ctx.out << "change request " << id
           << " filed: it takes effect once a security officer at the parent level approves it\n"
           << "  (cloison request approve " << id << " --as <approver>)\n";
}

struct CreateArgs {
  AuthArgs auth;
  std::string username, structure, name, reason, purpose;
  std::vector<std::string> roles, scopes, networks;
  bool technical = false;
  int64_t expires_days = 90;
  int64_t quota = 0;
};

Status RunCreate(Context& ctx, Iam& iam, const iam::Principal& actor, const CreateArgs& a) {
  CLOISON_ASSIGN_OR_RETURN(StructureId sid, iam.StructureByCode(a.structure));
  if (a.technical) {
    iam::NewTechnicalAccount t;
    t.structure = sid;
    t.username = a.username;
    t.display_name = a.name;
    t.purpose = a.purpose;
    t.scopes = a.scopes;
    t.networks = a.networks;
    t.expires_at = SystemClock::Instance().NowMicros() + a.expires_days * kDayUs;
    t.daily_quota = a.quota;
    CLOISON_ASSIGN_OR_RETURN(auto c, iam.service->RequestTechnicalAccount(actor, t, a.reason));
    *ctx.out << "technical account #" << c.id.value() << " '" << a.username << "' created, status "
             << iam::AccountStatusName(c.status) << "\n"
             << "API key (shown once, stored only hashed; unusable until approved):\n  " << Printable(c.secret) << "\n";
    if (c.request) PrintFiled(ctx, *c.request);
    return OkStatus();
  }
  iam::NewHumanAccount h;
  h.structure = sid;
  h.username = a.username;
  h.display_name = a.name;
  for (const auto& r : a.roles) {
    auto role = ParseRole(r);
    if (!role) return InvalidArgument(StrCat("unknown role '", r, "'"));
    h.roles.push_back(*role);
  }
  if (h.roles.empty()) h.roles.push_back(Role::kCounsellor);
  CLOISON_ASSIGN_OR_RETURN(auto c, iam.service->CreateHumanAccount(actor, h, a.reason));
  *ctx.out << "account #" << c.id.value() << " '" << a.username << "' created, status "
           << iam::AccountStatusName(c.status) << "\n"
           << "initial password (shown once; to be changed at first login):\n  " << Printable(c.secret) << "\n";
  if (c.request) PrintFiled(ctx, *c.request);
  else *ctx.out << "the account starts in probation (low quota) for "
                << iam.service->options().probation_us / kDayUs << " days\n";
  return OkStatus();
}

}  // namespace

void AddAccountCommands(CLI::App& app, Context& ctx) {
  auto* account = app.add_subcommand("account", "Accounts: create, list, show, suspend, reinstate, reset-mfa, ...");
  account->require_subcommand(1);

  // bootstrap
  {
    struct Args { std::string username, structure, name = "Security officer"; std::vector<std::string> roles; };
    auto a = std::make_shared<Args>();
    auto* cmd = account->add_subcommand("bootstrap", "Create the first account of an empty iam (a security officer)");
    cmd->add_option("--username", a->username)->required();
    cmd->add_option("--structure", a->structure, "Structure code (normally the root)")->required();
    cmd->add_option("--name", a->name);
    cmd->add_option("--role", a->roles, "Roles (default security_officer)");
    cmd->callback([&ctx, a] {
      auto iam = OpenIam(ctx, "account bootstrap");
      if (!iam.ok()) return Fail(ctx, "account bootstrap", iam.status());
      auto sid = (*iam)->StructureByCode(a->structure);
      if (!sid.ok()) return Fail(ctx, "account bootstrap", sid.status());
      iam::NewHumanAccount h{*sid, a->username, a->name, {}};
      for (const auto& r : a->roles) {
        auto role = ParseRole(r);
        if (!role) return Fail(ctx, "account bootstrap", InvalidArgument(StrCat("unknown role '", r, "'")));
        h.roles.push_back(*role);
      }
      if (h.roles.empty()) h.roles.push_back(Role::kSecurityOfficer);
      auto c = (*iam)->service->Bootstrap(h);
      if (!c.ok()) return Refuse(ctx, "account bootstrap", c.status());
      *ctx.out << "account #" << c->id.value() << " '" << a->username << "' created\n"
               << "initial password (shown once):\n  " << Printable(c->secret) << "\n"
               << "next: cloison account mfa-enroll --as " << a->username << "\n";
    });
  }
  // import-agents
  account->add_subcommand("import-agents", "Give every agent of the records store an iam account (no password yet)")
      ->callback([&ctx] {
        auto iam = OpenIam(ctx, "account import-agents");
        if (!iam.ok()) return Fail(ctx, "account import-agents", iam.status());
        auto agents = (*iam)->store->ListAgents();
        if (!agents.ok()) return Fail(ctx, "account import-agents", agents.status());
        auto n = (*iam)->service->ImportAgents(*agents);
        if (!n.ok()) return Fail(ctx, "account import-agents", n.status());
        *ctx.out << *n << " agents given an iam account (" << agents->size() << " in the store)\n";
      });
  // mfa-enroll / mfa-confirm
  {
    auto a = std::make_shared<AuthArgs>();
    auto* cmd = account->add_subcommand("mfa-enroll", "Start TOTP enrolment: prints the secret and an otpauth URI");
    AddAuthOptions(cmd, *a);
    cmd->callback([&ctx, a] {
      auto iam = OpenIam(ctx, "account mfa-enroll");
      if (!iam.ok()) return Fail(ctx, "account mfa-enroll", iam.status());
      auto req = Credentials(*a);
      if (!req.ok()) return Fail(ctx, "account mfa-enroll", req.status());
      auto e = (*iam)->service->BeginTotpEnrollment(*req);
      if (!e.ok()) return Refuse(ctx, "account mfa-enroll", e.status());
      *ctx.out << "TOTP secret (enter it in an authenticator app; shown once):\n  " << Printable(e->secret_base32)
               << "\n  " << Printable(e->provisioning_uri) << "\n"
               << "next: cloison account mfa-confirm --as " << a->as << " --totp <current code>\n";
    });
    auto c = std::make_shared<AuthArgs>();
    auto* confirm = account->add_subcommand("mfa-confirm", "Finish TOTP enrolment with a current code; prints recovery codes");
    AddAuthOptions(confirm, *c);
    confirm->callback([&ctx, c] {
      auto iam = OpenIam(ctx, "account mfa-confirm");
      if (!iam.ok()) return Fail(ctx, "account mfa-confirm", iam.status());
      auto req = Credentials(*c);
      if (!req.ok()) return Fail(ctx, "account mfa-confirm", req.status());
      if (req->second_factor.empty()) req->second_factor = PromptSecret("TOTP code: ");
      auto codes = (*iam)->service->ConfirmTotpEnrollment(*req);
      if (!codes.ok()) return Refuse(ctx, "account mfa-confirm", codes.status());
      *ctx.out << "TOTP enrolled. Recovery codes (each works once; shown once; keep them offline):\n";
      for (const auto& code : *codes) *ctx.out << "  " << Printable(code) << "\n";
    });
  }
  // passwd
  {
    struct Args { AuthArgs auth; std::string new_file; };
    auto a = std::make_shared<Args>();
    auto* cmd = account->add_subcommand("passwd", "Change the acting account's password");
    AddAuthOptions(cmd, a->auth);
    cmd->add_option("--new-password-file", a->new_file, "File whose first line is the new password (else a prompt)");
    cmd->callback([&ctx, a] {
      auto iam = OpenIam(ctx, "account passwd");
      if (!iam.ok()) return Fail(ctx, "account passwd", iam.status());
      auto req = Credentials(a->auth);
      if (!req.ok()) return Fail(ctx, "account passwd", req.status());
      StatusOr<crypto::SecretBytes> np = a->new_file.empty() ? StatusOr<crypto::SecretBytes>(PromptSecret("New password: "))
                                                             : ReadSecretFile(a->new_file);
      if (!np.ok()) return Fail(ctx, "account passwd", np.status());
      if (a->new_file.empty() && !(PromptSecret("New password again: ") == *np))
        return Fail(ctx, "account passwd", InvalidArgument("the two entries differ"));
      Status s = (*iam)->service->ChangePassword(*req, *np);
      if (s.ok() || MessageOf(s) != "second factor required") {
        if (!s.ok()) return Refuse(ctx, "account passwd", s);
      } else {
        req->second_factor = PromptSecret("TOTP code (or recovery code): ");
        s = (*iam)->service->ChangePassword(*req, *np);
        if (!s.ok()) return Refuse(ctx, "account passwd", s);
      }
      *ctx.out << "password changed; every session of " << a->auth.as << " was closed\n";
    });
  }
  // create
  {
    auto a = std::make_shared<CreateArgs>();
    auto* cmd = account->add_subcommand("create", "Create a human or technical account (dual control when privileged)");
    AddAuthOptions(cmd, a->auth);
    cmd->add_option("--username", a->username, "New account's username")->required();
    cmd->add_option("--structure", a->structure, "Structure code")->required();
    cmd->add_option("--reason", a->reason, "Why (recorded)")->required();
    cmd->add_option("--name", a->name, "Display name");
    cmd->add_option("--role", a->roles, "Role(s): counsellor (default), access_manager, security_officer, dpo, partner_user, auditor");
    cmd->add_flag("--technical", a->technical, "A technical (integration) account");
    cmd->add_option("--purpose", a->purpose, "Technical: integration purpose named by policy rules");
    cmd->add_option("--scope", a->scopes, "Technical: scope(s)");
    cmd->add_option("--network", a->networks, "Technical: allowed source network(s), CIDR");
    cmd->add_option("--expires-days", a->expires_days, "Technical: days until expiry (at most 90)")
        ->capture_default_str()->check(CLI::Range(1, 90));
    cmd->add_option("--quota", a->quota, "Technical: people files per day");
    cmd->callback([&ctx, a] {
      WithActor(ctx, "account create", a->auth,
                [&](Iam& iam, const iam::Principal& p) { return RunCreate(ctx, iam, p, *a); });
    });
  }
  // list
  {
    struct Args { AuthArgs auth; std::string created_by; };
    auto a = std::make_shared<Args>();
    auto* cmd = account->add_subcommand("list", "Accounts visible to the acting account");
    AddAuthOptions(cmd, a->auth);
    cmd->add_option("--created-by", a->created_by, "Only accounts created by this username");
    cmd->callback([&ctx, a] {
      WithActor(ctx, "account list", a->auth, [&](Iam& iam, const iam::Principal& p) -> Status {
        StatusOr<std::vector<iam::Account>> list;
        if (a->created_by.empty()) {
          list = iam.service->ListAccounts(p);
        } else {
          CLOISON_ASSIGN_OR_RETURN(AccountId creator, AccountByName(iam, a->created_by));
          list = iam.service->AccountsCreatedBy(p, creator);
        }
        if (!list.ok()) return list.status();
        for (const auto& acc : *list) PrintAccount(ctx, iam, acc, false);
        *ctx.out << list->size() << " accounts\n";
        return OkStatus();
      });
    });
  }
  // show
  {
    struct Args { AuthArgs auth; std::string user; };
    auto a = std::make_shared<Args>();
    auto* cmd = account->add_subcommand("show", "One account: status, provenance, credentials, sessions");
    AddAuthOptions(cmd, a->auth);
    cmd->add_option("user", a->user)->required();
    cmd->callback([&ctx, a] {
      WithActor(ctx, "account show", a->auth, [&](Iam& iam, const iam::Principal& p) -> Status {
        CLOISON_ASSIGN_OR_RETURN(AccountId id, AccountByName(iam, a->user));
        CLOISON_ASSIGN_OR_RETURN(iam::Account acc, iam.service->GetAccount(p, id));
        PrintAccount(ctx, iam, acc, true);
        auto sessions = iam.service->ListSessions(p, id);
        if (sessions.ok())
          for (const auto& s : *sessions)
            *ctx.out << "  session " << s.id << "  from " << s.source_address << "  since " << When(s.created_at)
                     << "  last seen " << When(s.last_seen_at) << (s.mfa ? "  (TOTP)" : "") << "\n";
        return OkStatus();
      });
    });
  }
  // suspend / reinstate / reset-mfa / grant-role
  {
    struct Args { AuthArgs auth; std::string user, reason, role; int64_t expires_days = 0; };
    auto add = [&](const char* name, const char* help, bool with_role, bool with_expiry,
                   std::function<Status(Context&, Iam&, const iam::Principal&, AccountId, const Args&)> fn) {
      auto a = std::make_shared<Args>();
      auto* cmd = account->add_subcommand(name, help);
      AddAuthOptions(cmd, a->auth);
      cmd->add_option("user", a->user)->required();
      if (with_role) cmd->add_option("role", a->role)->required();
      cmd->add_option("--reason", a->reason, "Why (recorded)")->required();
      if (with_expiry)
        cmd->add_option("--expires-days", a->expires_days, "Technical accounts: new expiry in days (at most 90)")
            ->check(CLI::Range(1, 90));
      std::string what = StrCat("account ", name);
      cmd->callback([&ctx, a, fn, what] {
        WithActor(ctx, what, a->auth, [&](Iam& iam, const iam::Principal& p) -> Status {
          CLOISON_ASSIGN_OR_RETURN(AccountId id, AccountByName(iam, a->user));
          return fn(ctx, iam, p, id, *a);
        });
      });
    };
    add("suspend", "Suspend an account now (sessions closed)", false, false,
        [](Context& c, Iam& iam, const iam::Principal& p, AccountId id, const Args& a) -> Status {
          CLOISON_RETURN_IF_ERROR(iam.service->Suspend(p, id, a.reason));
          *c.out << "account " << a.user << " suspended; its sessions are closed\n";
          return OkStatus();
        });
    add("reinstate", "Request the reinstatement of a suspended (or expired technical) account", false, true,
        [](Context& c, Iam& iam, const iam::Principal& p, AccountId id, const Args& a) -> Status {
          std::optional<UnixMicros> expiry;
          if (a.expires_days > 0) expiry = SystemClock::Instance().NowMicros() + a.expires_days * kDayUs;
          CLOISON_ASSIGN_OR_RETURN(auto rid, iam.service->RequestReinstate(p, id, expiry, a.reason));
          PrintFiled(c, rid);
          return OkStatus();
        });
    add("reset-mfa", "Request the removal of an account's TOTP and recovery codes", false, false,
        [](Context& c, Iam& iam, const iam::Principal& p, AccountId id, const Args& a) -> Status {
          CLOISON_ASSIGN_OR_RETURN(auto rid, iam.service->RequestMfaReset(p, id, a.reason));
          PrintFiled(c, rid);
          return OkStatus();
        });
    add("grant-role", "Request a role for an account", true, false,
        [](Context& c, Iam& iam, const iam::Principal& p, AccountId id, const Args& a) -> Status {
          auto role = ParseRole(a.role);
          if (!role) return InvalidArgument(StrCat("unknown role '", a.role, "'"));
          CLOISON_ASSIGN_OR_RETURN(auto rid, iam.service->RequestRoleGrant(p, id, *role, a.reason));
          PrintFiled(c, rid);
          return OkStatus();
        });
  }

  // --- request list | show | approve | reject
  auto* request = app.add_subcommand("request", "Change requests (dual control): list, show, approve, reject");
  request->require_subcommand(1);
  {
    struct Args { AuthArgs auth; std::string status = "pending"; };
    auto a = std::make_shared<Args>();
    auto* cmd = request->add_subcommand("list", "Change requests");
    AddAuthOptions(cmd, a->auth);
    cmd->add_option("--status", a->status, "pending, approved, rejected, expired, cancelled or all")->capture_default_str();
    cmd->callback([&ctx, a] {
      WithActor(ctx, "request list", a->auth, [&](Iam& iam, const iam::Principal& p) -> Status {
        std::optional<iam::RequestStatus> st;
        if (a->status != "all") {
          st = iam::ParseRequestStatus(a->status);
          if (!st) return InvalidArgument(StrCat("unknown status '", a->status, "'"));
        }
        CLOISON_ASSIGN_OR_RETURN(auto list, iam.service->ListRequests(st));
        for (const auto& r : list) PrintRequest(ctx, iam, r, false);
        *ctx.out << list.size() << " requests\n";
        return OkStatus();
      });
    });
  }
  {
    struct Args { AuthArgs auth; int64_t id = 0; std::string note; };
    auto a = std::make_shared<Args>();
    auto* cmd = request->add_subcommand("show", "One change request and its history");
    AddAuthOptions(cmd, a->auth);
    cmd->add_option("id", a->id)->required();
    cmd->callback([&ctx, a] {
      WithActor(ctx, "request show", a->auth, [&](Iam& iam, const iam::Principal& p) -> Status {
        CLOISON_ASSIGN_OR_RETURN(auto r, iam.service->GetRequest(a->id));
        PrintRequest(ctx, iam, r, true);
        return OkStatus();
      });
    });
    for (bool approve : {true, false}) {
      auto b = std::make_shared<Args>();
      auto* dec = request->add_subcommand(approve ? "approve" : "reject",
                                          approve ? "Approve a change request (independent security officer above)"
                                                  : "Reject a change request");
      AddAuthOptions(dec, b->auth);
      dec->add_option("id", b->id)->required();
      auto* note = dec->add_option("--note", b->note, "Decision note (recorded)");
      if (!approve) note->required();
      dec->callback([&ctx, b, approve] {
        WithActor(ctx, approve ? "request approve" : "request reject", b->auth,
                  [&](Iam& iam, const iam::Principal& p) -> Status {
                    CLOISON_RETURN_IF_ERROR(approve ? iam.service->Approve(p, b->id, b->note)
                                                    : iam.service->Reject(p, b->id, b->note));
                    *ctx.out << "request " << b->id << (approve ? " approved and applied\n" : " rejected\n");
                    return OkStatus();
                  });
      });
    }
  }
}

}  // namespace cloison::cli
