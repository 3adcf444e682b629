// `cloison serve`: the HTTP API (src/api) over the data directory's store,
// iam tables, policy and audit log, until SIGTERM/SIGINT (graceful stop:
// in-flight requests finish, then the audit log is synced and closed).
#pragma once

#include "cli/context.h"

namespace cloison::cli {

void AddServeCommands(CLI::App& app, Context& ctx);

}  // namespace cloison::cli
