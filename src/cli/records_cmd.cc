// cloison init | import | keys rotate | stats
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/audit_sink.h"
#include "cli/common.h"
#include "core/field_catalog.h"
#include "core/strings.h"
#include "crypto/keys.h"
#include "ingest/importer.h"

namespace cloison::cli {

namespace {

void RunInit(Context& ctx) {
  bool created_key = false;
  Status s = InitDataDir(ctx, created_key);
  if (!s.ok()) return Fail(ctx, "init", s);
  *ctx.out << "Data directory: " << ctx.data_dir << "\n"
           << "  store:      " << ctx.db_path() << " (SQLite, WAL; sensitive fields encrypted)\n";
  if (created_key)
    *ctx.out << "  master key: " << ctx.master_key_path()
             << " (created, mode 0600: back it up apart from the data; without it nothing decrypts)\n";
  else
    *ctx.out << "  master key: existing (" << ctx.master_key_path() << " or $" << crypto::kMasterKeyEnv << ")\n";
}

// A one-line progress bar on stderr, only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label) : label_(std::move(label)), tty_(::isatty(STDERR_FILENO) == 1) {}
  void Update(uint64_t done, uint64_t total) {
    if (!tty_ || total == 0) return;
    const int pct = static_cast<int>(done * 100 / total);
    if (pct == last_) return;
    last_ = pct;
    const int filled = pct * 30 / 100;
    std::fprintf(stderr, "\r%s [%.*s%*s] %3d%%", label_.c_str(), filled, "##############################",
                 30 - filled, "", pct);
    std::fflush(stderr);
  }
  void Done() {
    if (tty_ && last_ >= 0) std::fprintf(stderr, "\n");
  }

