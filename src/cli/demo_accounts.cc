// The demo's accounts (see demo_accounts.h).
#include "cli/demo_accounts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "audit/log.h"
#include "cli/audit_sink.h"
#include "cli/common.h"
#include "cli/serve_cmd.h"
#include "core/clock.h"
#include "core/date.h"
#include "core/strings.h"
#include "crypto/keys.h"
#include "crypto/secure_random.h"
#include "crypto/totp.h"
#include "iam/repository.h"
#include "iam/service.h"
#include "policy/engine.h"
#include "policy/policy.h"
#include "policy/relation_index.h"

namespace cloison::cli {

namespace {

using json = nlohmann::json;

constexpr const char* kSource = "127.0.0.1";  // iam's throttling key for these local setup calls
constexpr int64_t kDemoDayUs = 86400LL * 1'000'000;
constexpr const char* kIntegrationPurpose = "enrolment_sync";
// No ASCII quote: it is pasted inside a single-quoted shell string.
constexpr const char* kJustification = "Vérification d’identité pour un dossier CARSAT";

std::string Text(const crypto::SecretBytes& s) { return std::string(reinterpret_cast<const char*>(s.data()), s.size()); }

std::string IsoTime(UnixMicros t) {
  char buf[32];
  time_t s = static_cast<time_t>(t / 1'000'000);
  tm tmv{};
  gmtime_r(&s, &tmv);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tmv);
  return buf;
}

// "FT-AG-67-001" -> "ftag67001", the suffix style of the generated usernames.
std::string Suffix(std::string_view code) {
  std::string out;
  for (char c : code)
    if (std::isalnum(static_cast<unsigned char>(c))) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out.substr(0, 40);
}

json StructureJson(const Structure& s) {
  return {{"id", s.id.value()}, {"code", s.code}, {"name", s.name}, {"kind", std::string(StructureKindName(s.kind))}};
}

json ReadJson(const std::optional<DemoRead>& r) {
  if (!r) return nullptr;
  json j = {{"person_id", r->person}, {"purpose", r->purpose}};
  if (r->reveal_nir) j["reveal"] = {"nir"};
  return j;
}

json ToJson(const DemoAccounts& d) {
  json accounts = json::array();
  for (const DemoAccount& a : d.accounts) {
    json roles = json::array();
    for (Role r : a.roles) roles.push_back(std::string(RoleName(r)));
    accounts.push_back({{"username", a.username},
                        {"display_name", a.display_name},
                        {"password", a.password},
                        {"totp_uri", a.totp_uri},
                        {"totp_secret", a.totp_secret},
                        {"structure", StructureJson(a.structure)},
                        {"roles", roles},
                        {"read", ReadJson(a.read)},
                        {"note", a.note}});
  }
  const DemoTechnical& t = d.technical;
  json technical = {{"username", t.username},
                    {"api_key", t.api_key},
                    {"structure", StructureJson(t.structure)},
                    {"integration_purposes", json::array({t.purpose})},
                    {"scopes", t.scopes},
                    {"networks", t.networks},
                    {"expires_at", t.expires_at},
                    {"requested_by", t.requested_by},
                    {"approved_by", t.approved_by},
                    {"read", ReadJson(t.read)}};
  return {{"version", 1},
          {"about", "cloison demo accounts: secrets for this data directory only (keep this file private; "
                    "delete it and re-run `cloison demo` to reset every credential). Keys: docs/api.md, Demo accounts."},
          {"accounts", accounts},
          {"technical", technical}};
}

// Parses the file back; InvalidArgument if it lacks a contract key.
StatusOr<DemoAccounts> FromJson(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("accounts") || !j["accounts"].is_array() || !j.contains("technical") ||
      !j["technical"].is_object())
    return InvalidArgument("not a demo accounts file");
  auto str = [](const json& o, const char* k) -> std::optional<std::string> {
    if (!o.is_object() || !o.contains(k) || !o[k].is_string()) return std::nullopt;
    return o[k].get<std::string>();
  };
  auto structure = [&](const json& o) -> std::optional<Structure> {
    if (!o.is_object() || !o.contains("structure") || !o["structure"].is_object()) return std::nullopt;
    const json& s = o["structure"];
    Structure out;
    if (!s.contains("id") || !s["id"].is_number_integer()) return std::nullopt;
    out.id = StructureId(s["id"].get<int64_t>());
    out.code = str(s, "code").value_or("");
    out.name = str(s, "name").value_or("");
    auto kind = ParseStructureKind(str(s, "kind").value_or(""));
    if (!kind) return std::nullopt;
    out.kind = *kind;
    return out;
  };
  auto read = [&](const json& o) -> std::optional<DemoRead> {
    if (!o.contains("read") || !o["read"].is_object()) return std::nullopt;
    const json& r = o["read"];
    if (!r.contains("person_id") || !r["person_id"].is_number_integer()) return std::nullopt;
    DemoRead out;
    out.person = r["person_id"].get<int64_t>();
    out.purpose = str(r, "purpose").value_or("");
    out.reveal_nir = r.contains("reveal") && r["reveal"].is_array() && !r["reveal"].empty();
    return out;
  };
  DemoAccounts d;
  for (const json& a : j["accounts"]) {
    DemoAccount x;
    auto user = str(a, "username"), pass = str(a, "password"), uri = str(a, "totp_uri");
    auto st = structure(a);
    if (!user || !pass || !uri || !st || !a.contains("roles") || !a["roles"].is_array())
      return InvalidArgument("an account lacks username, password, totp_uri, structure or roles");
    x.username = *user;
    x.password = *pass;
    x.totp_uri = *uri;
    x.totp_secret = str(a, "totp_secret").value_or("");
    x.display_name = str(a, "display_name").value_or("");
    x.structure = *st;
    for (const json& r : a["roles"]) {
      auto role = r.is_string() ? ParseRole(r.get<std::string>()) : std::nullopt;
      if (!role) return InvalidArgument("unknown role in the demo accounts file");
      x.roles.push_back(*role);
    }
    x.read = read(a);
    x.note = str(a, "note").value_or("");
    d.accounts.push_back(std::move(x));
  }
  if (d.accounts.empty()) return InvalidArgument("no accounts in the demo accounts file");
  const json& t = j["technical"];
  auto user = str(t, "username"), key = str(t, "api_key");
  auto st = structure(t);
  if (!user || !key || !st) return InvalidArgument("the technical account lacks username, api_key or structure");
  d.technical.username = *user;
  d.technical.api_key = *key;
  d.technical.structure = *st;
  if (t.contains("integration_purposes") && t["integration_purposes"].is_array() && !t["integration_purposes"].empty() &&
      t["integration_purposes"][0].is_string())
    d.technical.purpose = t["integration_purposes"][0].get<std::string>();
  for (const char* k : {"scopes", "networks"})
    if (t.contains(k) && t[k].is_array())
      for (const json& v : t[k])
        if (v.is_string())
          (std::string(k) == "scopes" ? d.technical.scopes : d.technical.networks).push_back(v.get<std::string>());
  d.technical.expires_at = str(t, "expires_at").value_or("");
  d.technical.requested_by = str(t, "requested_by").value_or("");
  d.technical.approved_by = str(t, "approved_by").value_or("");
  d.technical.read = read(t);
  return d;
}

