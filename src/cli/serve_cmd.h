// `cloison serve`: the HTTP API (src/api) over the data directory's store,
// iam tables, policy and audit log, until SIGTERM/SIGINT (graceful stop:
// in-flight requests finish, then the audit log is synced and closed).
//
// RunServer is the one place where a server is assembled (store, relation
// index, policy, iam with its audit sink, the guard, handler, TLS): `cloison
// serve` and `cloison demo` both call it, so whatever is added to the read
// path is added once.
//
// The guard (docs/guard.md, "In the server"): configured from the [guard]
// section of the policy in force; its state is loaded from DATA/guard/state
// and the audit entries after it are replayed (no state: the whole log; a
// damaged one: reported on stderr, set aside, the whole log); every iam
// account is registered with its profile, and re-registered when it
// changes; a reinstatement approved while the server was down clears the
// guard's suspension of the account. Every `guard_save_seconds` and at a
// graceful stop the state is saved. One line on stdout says what was
// loaded and replayed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "cli/context.h"
#include "core/status.h"
#include "iam/events.h"

namespace cloison::audit {
class AuditLog;
}

namespace cloison::cli {

struct ServeArgs {
  std::string listen = "127.0.0.1:8443";  // ADDRESS:PORT; port 0 = any free port
  bool insecure_http = false;             // loopback only
  std::string cert, key;                  // PEM files; default DATA/tls/{cert,key}.pem (generated)
  std::string policy_file;                // default: the compiled-in policy
  int threads = 4;
  int handler_threads = 32;  // api::ServerOptions::handler_threads
  bool sync_reads = false;   // !api::ServerOptions::async_reads
  // The guard's state is saved to DATA/guard/state this often (and at a
  // graceful stop); 0: only at the stop.
  int guard_save_seconds = 300;
  // Signed audit checkpoints: after this many new entries, and this often
  // when entries were added (audit::LogOptions; 0 disables either rule).
  int64_t audit_checkpoint_entries = 100'000;
  int64_t audit_checkpoint_seconds = 60;
};

// What RunServer tells its caller once the server accepts connections.
struct ServingInfo {
  std::string url;        // "https://127.0.0.1:43817": scheme, address, bound port
  uint16_t port = 0;      // the bound port (the real one when --listen asked for 0)
  std::string cert_path;  // the certificate served (for curl --cacert); empty over plain HTTP
};

// Serves until SIGTERM or SIGINT, then stops gracefully and closes the audit
// log. Prints "cloison: serving <url> (...)" on ctx.out once listening, then
// calls `on_ready` (may be empty) from the calling thread before waiting.
// SIGTERM and SIGINT are blocked in the calling thread for the rest of the
// process (every thread started afterwards inherits the mask) and taken with
// sigwait. Errors: InvalidArgument for bad --listen/--cert/--key use, IOError
// when the port cannot be bound or a file read; the server is then not started.
Status RunServer(Context& ctx, const ServeArgs& args, const std::function<void(const ServingInfo&)>& on_ready);

void AddServeCommands(CLI::App& app, Context& ctx);

}  // namespace cloison::cli
