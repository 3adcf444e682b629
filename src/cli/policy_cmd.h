// cloison policy check FILE | policy explain --account A --person P --purpose U
//
//   check    validates a policy file (with the field catalog it references):
//            exit 0 and a summary when valid, exit 2 and "FILE:LINE: problem"
//            on standard error when not.
//   explain  decides one read against the store's relations and prints the
//            verdict, the rule (with its file and line), the relation path or
//            the denial reason, and the released fields: exit 0 allowed,
//            1 denied, 2 bad input, 3 environment failure.
#pragma once

#include "cli/context.h"

namespace cloison::cli {

void AddPolicyCommands(CLI::App& app, Context& ctx);

}  // namespace cloison::cli
