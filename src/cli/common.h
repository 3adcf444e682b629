// Helpers shared by the command groups: opening the store with the master
// key, mapping a Status to an exit code and a one-line message.
#pragma once

#include <memory>
#include <string>

#include "cli/context.h"
#include "core/status.h"
#include "store/store.h"

namespace cloison::cli {

// Exit codes (documented in README.md):
//   0 success; 1 the command ran but the answer is "no" (rejected lines,
//   failed verification); 2 bad usage or bad input; 3 environment failure
//   (missing or wrong key, unreadable store, disk).
int ExitCodeFor(const Status& s);
// Prints "cloison: <what>: <message>" on ctx.err and sets ctx.exit_code.
void Fail(Context& ctx, std::string_view what, const Status& s);

// Opens the data directory's store with its master key.
StatusOr<std::unique_ptr<store::Store>> OpenStore(const Context& ctx, bool bulk = false);
// Creates the data directory (0700), its master key (unless CLOISON_MASTER_KEY
// is set) and an empty store. Idempotent: existing pieces are kept.
Status InitDataDir(const Context& ctx, bool& created_key);

// "1 600 000" style thousands separators for human output.
std::string Thousands(int64_t n);

void AddRecordsCommands(CLI::App& app, Context& ctx);  // records_cmd.cc: init, import, keys, stats
void AddGenerateCommands(CLI::App& app, Context& ctx);  // generate_cmd.cc: generate, demo

}  // namespace cloison::cli