 private:
  std::string label_;
  bool tty_;
  int last_ = -1;
};

struct ImportArgs {
  std::string file;
  std::string format;
  size_t batch = 20000;
  size_t show_errors = 20;
};

void RunImport(Context& ctx, const ImportArgs& args) {
  StatusOr<ingest::FileFormat> format = args.format.empty()      ? ingest::FormatFromPath(args.file)
                                        : args.format == "csv"   ? StatusOr<ingest::FileFormat>(ingest::FileFormat::kCsv)
                                        : args.format == "jsonl" ? StatusOr<ingest::FileFormat>(ingest::FileFormat::kJsonLines)
                                                                 : StatusOr<ingest::FileFormat>(InvalidArgument(
                                                                       "--format must be csv or jsonl"));
  if (!format.ok()) return Fail(ctx, "import", format.status());
  auto st = OpenStore(ctx);
  if (!st.ok()) return Fail(ctx, "import", st.status());
  // Importing into an empty store is a bulk load: nothing can be lost that a
  // re-run would not restore, so the store may defer its indexes and syncs.
  auto before = (*st)->Stats();
  if (!before.ok()) return Fail(ctx, "import", before.status());
  const bool bulk = before->persons + before->decoys == 0;
  if (bulk) {
    st->reset();
    st = OpenStore(ctx, /*bulk=*/true);
    if (!st.ok()) return Fail(ctx, "import", st.status());
  }
  auto importer = ingest::Importer::Create(**st, FieldCatalog::Default());
  if (!importer.ok()) return Fail(ctx, "import", importer.status());
  ProgressBar bar("importing");
  ingest::ImportOptions opts;
  opts.batch_size = args.batch;
  opts.progress = [&](uint64_t done, uint64_t total) { bar.Update(done, total); };
  // Wall time of the two phases, for the summary (an operator sizing a
  // migration wants both; the index build happens only on a bulk load).
  const auto started = std::chrono::steady_clock::now();
  auto report = importer->ImportFile(args.file, *format, opts);
  bar.Done();
  if (!report.ok()) return Fail(ctx, "import", report.status());
  const auto loaded = std::chrono::steady_clock::now();
  if (bulk) {
    Status fin = (*st)->FinishBulkLoad();
    if (!fin.ok()) return Fail(ctx, "import", fin);
  }
  const auto finished = std::chrono::steady_clock::now();
  auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
  for (size_t i = 0; i < report->errors.size() && i < args.show_errors; ++i)
    *ctx.err << args.file << ":" << report->errors[i].line << ": " << report->errors[i].message << "\n";
  if (report->rejected > static_cast<int64_t>(args.show_errors))
    *ctx.err << "... and " << (report->rejected - static_cast<int64_t>(args.show_errors))
             << " more rejected lines\n";
  *ctx.out << "import " << args.file << ": " << Thousands(report->records) << " records read, "
           << Thousands(report->inserted) << " inserted, " << Thousands(report->updated) << " updated, "
           << Thousands(report->rejected) << " rejected";
  char timing[96];
  if (bulk)
    std::snprintf(timing, sizeof timing, " in %.1f s (%.1f s writing, %.1f s building indexes)",
                  secs(finished - started), secs(loaded - started), secs(finished - loaded));
  else
    std::snprintf(timing, sizeof timing, " in %.1f s", secs(finished - started));
  *ctx.out << timing << "\n";
  ctx.exit_code = report->rejected > 0 ? 1 : 0;
}

// Encrypted values under keys other than `active`.
StatusOr<int64_t> ValuesUnderOlderKeys(store::Store& st, uint32_t active) {
  CLOISON_ASSIGN_OR_RETURN(auto stats, st.Stats());
  int64_t n = 0;
  for (const auto& [id, count] : stats.values_per_key)
    if (static_cast<uint32_t>(id) != active) n += count;
  return n;
}

// The rotation is recorded in the audit log (key_rotation events: started
// once the new key is active, then completed or failed, with the number of
// values moved; never key material). The log is opened first: while a
// server holds it, nothing is rotated.
void RunKeysRotate(Context& ctx, int64_t batch) {
  auto st = OpenStore(ctx);
  if (!st.ok()) return Fail(ctx, "keys rotate", st.status());
  auto log = OpenAuditLogForWriting(ctx, "keys rotate");
  if (!log.ok()) return Fail(ctx, "keys rotate", log.status());
  const Clock& clock = SystemClock::Instance();
  auto record = [&](audit::Event e) -> Status { return (*log)->Append(e).status(); };
  auto id = (*st)->AddKeyAndActivate();
  if (!id.ok()) {
    audit::Event e = KeyRotationEvent(clock.NowMicros(), "failed", 0);
    e.details["step"] = "add key";
    (void)record(e);  // the rotation's error is the one to report
    return Fail(ctx, "keys rotate", id.status());
  }
  auto before = ValuesUnderOlderKeys(**st, *id);
  if (!before.ok()) return Fail(ctx, "keys rotate", before.status());
  {
    audit::Event e = KeyRotationEvent(clock.NowMicros(), "started", *id);
    e.numbers["values_to_reencrypt"] = *before;
    if (Status s = record(e); !s.ok()) {
      return Fail(ctx, "keys rotate",
                  IOError(StrCat("key ", *id, " is active for new writes, but the audit log could not record the "
                                 "rotation, so nothing was re-encrypted: ", MessageOf(s))));
    }
  }
  *ctx.out << "new data key " << *id << " is active for new writes; re-encrypting existing records\n";
  ProgressBar bar("re-encrypting");
  int64_t first_remaining = -1, done = 0, batches = 0;
  auto finish = [&](std::string_view decision, std::string_view step) -> Status {
    audit::Event e = KeyRotationEvent(clock.NowMicros(), decision, *id);
    e.numbers["batches"] = batches;
    if (auto left = ValuesUnderOlderKeys(**st, *id); left.ok()) {
      e.numbers["values_reencrypted"] = *before - *left;
      e.numbers["values_remaining"] = *left;
    }
    if (!step.empty()) e.details["step"] = std::string(step);
    CLOISON_RETURN_IF_ERROR(record(e));
    return (*log)->Close();
  };
  for (;;) {
    auto remaining = (*st)->ReencryptBatch(batch);
    if (!remaining.ok()) {
      bar.Done();
      (void)finish("failed", "re-encrypt");
      return Fail(ctx, "keys rotate", remaining.status());
    }
    ++batches;
    if (first_remaining < 0) first_remaining = *remaining + std::min<int64_t>(batch, *remaining + batch);
    done = first_remaining - *remaining;
    bar.Update(static_cast<uint64_t>(done), static_cast<uint64_t>(std::max<int64_t>(first_remaining, 1)));
    if (*remaining == 0) break;
  }
  bar.Done();
  if (Status s = finish("completed", ""); !s.ok()) {
    return Fail(ctx, "keys rotate",
                IOError(StrCat("re-encryption complete, but the audit log could not record it: ", MessageOf(s))));
  }
  *ctx.out << "rotation complete: every record is encrypted under key " << *id
           << " (older keys are kept to read backups; see docs/storage-format.md)\n";
}

void RunStats(Context& ctx, bool json) {
  auto st = OpenStore(ctx);
  if (!st.ok()) return Fail(ctx, "stats", st.status());
  auto s = (*st)->Stats();
  if (!s.ok()) return Fail(ctx, "stats", s.status());
  if (json) {
    nlohmann::json j = {{"structures", s->structures}, {"agents", s->agents},
                        {"persons", s->persons},       {"decoys", s->decoys},
                        {"formations", s->formations},
                        {"training_sessions", s->training_sessions}, {"orientations", s->orientations},
                        {"active_key_id", s->active_key_id}, {"schema_version", s->schema_version}};
    nlohmann::json keys = nlohmann::json::object();
    for (const auto& [id, n] : s->values_per_key) keys[std::to_string(id)] = n;
    j["encrypted_values_per_key"] = keys;
    *ctx.out << j.dump(2) << "\n";
    return;
  }
  *ctx.out << "store " << ctx.db_path() << " (schema v" << s->schema_version << ")\n"
           << "  structures         " << Thousands(s->structures) << "\n"
           << "  agents             " << Thousands(s->agents) << "\n"
           << "  people             " << Thousands(s->persons)
           << (s->decoys > 0 ? StrCat(" (+ ", Thousands(s->decoys), " decoys, the guard's honeytokens)") : std::string())
           << "\n"
           << "  formations         " << Thousands(s->formations) << "\n"
           << "  training sessions  " << Thousands(s->training_sessions) << "\n"
           << "  orientations       " << Thousands(s->orientations) << "\n"
           << "  active data key    " << s->active_key_id << "\n";
  for (const auto& [id, n] : s->values_per_key)
    *ctx.out << "  values under key " << id << "  " << Thousands(n) << "\n";
}

}  // namespace

