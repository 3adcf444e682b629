#include "cli/serve_cmd.h"

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "api/guard_support.h"
#include "api/handler.h"
#include "api/server.h"
#include "audit/log.h"
#include "cli/audit_sink.h"
#include "cli/common.h"
#include "cli/guard_state.h"
#include "core/clock.h"
#include "core/strings.h"
#include "crypto/keys.h"
#include "crypto/secure_random.h"
#include "crypto/x509.h"
#include "guard/guard.h"
#include "iam/repository.h"
#include "iam/service.h"
#include "policy/policy.h"
#include "policy/relation_index.h"

namespace cloison::cli {

namespace {

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IOError(StrCat("cannot read ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Status RunServer(Context& ctx, const ServeArgs& a, const std::function<void(const ServingInfo&)>& on_ready) {
  // Block the stop signals first, so that every thread started below (audit
  // log, server I/O threads) inherits the mask and only sigwait takes them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  const size_t colon = a.listen.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("--listen must be ADDRESS:PORT");
  api::ServerOptions so;
  so.address = a.listen.substr(0, colon);
  if (so.address.size() > 2 && so.address.front() == '[' && so.address.back() == ']')
    so.address = so.address.substr(1, so.address.size() - 2);
  const std::string port_text = a.listen.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port_text) > 65535)
    return InvalidArgument("--listen: bad port");
  so.port = static_cast<uint16_t>(std::stoi(port_text));
  so.threads = a.threads;
  so.handler_threads = a.handler_threads;
  so.async_reads = !a.sync_reads;
  so.tls = !a.insecure_http;
  if (a.insecure_http && so.address != "127.0.0.1" && so.address != "::1" && so.address != "localhost")
    return InvalidArgument("--insecure-http is only allowed on a loopback address (benchmarks)");
  if (so.address == "localhost") so.address = "127.0.0.1";
  const std::string info_address = so.address;
  std::string cert_path;

  CLOISON_RETURN_IF_ERROR(crypto::InitCrypto());
  std::string cert_note;
  if (so.tls) {
    if (a.cert.empty() != a.key.empty()) return InvalidArgument("give both --cert and --key, or neither");
    std::string cert = a.cert, key = a.key;
    if (cert.empty()) {
      cert = ctx.path("tls/cert.pem");
      key = ctx.path("tls/key.pem");
      if (!std::filesystem::exists(cert) || !std::filesystem::exists(key)) {
        std::error_code ec;
        std::filesystem::create_directories(ctx.path("tls"), ec);
        ::chmod(ctx.path("tls").c_str(), 0700);
        CLOISON_ASSIGN_OR_RETURN(auto pair, crypto::GenerateSelfSigned());
        CLOISON_RETURN_IF_ERROR(crypto::WriteCertificateFiles(pair, cert, key));
        cert_note = " (self-signed demo certificate just generated)";
      }
    }
    CLOISON_ASSIGN_OR_RETURN(so.cert_pem, ReadFile(cert));
    CLOISON_ASSIGN_OR_RETURN(std::string key_text, ReadFile(key));
    so.key_pem = crypto::SecretBytes::FromString(key_text);
    std::fill(key_text.begin(), key_text.end(), '\0');
    cert_note = StrCat(", certificate ", cert, cert_note);
    cert_path = cert;
  }

  const policy::Policy* pol = &policy::Policy::Default();
  std::optional<policy::Policy> loaded;
  if (!a.policy_file.empty()) {
    CLOISON_ASSIGN_OR_RETURN(policy::Policy p, policy::Policy::LoadFile(a.policy_file));
    loaded.emplace(std::move(p));
    pol = &*loaded;
  }
  CLOISON_ASSIGN_OR_RETURN(auto store, OpenStore(ctx));
  CLOISON_ASSIGN_OR_RETURN(auto structures, store->ListStructures());
  std::map<StructureId, std::optional<StructureId>> parents;
  for (const Structure& s : structures) parents[s.id] = s.parent;
  CLOISON_ASSIGN_OR_RETURN(auto index, policy::RelationIndex::Build(*store));

  audit::LogOptions lo;
  lo.checkpoint_every_entries = static_cast<uint64_t>(a.audit_checkpoint_entries);
  lo.checkpoint_every_micros = a.audit_checkpoint_seconds * 1'000'000;
  // Records what crash recovery did; a log held by another process is a clear refusal.
  CLOISON_ASSIGN_OR_RETURN(auto log, OpenAuditLogForWriting(ctx, "serve", lo));
  audit::AuditLog* log_ptr = log.get();
  const Clock& clock = SystemClock::Instance();