// Writes `text` to `path` with mode 0600 from creation on (temporary file,
// fsync, rename): the secrets never sit in a file readable by others.
Status WritePrivateFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return IOError(StrCat("cannot create ", tmp, ": ", std::strerror(errno)));
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return IOError(StrCat("cannot write ", tmp));
    }
    off += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  if (::close(fd) != 0 || !synced) {
    ::unlink(tmp.c_str());
    return IOError(StrCat("cannot write ", tmp));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return IOError(StrCat("cannot rename ", tmp, " to ", path));
  return OkStatus();
}

// --- Choosing the accounts ---------------------------------------------------

struct Chosen {
  Agent agent;
  Structure structure;
  std::optional<DemoRead> read;
  std::string note;
};

struct Plan {
  std::vector<Chosen> humans;
  size_t requester = 0, approver = 0;  // indexes into humans: the technical account's dual control
  Structure tech_structure;
  std::optional<DemoRead> tech_read;
};

class Planner {
 public:
  Planner(store::Store& store, std::vector<Structure> structures, std::vector<Agent> agents,
          std::unique_ptr<policy::RelationIndex> index, Date today)
      : store_(store),
        index_(std::move(index)),
        policy_(policy::Policy::Default()),
        engine_(policy_, *index_),
        today_(today) {
    for (auto& s : structures) structures_[s.id] = std::move(s);
    for (auto& a : agents) {
      by_structure_[a.structure].push_back(a.id);
      agents_[a.id] = std::move(a);
    }
  }

