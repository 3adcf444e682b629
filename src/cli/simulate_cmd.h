// `cloison simulate`: the traffic simulator (src/sim/traffic.h) with attack
// scenarios, printing what the guard contained and its false alerts.
#pragma once

#include "cli/context.h"

namespace cloison::cli {

void AddSimulateCommands(CLI::App& app, Context& ctx);

}  // namespace cloison::cli