  CLOISON_ASSIGN_OR_RETURN(auto master, crypto::LoadMasterKey(ctx.master_key_path()));
  CLOISON_ASSIGN_OR_RETURN(auto repo, iam::OpenSqliteAccountRepository(ctx.db_path()));
  auto parent_of = [&parents](StructureId id) -> std::optional<StructureId> {
    auto it = parents.find(id);
    return it == parents.end() ? std::nullopt : it->second;
  };
  CLOISON_ASSIGN_OR_RETURN(auto iam_service, iam::IamService::Create(*repo, master, clock, crypto::SecureRandom::Instance(),
                                                                     parent_of, iam::IamOptions{}, IamAuditSink(log_ptr)));

  // The guard, from the [guard] section of the policy in force.
  CLOISON_ASSIGN_OR_RETURN(guard::GuardConfig guard_config, GuardConfigFor(a.policy_file));
  std::unique_ptr<guard::Guard> guard = guard::Guard::Create(guard_config, clock);
  // One mutex for every call into iam: the handler's and the guard's
  // suspensions (IamAccountControl, called from the read path).
  std::mutex iam_mu;
  api::IamAccountControl control(*iam_service, iam_mu);

  api::HandlerDeps deps;
  deps.store = store.get();
  deps.iam = iam_service.get();
  deps.policy = pol;
  deps.index = index.get();
  deps.audit = log.get();
  deps.clock = &clock;
  deps.account_repo = repo.get();  // GET /v1/exposure analyses every account
  deps.guard = guard.get();
  deps.accounts = &control;
  deps.iam_mutex = &iam_mu;
  deps.query_digest_key = access::QueryDigester::KeyFromMaster(master);  // search digests survive restarts
  api::Handler handler(deps);

  // What the guard knew before this start, then what happened since: an
  // attacker cannot reset it by waiting for a restart.
  const auto guard_start = std::chrono::steady_clock::now();
  const std::string state_path = GuardStatePath(ctx);
  CLOISON_ASSIGN_OR_RETURN(GuardLoad load, LoadGuardState(*guard, *log, state_path));
  // The decoys planted in the store (cloison generate --honeytokens): any
  // read of one, or a listing that shows one, suspends.
  CLOISON_ASSIGN_OR_RETURN(std::vector<PersonId> decoys, store->ListDecoys());
  for (PersonId d : decoys) guard->AddHoneytoken(d);
  if (!load.problem.empty())
    *ctx.err << "cloison: guard: the saved state " << state_path << " was not loaded: " << load.problem
             << "; it is kept as " << state_path << ".damaged and the guard is rebuilt from the whole audit log "
             << "(the log is authoritative)\n";
  // Profiles before the replay (peer groups), after the load (reconciles
  // reinstatements approved while the server was down).
  CLOISON_ASSIGN_OR_RETURN(api::Handler::GuardSync sync, handler.SyncGuard());
  CLOISON_ASSIGN_OR_RETURN(Replay replay, ReplayAuditLog(*guard, *log, load.covered));
  const int64_t guard_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - guard_start).count();
  *ctx.out << "guard: "
           << (load.loaded ? StrCat("loaded ", state_path, " (", Thousands(static_cast<int64_t>(load.covered)),
                                    " audit entries), replayed the ", Thousands(static_cast<int64_t>(replay.entries)),
                                    " newer entries")
               : load.found ? StrCat("rebuilt from the whole audit log (", Thousands(static_cast<int64_t>(replay.entries)),
                                     " entries)")
                            : StrCat("no saved state: replayed the whole audit log (",
                                     Thousands(static_cast<int64_t>(replay.entries)), " entries)"))
           << ", " << Thousands(static_cast<int64_t>(replay.accesses)) << " accesses observed; "
           << Thousands(sync.registered) << " accounts registered, " << Thousands(static_cast<int64_t>(decoys.size()))
           << " honeytokens"
           << (sync.cleared > 0 ? StrCat(", ", sync.cleared, " cleared after a reinstatement") : std::string())
           << "; " << guard_ms << " ms\n";

  CLOISON_ASSIGN_OR_RETURN(auto server, api::Server::Create(handler, std::move(so)));