  StatusOr<Plan> Make() {
    Plan plan;
    CollectPeople();
    // An agency and a mission locale (preferably under the same regional
    // direction, so that one regional security officer oversees both).
    std::optional<StructureId> agency = PickFollowingStructure(StructureKind::kAgency, std::nullopt);
    if (!agency) return FailedPrecondition("the network has no agency with two counsellors and people to follow");
    const std::optional<StructureId> region = structures_[*agency].parent;
    std::optional<StructureId> ml = PickFollowingStructure(StructureKind::kMissionLocale, region);
    if (!ml) ml = PickFollowingStructure(StructureKind::kMissionLocale, std::nullopt);

    std::vector<AccountId> agency_counsellors = WithRole(*agency, Role::kCounsellor);
    for (size_t k = 0; k < 2 && k < agency_counsellors.size(); ++k) AddCounsellor(plan, agency_counsellors[k], {});
    const std::optional<AccountId> first = plan.humans.empty() ? std::nullopt : std::optional(plan.humans[0].agent.id);
    if (ml) {
      std::vector<AccountId> ml_counsellors = WithRole(*ml, Role::kCounsellor);
      // Their people are not followed by the agency: the first counsellor's
      // denial example in the curl guide.
      for (size_t k = 0; k < 2 && k < ml_counsellors.size(); ++k) AddCounsellor(plan, ml_counsellors[k], first);
    }
    ChooseTrainingOrganisation(plan);
    auto add_role = [&](std::optional<StructureId> where, Role role, std::string note) {
      if (!where) return;
      auto ids = WithRole(*where, role);
      if (ids.empty()) return;
      plan.humans.push_back(Chosen{agents_[ids[0]], structures_[*where], std::nullopt, std::move(note)});
    };
    add_role(agency, Role::kAccessManager,
             StrCat("manages the accounts of ", structures_[*agency].code,
                    "; reads no file (separation of duties); a technical account it asks for needs a second officer's approval"));
    add_role(region, Role::kSecurityOfficer,
             "approves change requests of the structures below; verifies the audit log (GET /v1/audit/checkpoint); "
             "reads no file through the API yet (break-glass investigations under dual control: docs/api.md, known gaps)");
    add_role(region, Role::kDpo, "reads no file; verifies the audit log (GET /v1/audit/checkpoint)");
    std::optional<StructureId> national;
    for (const auto& [id, s] : structures_)
      if (s.kind == StructureKind::kNationalOperator && !national) national = id;
    add_role(national, Role::kAuditor, "reads no file; verifies the audit log (GET /v1/audit/checkpoint)");
    CLOISON_RETURN_IF_ERROR(AddDualControlPair(plan));
    return plan;
  }

 private:
  struct Followed {
    PersonId person;
    AccountId counsellor;
  };

  void CollectPeople() {
    index_->ForEachPerson([&](PersonId p, StructureId referent, AccountId counsellor, std::span<const StructureId>) {
      if (!referent.valid()) return;
      auto& v = people_[referent];
      if (v.size() < 256) v.push_back({p, counsellor});
    });
    index_->ForEachOrientation([&](const policy::RelationIndex::OrientationInfo& o) {
      if (orientations_.size() < 200000) orientations_.push_back(o);
    });
  }

  std::vector<AccountId> WithRole(StructureId s, Role r) {
    std::vector<AccountId> out;
    for (AccountId id : by_structure_[s])
      if (agents_[id].roles.size() == 1 && agents_[id].roles[0] == r) out.push_back(id);
    return out;
  }

  std::optional<StructureId> PickFollowingStructure(StructureKind kind, std::optional<StructureId> parent) {
    for (const auto& [id, s] : structures_) {
      if (s.kind != kind || (parent && s.parent != parent)) continue;
      if (WithRole(id, Role::kCounsellor).size() >= 2 && people_[id].size() >= 4) return id;
    }
    return std::nullopt;
  }

  static policy::Principal HumanPrincipal(const Agent& a) {
    policy::Principal p;
    p.account = a.id;
    p.roles = a.roles;
    p.structure = a.structure;
    return p;
  }

  bool Allowed(const policy::Principal& who, PersonId person, std::string_view purpose, bool reveal_nir) const {
    auto pid = policy_.FindPurpose(purpose);
    if (!pid) return false;
    policy::RevealRequest rr;
    if (reveal_nir) {
      auto nir = policy_.catalog().IndexOf("nir");
      if (!nir) return false;
      rr.fields.set(*nir);
      rr.justification = kJustification;
    }
    return engine_.Decide(who, person, *pid, today_, reveal_nir ? &rr : nullptr).allowed;
  }

  bool Used(PersonId p) const { return std::find(used_.begin(), used_.end(), p.value()) != used_.end(); }

