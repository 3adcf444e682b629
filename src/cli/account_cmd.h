// cloison account ... | cloison request ...: accounts and dual control (src/iam).
//
//   account bootstrap --username U --structure CODE [--name N] [--role R]...
//            first account of an empty iam (default role security_officer);
//            prints its one-time initial password
//   account import-agents      gives every store agent an iam account (no password yet)
//   account mfa-enroll --as U  starts TOTP enrolment: prints the secret and otpauth URI
//   account mfa-confirm --as U --totp CODE   finishes it: prints the recovery codes (once)
//   account passwd --as U      changes the password (new one from --new-password-file or a prompt)
//   account create --as U --username X --structure CODE --reason R
//            (--role R... [--name N]) | (--technical --purpose P --scope S... --network CIDR...
//            --expires-days D [--quota Q])
//   account list --as U [--created-by USER]
//   account show --as U USER
//   account suspend --as U USER --reason R          (immediate)
//   account reinstate --as U USER --reason R [--expires-days D]   (change request)
//   account reset-mfa --as U USER --reason R         (change request)
//   account grant-role --as U USER ROLE --reason R   (change request)
//   request list --as U [--status S] | request show --as U ID
//   request approve --as U ID [--note N] | request reject --as U ID --note N
//
// The acting account authenticates like any login: --as USERNAME, the
// password from --password-file FILE, else $CLOISON_PASSWORD, else a prompt
// on the terminal (no echo); the TOTP code from --totp, else $CLOISON_TOTP,
// else a prompt when the account needs one. Each invocation opens a session
// and closes it before exiting. Secrets (initial passwords, API keys,
// recovery codes) are printed once on standard output and never logged.
//
// Exit codes: 0 done (a change request filed counts as done: its id is
// printed), 1 refused (authentication, permission, dual-control rule),
// 2 bad input, 3 environment failure.
#pragma once

#include "cli/context.h"

namespace cloison::cli {

void AddAccountCommands(CLI::App& app, Context& ctx);

}  // namespace cloison::cli
