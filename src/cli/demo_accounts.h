// The demo's accounts: a handful of real accounts of the generated network
// (counsellors of an agency and of a mission locale, a partner user of a
// training organisation, an access manager, a regional security officer, a
// DPO, an auditor) and one technical account, with known credentials, so
// that someone trying `cloison demo` can log in to the running API at once.
//
// The credentials live only in DATA/demo-accounts.json (mode 0600; keys
// documented in docs/api.md, "Demo accounts"): random passwords per data
// directory, TOTP secrets as otpauth URIs, the technical account's API key.
// The database holds them only as iam always does (Argon2id, encrypted TOTP
// secret, keyed hash of the key).
//
// How the accounts get there, all through iam (src/iam/service.h):
//  - every store agent gets an iam account (ImportAgents);
//  - each chosen human account gets a fresh password
//    (ResetCredentialsForSetup), then enrols TOTP (BeginTotpEnrollment +
//    ConfirmTotpEnrollment with the code of the previous 30 s step, so that
//    the current step's code still logs in);
//  - the technical account (integration purpose enrolment_sync, at a training
//    organisation) goes through dual control like any other: the access
//    manager of the organisation requests it and the security officer of the
//    Région above approves it. The generated network has neither, so the demo
//    adds these two agents to the store ("demo.acces.<of>",
//    "demo.securite.<region>") and lists them in the file too.
//
// Re-running on the same data directory reuses the file when every account in
// it is still usable (exists, active, TOTP enrolled, technical not expiring
// within a day); otherwise (file missing, unreadable or stale) the accounts'
// credentials are reset and the file rewritten. A password changed by hand
// after the file was written is not noticed: delete the file to reset.
//
// Each account also names a person it can read and the purpose to use (chosen
// with the policy engine against today's UTC date, like the API decides), or
// null with a note for roles that read no file.
//
// Cost: about three Argon2id evaluations per human account (a dozen
// accounts: a second or two). Not thread-safe; run before serving.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/context.h"
#include "core/domain.h"
#include "core/status.h"
#include "store/store.h"

namespace cloison::cli {

struct DemoRead {
  int64_t person = 0;
  std::string purpose;
  bool reveal_nir = false;  // the rule lets this account reveal the NIR (with a justification)
};

struct DemoAccount {
  std::string username;
  std::string display_name;
  std::string password;
  std::string totp_secret;  // base32, what `oathtool --totp -b` takes
  std::string totp_uri;     // otpauth://totp/Cloison:<username>?secret=...&issuer=Cloison...
  Structure structure;
  std::vector<Role> roles;
  std::optional<DemoRead> read;
  std::string note;
};

struct DemoTechnical {
  std::string username;
  std::string api_key;
  Structure structure;
  std::string purpose;  // its integration purpose
  std::vector<std::string> scopes;
  std::vector<std::string> networks;
  std::string expires_at;  // ISO 8601 UTC
  std::string requested_by, approved_by;
  std::optional<DemoRead> read;
};

struct DemoAccounts {
  std::vector<DemoAccount> accounts;
  DemoTechnical technical;
  std::string path;     // the file
  bool reused = false;  // the file was valid and kept as it was
};

// The file's path in the data directory.
std::string DemoAccountsPath(const Context& ctx);

// Makes sure the demo accounts exist with the credentials in the file (see
// the file comment) and returns them. `store` is the data directory's store
// (the demo adds two agents to it). Errors: FailedPrecondition when the
// network lacks what the demo needs (no agency counsellor), IOError for the
// file, iam errors as they come.
StatusOr<DemoAccounts> EnsureDemoAccounts(const Context& ctx, store::Store& store);

// Prints the accounts as a short table (no secret: they are in the file).
void PrintDemoAccounts(std::ostream& out, const DemoAccounts& d);
// Prints copy-pasteable curl commands against `url` (login with password +
// TOTP through oathtool, a read, a reveal, the technical account's key,
// logout). `cert_path` empty: plain HTTP.
void PrintDemoCurlGuide(std::ostream& out, const DemoAccounts& d, const std::string& url, const std::string& cert_path);

}  // namespace cloison::cli