  // A counsellor and a person it reads for accompaniment: preferably one it
  // is the referent of, with the NIR revealable; if `denied_to` is set, a
  // person that account cannot read.
  void AddCounsellor(Plan& plan, AccountId id, std::optional<AccountId> denied_to) {
    const Agent& a = agents_[id];
    const policy::Principal who = HumanPrincipal(a);
    std::optional<DemoRead> best;
    for (int pass = 0; pass < 2 && !best; ++pass) {
      for (const Followed& f : people_[a.structure]) {
        if (Used(f.person) || (pass == 0 && f.counsellor != id)) continue;
        if (denied_to && Allowed(HumanPrincipal(agents_[*denied_to]), f.person, "accompaniment", false)) continue;
        if (Allowed(who, f.person, "accompaniment", true)) {
          best = DemoRead{f.person.value(), "accompaniment", true};
        } else if (Allowed(who, f.person, "accompaniment", false)) {
          best = DemoRead{f.person.value(), "accompaniment", false};
        }
        if (best) break;
      }
    }
    if (best) used_.push_back(best->person);
    plan.humans.push_back(Chosen{a, structures_[a.structure], best,
                                 best ? StrCat("follows the people of ", structures_[a.structure].code)
                                      : "no readable person found"});
  }

  // The training organisation of the technical account (one whose
  // enrolment_sync rule releases somebody today) and a partner user (of the
  // same organisation if possible) with a person it reads.
  void ChooseTrainingOrganisation(Plan& plan) {
    std::optional<StructureId> tech_of;
    for (const auto& o : orientations_) {
      if (o.status != OrientationStatus::kAccepted && o.status != OrientationStatus::kEnrolled) continue;
      policy::Principal t;
      t.kind = policy::AccountKind::kTechnical;
      t.structure = o.organisation;
      t.integration_purposes = {kIntegrationPurpose};
      if (Allowed(t, o.person, kIntegrationPurpose, false)) {
        tech_of = o.organisation;
        plan.tech_read = DemoRead{o.person.value(), kIntegrationPurpose, false};
        used_.push_back(o.person.value());
        break;
      }
    }
    std::optional<Chosen> partner;
    for (int pass = 0; pass < 2 && !partner; ++pass) {
      for (const auto& o : orientations_) {
        if (pass == 0 && tech_of && o.organisation != *tech_of) continue;
        const char* purpose = o.status == OrientationStatus::kProposed ? "training_orientation"
                              : (o.status == OrientationStatus::kAccepted || o.status == OrientationStatus::kEnrolled)
                                  ? "training_enrolment"
                                  : nullptr;
        if (!purpose || Used(o.person)) continue;
        for (AccountId id : WithRole(o.organisation, Role::kPartnerUser)) {
          if (!Allowed(HumanPrincipal(agents_[id]), o.person, purpose, false)) continue;
          partner = Chosen{agents_[id], structures_[o.organisation], DemoRead{o.person.value(), purpose, false},
                           StrCat("sees the candidates oriented to the sessions of ", structures_[o.organisation].code)};
          used_.push_back(o.person.value());
          break;
        }
        if (partner) break;
      }
    }
    if (!tech_of && partner) tech_of = partner->structure.id;
    if (!tech_of)
      for (const auto& [id, s] : structures_)
        if (s.kind == StructureKind::kTrainingOrganisation && !tech_of && !WithRole(id, Role::kPartnerUser).empty())
          tech_of = id;
    if (!partner && tech_of) {
      // Nobody is oriented to its sessions today: the account is still
      // listed, without a person to read.
      partner = Chosen{agents_[WithRole(*tech_of, Role::kPartnerUser)[0]], structures_[*tech_of], std::nullopt,
                       StrCat("sees the candidates oriented to the sessions of ", structures_[*tech_of].code,
                              " (none today)")};
    }
    if (partner) plan.humans.push_back(*partner);
    if (tech_of) plan.tech_structure = structures_[*tech_of];
  }

  // The technical account's requester (access manager of its organisation)
  // and approver (security officer of the structure above): added to the
  // store as agents, since the generated network has no such staff.
  Status AddDualControlPair(Plan& plan) {
    if (!plan.tech_structure.id.valid()) return FailedPrecondition("the network has no training organisation");
    const Structure of = plan.tech_structure;
    const Structure above = of.parent ? structures_[*of.parent] : of;
    auto upsert = [&](const Structure& s, std::string username, std::string prenom, std::string nom,
                      Role role) -> StatusOr<Agent> {
      Agent a;
      a.structure = s.id;
      a.username = std::move(username);
      a.prenom = std::move(prenom);
      a.nom = std::move(nom);
      a.roles = {role};
      CLOISON_ASSIGN_OR_RETURN(a.id, store_.UpsertAgent(a));
      return a;
    };
    CLOISON_ASSIGN_OR_RETURN(Agent am, upsert(of, StrCat("demo.acces.", Suffix(of.code)), "Gestion", "des accès",
                                              Role::kAccessManager));
    CLOISON_ASSIGN_OR_RETURN(Agent so, upsert(above, StrCat("demo.securite.", Suffix(above.code)), "Sécurité",
                                              "Région", Role::kSecurityOfficer));
    plan.requester = plan.humans.size();
    plan.humans.push_back(Chosen{am, of, std::nullopt,
                                 StrCat("added by the demo: requested the technical account of ", of.code,
                                        "; reads no file")});
    plan.approver = plan.humans.size();
    plan.humans.push_back(Chosen{so, above, std::nullopt,
                                 StrCat("added by the demo: approved that request (dual control: a security officer "
                                        "of the structure above)")});
    return OkStatus();
  }

