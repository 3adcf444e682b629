// cloison: one executable, subcommands per concern. See README.md.
#include "cli/account_cmd.h"
#include "cli/common.h"
#include "cli/exposure_cmd.h"
#include "cli/policy_cmd.h"
#include "cli/serve_cmd.h"
#include "cli/simulate_cmd.h"
#include "store/sqlite_store.h"

int main(int argc, char** argv) {
  cloison::store::ConfigureSqliteForProcess();
  CLI::App app{"Cloison: compartmented personal records with an audited, guarded read path"};
  app.require_subcommand(1);
  app.fallthrough();  // --data may also follow the subcommand
  cloison::cli::Context ctx;
  if (argc > 0 && argv[0] && std::string_view(argv[0]).find('/') != std::string_view::npos) ctx.program = argv[0];
  app.add_option("--data", ctx.data_dir, "Data directory (store, keys, audit log)")
      ->capture_default_str();
  cloison::cli::AddRecordsCommands(app, ctx);
  cloison::cli::AddGenerateCommands(app, ctx);
  cloison::cli::AddPolicyCommands(app, ctx);
  cloison::cli::AddExposureCommands(app, ctx);
  cloison::cli::AddAccountCommands(app, ctx);
  cloison::cli::AddAuditCommands(app, ctx);
  cloison::cli::AddGuardCommands(app, ctx);
  cloison::cli::AddServeCommands(app, ctx);
  cloison::cli::AddSimulateCommands(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return ctx.exit_code;
}
