#include "cli/context.h"

namespace cloison::cli {
void AddAuditCommands(CLI::App& app, Context& ctx) {}
}  // namespace cloison::cli