  store::Store& store_;
  std::unique_ptr<policy::RelationIndex> index_;
  const policy::Policy& policy_;
  policy::Engine engine_;
  Date today_;
  std::map<StructureId, Structure> structures_;
  std::map<AccountId, Agent> agents_;
  std::map<StructureId, std::vector<AccountId>> by_structure_;
  std::map<StructureId, std::vector<Followed>> people_;
  std::vector<policy::RelationIndex::OrientationInfo> orientations_;
  std::vector<int64_t> used_;
};

// --- iam ---------------------------------------------------------------------

struct DemoIam {
  std::unique_ptr<audit::AuditLog> log;
  std::unique_ptr<iam::AccountRepository> repo;
  std::unique_ptr<iam::IamService> service;
  std::map<StructureId, std::optional<StructureId>> parents;
};

StatusOr<std::unique_ptr<DemoIam>> OpenIam(const Context& ctx, store::Store& store) {
  auto out = std::make_unique<DemoIam>();
  CLOISON_ASSIGN_OR_RETURN(auto structures, store.ListStructures());
  for (const Structure& s : structures) out->parents[s.id] = s.parent;
  CLOISON_ASSIGN_OR_RETURN(out->log, OpenAuditLogForWriting(ctx, "demo"));
  CLOISON_ASSIGN_OR_RETURN(auto master, crypto::LoadMasterKey(ctx.master_key_path()));
  CLOISON_ASSIGN_OR_RETURN(out->repo, iam::OpenSqliteAccountRepository(ctx.db_path()));
  DemoIam* raw = out.get();
  auto parent_of = [raw](StructureId id) -> std::optional<StructureId> {
    auto it = raw->parents.find(id);
    return it == raw->parents.end() ? std::nullopt : it->second;
  };
  CLOISON_ASSIGN_OR_RETURN(out->service,
                           iam::IamService::Create(*out->repo, master, SystemClock::Instance(),
                                                   crypto::SecureRandom::Instance(), parent_of, iam::IamOptions{},
                                                   IamAuditSink(out->log.get())));
  return out;
}

// True when every account of the file is still usable as written.
StatusOr<bool> StillValid(DemoIam& iam, const DemoAccounts& d) {
  const UnixMicros now = SystemClock::Instance().NowMicros();
  for (const DemoAccount& a : d.accounts) {
    CLOISON_ASSIGN_OR_RETURN(auto acc, iam.repo->FindAccountByUsername(a.username));
    if (!acc || acc->kind != iam::AccountKind::kHuman || acc->status != iam::AccountStatus::kActive) return false;
    CLOISON_ASSIGN_OR_RETURN(auto totp, iam.repo->GetTotp(acc->id));
    if (!totp || !totp->confirmed) return false;
    CLOISON_ASSIGN_OR_RETURN(auto hash, iam.repo->GetPasswordHash(acc->id));
    if (!hash) return false;
  }
  CLOISON_ASSIGN_OR_RETURN(auto t, iam.repo->FindAccountByUsername(d.technical.username));
  return t && t->kind == iam::AccountKind::kTechnical && t->status == iam::AccountStatus::kActive &&
         t->technical.expires_at > now + kDemoDayUs;
}

struct Credentials {
  DemoAccount account;
  std::vector<crypto::SecretBytes> recovery_codes;
};

