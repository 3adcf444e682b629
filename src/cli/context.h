// Shared state of one `cloison` invocation: where the data live and where to
// print. Each command group registers its subcommands on the CLI11 app and
// reports its outcome through `exit_code` (0 success, 1 "the answer is no" /
// rejected lines, 2 bad usage or input, 3 environment failure).
#pragma once

#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "core/clock.h"

namespace cloison::cli {

struct Context {
  std::string data_dir = "./cloison-data";
  std::string program = "cloison";  // how the user invoked us, for "try next" hints
  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;
  int exit_code = 0;
  // Where "now" and "today" come from (tests run commands in-process with a
  // FakeClock). Commands that still call SystemClock::Instance() directly
  // should move to this.
  const Clock* clock = &SystemClock::Instance();

  std::string path(const std::string& name) const { return data_dir + "/" + name; }
  std::string master_key_path() const { return path("master.key"); }
  std::string db_path() const { return path("cloison.db"); }
  std::string audit_dir() const { return path("audit"); }
};

// Each command group lives in its own file.
void AddAuditCommands(CLI::App& app, Context& ctx);  // audit_cmd.cc
void AddGuardCommands(CLI::App& app, Context& ctx);  // guard_cmd.cc: guard alerts

}  // namespace cloison::cli