  // Periodically: pick up account changes made with the CLI, and save the
  // guard's state. The thread inherits the blocked stop signals.
  std::mutex tick_mu;
  std::condition_variable tick_cv;
  bool stopping = false;
  std::thread ticker([&] {
    const auto every = std::chrono::seconds(
        a.guard_save_seconds > 0 ? std::min(a.guard_save_seconds, 10) : 10);
    auto last_save = std::chrono::steady_clock::now();
    std::unique_lock lock(tick_mu);
    while (!tick_cv.wait_for(lock, every, [&] { return stopping; })) {
      lock.unlock();
      handler.SyncGuard().IgnoreError();  // retried at the next tick
      const auto now = std::chrono::steady_clock::now();
      if (a.guard_save_seconds > 0 && now - last_save >= std::chrono::seconds(a.guard_save_seconds)) {
        if (Status st = SaveGuardState(*guard, *log, state_path); !st.ok())
          *ctx.err << "cloison: guard: cannot save its state: " << MessageOf(st) << " (retried later)\n";
        last_save = now;
      }
      lock.lock();
    }
  });
  auto stop_ticker = [&] {
    {
      std::lock_guard lock(tick_mu);
      stopping = true;
    }
    tick_cv.notify_all();
    if (ticker.joinable()) ticker.join();
  };

  server->Start();
  ServingInfo info;
  info.port = server->port();
  const bool v6 = info_address.find(':') != std::string::npos;
  info.url = StrCat(a.insecure_http ? "http" : "https", "://", v6 ? "[" : "", info_address, v6 ? "]" : "", ":", info.port);
  info.cert_path = cert_path;
  *ctx.out << "cloison: serving " << info.url << " (" << Thousands(static_cast<int64_t>(index->person_count()))
           << " people, policy " << pol->source() << cert_note << ")\n";
  if (on_ready) {
    on_ready(info);
  } else {
    *ctx.out << "  try: curl " << (a.insecure_http ? "" : StrCat("--cacert ", cert_path, " ")) << info.url
             << "/v1/healthz\n";
  }
  ctx.out->flush();
  int sig = 0;
  sigwait(&set, &sig);
  *ctx.out << "cloison: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
           << ": finishing in-flight requests, then syncing the audit log\n";
  ctx.out->flush();
  server->Stop();
  server.reset();
  stop_ticker();
  // Nothing is served any more: the snapshot covers exactly the log.
  Status saved = SaveGuardState(*guard, *log, state_path);
  if (saved.ok()) *ctx.out << "cloison: guard state saved to " << state_path << "\n";
  else *ctx.err << "cloison: guard: cannot save its state: " << MessageOf(saved)
                << " (the next start replays the audit log instead)\n";
  Status closed = log->Close();
  if (!closed.ok()) return closed;
  return saved;
}

void AddServeCommands(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve the HTTP API (TLS by default) until SIGTERM");
  cmd->add_option("--listen", args->listen, "ADDRESS:PORT to listen on")->capture_default_str();
  cmd->add_flag("--insecure-http", args->insecure_http, "Plain HTTP, loopback only (benchmarks)");
  cmd->add_option("--cert", args->cert, "TLS certificate chain, PEM (default: DATA/tls/cert.pem, generated if missing)");
  cmd->add_option("--key", args->key, "TLS private key, PEM");
  cmd->add_option("--policy", args->policy_file, "Policy file (default: the compiled-in config/policy.toml)");
  cmd->add_option("--threads", args->threads, "I/O threads")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("--handler-threads", args->handler_threads,
                  "Workers that run requests off the I/O threads, so concurrent reads share one audit sync (0: on the I/O threads)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  cmd->add_flag("--sync-reads", args->sync_reads,
                "Run people reads like other requests (a worker waits for each read's audit sync) instead of "
                "answering them from the I/O thread once their audit entry is durable");
  cmd->add_option("--audit-checkpoint-entries", args->audit_checkpoint_entries,
                  "Sign an audit checkpoint after this many new entries (0: not by count)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000'000}));
  cmd->add_option("--audit-checkpoint-seconds", args->audit_checkpoint_seconds,
                  "Sign an audit checkpoint this often when entries were added (0: not by time)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{86'400 * 366}));
  cmd->add_option("--guard-save-seconds", args->guard_save_seconds,
                  "Save the guard's state to DATA/guard/state this often, and at the stop (0: only at the stop)")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400));
  cmd->callback([&ctx, args] {
    Status s = RunServer(ctx, *args, {});
    if (!s.ok()) Fail(ctx, "serve", s);
  });
}

}  // namespace cloison::cli