// A fresh password, then TOTP enrolment confirmed with the previous step's
// code (the current step's code remains usable for the first login).
StatusOr<Credentials> SetUpHuman(DemoIam& iam, const Chosen& c) {
  CLOISON_ASSIGN_OR_RETURN(auto acc, iam.repo->FindAccountByUsername(c.agent.username));
  if (!acc)
    return FailedPrecondition(StrCat("agent '", c.agent.username,
                                     "' has no iam account (its id is taken by another account)"));
  CLOISON_ASSIGN_OR_RETURN(crypto::SecretBytes password, iam.service->ResetCredentialsForSetup(acc->id));
  iam::LoginRequest req;
  req.username = acc->username;
  req.password = password;
  req.source_address = kSource;
  CLOISON_ASSIGN_OR_RETURN(iam::TotpEnrollment e, iam.service->BeginTotpEnrollment(req));
  CLOISON_ASSIGN_OR_RETURN(crypto::SecretBytes secret, crypto::TotpSecretFromBase32(e.secret_base32));
  Credentials out;
  // The code is computed before ConfirmTotpEnrollment's password check
  // (Argon2id, slow under load): if a 30 s step boundary passes meanwhile,
  // the previous step's code falls out of the drift window. The enrolment
  // stays pending after a wrong code, so one retry with a fresh code fixes it.
  for (int attempt = 0;; ++attempt) {
    const int64_t now = SystemClock::Instance().NowSeconds();
    CLOISON_ASSIGN_OR_RETURN(std::string code, crypto::TotpGenerate(secret, now - crypto::kTotpStepSeconds));
    req.second_factor = crypto::SecretBytes::FromString(code);
    auto codes = iam.service->ConfirmTotpEnrollment(req);
    if (codes.ok()) {
      out.recovery_codes = *std::move(codes);
      break;
    }
    if (attempt > 0 || codes.status().code() != absl::StatusCode::kUnauthenticated) return codes.status();
  }
  DemoAccount& a = out.account;
  a.username = acc->username;
  a.display_name = acc->display_name;
  a.password = Text(password);
  a.totp_secret = Text(e.secret_base32);
  a.totp_uri = Text(e.provisioning_uri);
  a.structure = c.structure;
  a.roles = acc->roles;
  a.read = c.read;
  a.note = c.note;
  return out;
}

StatusOr<crypto::SecretBytes> LogInWithRecoveryCode(DemoIam& iam, const Credentials& c, size_t which) {
  iam::LoginRequest req;
  req.username = c.account.username;
  req.password = crypto::SecretBytes::FromString(c.account.password);
  req.second_factor = c.recovery_codes.at(which);
  req.source_address = kSource;
  CLOISON_ASSIGN_OR_RETURN(iam::LoginResult r, iam.service->Login(req));
  return std::move(r.session_token);
}

// The technical account: reuses an active one of the organisation (new key),
// else requests one as the access manager and approves it as the security
// officer above.
StatusOr<DemoTechnical> SetUpTechnical(DemoIam& iam, const Plan& plan, const Credentials& requester,
                                       const Credentials& approver) {
  const UnixMicros now = SystemClock::Instance().NowMicros();
  DemoTechnical t;
  t.structure = plan.tech_structure;
  t.purpose = kIntegrationPurpose;
  t.read = plan.tech_read;
  const std::string base = StrCat("sync.", Suffix(plan.tech_structure.code));
  for (int k = 1; k < 100; ++k) {
    const std::string name = k == 1 ? base : StrCat(base, "-", k);
    CLOISON_ASSIGN_OR_RETURN(auto existing, iam.repo->FindAccountByUsername(name));
    if (existing) {
      if (existing->kind != iam::AccountKind::kTechnical || existing->status != iam::AccountStatus::kActive ||
          existing->structure != plan.tech_structure.id || existing->technical.expires_at <= now + kDemoDayUs)
        continue;  // unusable (pending, rejected, expired, ...): try the next name
      CLOISON_ASSIGN_OR_RETURN(crypto::SecretBytes key, iam.service->ResetCredentialsForSetup(existing->id));
      t.username = name;
      t.api_key = Text(key);
      t.scopes = existing->technical.scopes;
      t.networks = existing->technical.networks;
      if (!existing->technical.purpose.empty()) t.purpose = existing->technical.purpose;
      t.expires_at = IsoTime(existing->technical.expires_at);
      auto who = [&](std::optional<AccountId> id) -> std::string {
        if (!id) return "";
        auto a = iam.repo->GetAccount(*id);
        return a.ok() ? a->username : "";
      };
      t.requested_by = who(existing->created_by);
      t.approved_by = who(existing->approved_by);
      return t;
    }
    CLOISON_ASSIGN_OR_RETURN(crypto::SecretBytes req_token, LogInWithRecoveryCode(iam, requester, 0));
    CLOISON_ASSIGN_OR_RETURN(iam::Principal req_p, iam.service->Authenticate(req_token));
    iam::NewTechnicalAccount spec;
    spec.structure = plan.tech_structure.id;
    spec.username = name;
    spec.display_name = StrCat("SI inscriptions ", plan.tech_structure.code);
    spec.purpose = kIntegrationPurpose;
    spec.scopes = {"people:read"};
    spec.networks = {"127.0.0.0/8", "::1/128"};
    spec.expires_at = now + 89 * kDemoDayUs;
    spec.daily_quota = 1000;
    CLOISON_ASSIGN_OR_RETURN(iam::CreatedAccount created,
                             iam.service->RequestTechnicalAccount(req_p, spec, "cloison demo: enrolment sync of the training organisation"));
    iam.service->Logout(req_token).IgnoreError();
    if (!created.request) return Internal("a technical account was created without a change request");
    CLOISON_ASSIGN_OR_RETURN(crypto::SecretBytes app_token, LogInWithRecoveryCode(iam, approver, 0));
    CLOISON_ASSIGN_OR_RETURN(iam::Principal app_p, iam.service->Authenticate(app_token));
    Status approved = iam.service->Approve(app_p, *created.request, "cloison demo: checked with the organisation");
    iam.service->Logout(app_token).IgnoreError();
    CLOISON_RETURN_IF_ERROR(approved);
    CLOISON_ASSIGN_OR_RETURN(iam::Account acc, iam.repo->GetAccount(created.id));
    t.username = acc.username;
    t.api_key = Text(created.secret);
    t.scopes = acc.technical.scopes;
    t.networks = acc.technical.networks;
    t.expires_at = IsoTime(acc.technical.expires_at);
    t.requested_by = requester.account.username;
    t.approved_by = approver.account.username;
    return t;
  }
  return FailedPrecondition(StrCat("no free name for the demo technical account (", base, "-N)"));
}

}  // namespace

