// cloison exposure [--json] [--top N] [--account USERNAME] [--date YYYY-MM-DD] [--policy FILE]
//
// For every account (iam's accounts, plus store agents not yet imported into
// iam, treated as active and out of probation): how many people and which
// field categories it reaches today directly, alone through privilege paths,
// and with one colluding approver; ranked by blast radius. See
// docs/exposure.md for the columns and the JSON keys.
//
//   --json            a JSON array of objects, one per account, in rank order
//   --top N           only the N first (default 20 for the table, all for JSON)
//   --account USER    only that account (its rank is still among all)
//   --date D          orientation windows as of D (default: today)
//   --policy FILE     a policy file (default: the compiled-in one)
//
// Reads the store (relations only, nothing decrypted) and iam's tables in
// the same database file; changes nothing (it creates iam's tables if they
// do not exist yet, like every iam command).
// Exit codes: 0 done, 2 bad input (unknown account, bad date, bad policy),
// 3 environment failure.
#pragma once

#include "cli/context.h"

namespace cloison::cli {

void AddExposureCommands(CLI::App& app, Context& ctx);

}  // namespace cloison::cli