void AddRecordsCommands(CLI::App& app, Context& ctx) {
  app.add_subcommand("init", "Create the data directory, its master key (0600) and an empty store")
      ->callback([&ctx] { RunInit(ctx); });

  auto args = std::make_shared<ImportArgs>();
  auto* imp = app.add_subcommand("import", "Import people from a CSV or JSON Lines file (docs/import-format.md)");
  imp->add_option("file", args->file, "CSV (.csv) or JSON Lines (.jsonl) file")->required();
  imp->add_option("--format", args->format, "csv or jsonl (default: from the file name)");
  imp->add_option("--batch", args->batch, "people per transaction")->capture_default_str()->check(CLI::Range(1, 1000000));
  imp->add_option("--show-errors", args->show_errors, "how many rejected lines to print")->capture_default_str();
  imp->callback([&ctx, args] { RunImport(ctx, *args); });

  auto* keys = app.add_subcommand("keys", "Manage data-encryption keys");
  keys->require_subcommand(1);
  auto batch = std::make_shared<int64_t>(10000);
  auto* rotate = keys->add_subcommand("rotate", "Add a data key, make it active, re-encrypt every record in batches");
  rotate->add_option("--batch", *batch, "people re-encrypted per transaction")->capture_default_str()->check(CLI::Range(1, 1000000));
  rotate->callback([&ctx, batch] { RunKeysRotate(ctx, *batch); });

  auto json = std::make_shared<bool>(false);
  auto* stats = app.add_subcommand("stats", "Counts of what the store holds, and key usage");
  stats->add_flag("--json", *json, "print JSON");
  stats->callback([&ctx, json] { RunStats(ctx, *json); });
}

}  // namespace cloison::cli