std::string DemoAccountsPath(const Context& ctx) { return ctx.path("demo-accounts.json"); }

StatusOr<DemoAccounts> EnsureDemoAccounts(const Context& ctx, store::Store& store) {
  CLOISON_RETURN_IF_ERROR(crypto::InitCrypto());
  const std::string path = DemoAccountsPath(ctx);
  CLOISON_ASSIGN_OR_RETURN(auto iam, OpenIam(ctx, store));
  if (std::filesystem::exists(path)) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto parsed = FromJson(ss.str());
    if (parsed.ok()) {
      CLOISON_ASSIGN_OR_RETURN(bool valid, StillValid(*iam, *parsed));
      if (valid) {
        ::chmod(path.c_str(), 0600);
        parsed->path = path;
        parsed->reused = true;
        CLOISON_RETURN_IF_ERROR(iam->log->Close());
        return parsed;
      }
    }
  }

  // Choose, import the agents, set the credentials, write the file.
  CLOISON_ASSIGN_OR_RETURN(auto structures, store.ListStructures());
  CLOISON_ASSIGN_OR_RETURN(auto agents, store.ListAgents());
  CLOISON_ASSIGN_OR_RETURN(auto index, policy::RelationIndex::Build(store));
  const Date today = Date::FromDays(SystemClock::Instance().NowSeconds() / 86400);
  Planner planner(store, std::move(structures), std::move(agents), std::move(index), today);
  CLOISON_ASSIGN_OR_RETURN(Plan plan, planner.Make());
  CLOISON_ASSIGN_OR_RETURN(auto all_agents, store.ListAgents());
  CLOISON_RETURN_IF_ERROR(iam->service->ImportAgents(all_agents).status());

  DemoAccounts out;
  out.path = path;
  std::vector<Credentials> creds;
  for (const Chosen& c : plan.humans) {
    CLOISON_ASSIGN_OR_RETURN(Credentials cr, SetUpHuman(*iam, c));
    creds.push_back(std::move(cr));
  }
  CLOISON_ASSIGN_OR_RETURN(out.technical, SetUpTechnical(*iam, plan, creds[plan.requester], creds[plan.approver]));
  for (auto& c : creds) out.accounts.push_back(std::move(c.account));
  CLOISON_RETURN_IF_ERROR(WritePrivateFile(path, ToJson(out).dump(2) + "\n"));
  CLOISON_RETURN_IF_ERROR(iam->log->Close());
  return out;
}

void PrintDemoAccounts(std::ostream& out, const DemoAccounts& d) {
  out << "\nDemo accounts (" << (d.reused ? "reused; " : "") << "passwords, TOTP secrets and the API key in " << d.path
      << ", mode 0600)\n";
  auto pad = [](std::string s, size_t n) {
    if (s.size() < n) s.append(n - s.size(), ' ');
    return s;
  };
  for (size_t i = 0; i < d.accounts.size(); ++i) {
    const DemoAccount& a = d.accounts[i];
    std::string roles;
    for (Role r : a.roles) roles += StrCat(roles.empty() ? "" : ",", RoleName(r));
    out << "  " << pad(StrCat("[", i, "]"), 5) << pad(roles, 17) << pad(a.username, 34) << pad(a.structure.code, 16);
    if (a.read)
      out << "reads person " << a.read->person << " for " << a.read->purpose << (a.read->reveal_nir ? " (NIR revealable)" : "");
    else
      out << a.note;
    out << "\n";
  }
  const DemoTechnical& t = d.technical;
  std::string nets;
  for (const auto& n : t.networks) nets += StrCat(nets.empty() ? "" : ", ", n);
  out << "  " << pad("tech", 5) << pad("technical", 17) << pad(t.username, 34) << pad(t.structure.code, 16) << "API key, purpose "
      << t.purpose << ", from " << nets << ", expires " << t.expires_at.substr(0, 10);
  if (t.read) out << "; reads person " << t.read->person << " for " << t.read->purpose;
  out << "\n";
  if (!t.requested_by.empty())
    out << "       requested by " << t.requested_by << ", approved by " << t.approved_by
        << " (dual control: nobody creates a technical account alone)\n";
}

void PrintDemoCurlGuide(std::ostream& out, const DemoAccounts& d, const std::string& url, const std::string& cert_path) {
  std::error_code ec;
  const std::string file = std::filesystem::absolute(d.path, ec).lexically_normal().string();
  const std::string ca =
      cert_path.empty() ? "" : std::filesystem::absolute(cert_path, ec).lexically_normal().string();
  const std::string curl = ca.empty() ? "curl -s" : "curl -s --cacert \"$CA\"";
  const DemoAccount& a = d.accounts.front();
  out << "\nTry it from another terminal (curl, jq, oathtool):\n"
      << "  A=" << file << "\n";
  if (!ca.empty()) out << "  CA=" << ca << "   # the self-signed certificate (or curl -k)\n";
  out << "  URL=" << url << "\n"
      << "  # 1. log in as " << a.username << " (" << (a.roles.empty() ? "" : std::string(RoleName(a.roles[0]))) << ", "
      << a.structure.code << "): password + the current TOTP code\n"
      << "  #    (the secret is also in .accounts[0].totp_uri, for an authenticator app)\n"
      << "  BODY=$(jq -c --arg totp \"$(oathtool --totp -b \"$(jq -r '.accounts[0].totp_secret' \"$A\")\")\" \\\n"
      << "    '.accounts[0] | {username, password, totp: $totp}' \"$A\")\n"
      << "  TOKEN=$(" << curl << " \"$URL/v1/sessions\" -H 'Content-Type: application/json' -d \"$BODY\" | jq -r .token)\n";
  if (a.read) {
    out << "  # 2. read person " << a.read->person << " for the purpose " << a.read->purpose
        << ": only the fields the policy releases for it\n"
        << "  " << curl << " \"$URL/v1/people/" << a.read->person << "?purpose=" << a.read->purpose
        << "\" -H \"Authorization: Bearer $TOKEN\" | jq\n";
    if (a.read->reveal_nir)
      out << "  # 3. reveal the NIR: needs a written justification; recorded in the audit log\n"
          << "  " << curl << " \"$URL/v1/people/" << a.read->person << "/reveal\" -H \"Authorization: Bearer $TOKEN\" \\\n"
          << "    -H 'Content-Type: application/json' -d '{\"field\":\"nir\",\"purpose\":\"" << a.read->purpose
          << "\",\"justification\":\"" << kJustification << "\"}' | jq\n";
  }
  for (size_t i = 1; i < d.accounts.size(); ++i) {
    const DemoAccount& o = d.accounts[i];
    if (o.read && o.read->purpose == "accompaniment" && o.structure.id != a.structure.id) {
      out << "  # 4. a person followed by another structure (" << o.structure.code << "): 403, with the reason\n"
          << "  " << curl << " \"$URL/v1/people/" << o.read->person << "?purpose=accompaniment\" -H \"Authorization: Bearer $TOKEN\" | jq\n";
      break;
    }
  }
  out << "  # 5. log out (204)\n"
      << "  " << curl << " -o /dev/null -w '%{http_code}\\n' -X DELETE \"$URL/v1/sessions/current\" -H \"Authorization: Bearer $TOKEN\"\n";
  const DemoTechnical& t = d.technical;
  if (t.read)
    out << "  # 6. the technical account " << t.username << ": API key, from an allowed network, its integration purpose\n"
        << "  " << curl << " \"$URL/v1/people/" << t.read->person << "?purpose=" << t.read->purpose
        << "\" -H \"X-Api-Key: $(jq -r .technical.api_key \"$A\")\" | jq\n";
  out << "  # every account, what it can try: jq '.accounts[] | {username, roles, structure: .structure.code, read, note}' \"$A\"\n"
      << "  # a TOTP code is accepted once: to log in again as the same account, wait for the next 30 s\n";
}

}  // namespace cloison::cli
