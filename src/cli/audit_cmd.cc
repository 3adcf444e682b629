// `cloison audit ...`: checkpoints, proofs, verification and export of the
// audit log (src/audit, docs/audit-format.md). Exit codes as everywhere: 0
// yes/success, 1 the answer is no (a proof or log that does not verify),
// 2 malformed input or usage, 3 environment failure.
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "audit/checkpoint.h"
#include "audit/export.h"
#include "audit/log.h"
#include "audit/merkle.h"
#include "audit/query_index.h"
#include "audit/verify.h"
#include "cli/audit_sink.h"
#include "cli/context.h"
#include "core/strings.h"
#include "crypto/aead.h"
#include "crypto/base64.h"

namespace cloison::cli {
namespace {

using audit::AuditLog;
using audit::Hash;

int ExitFor(const Status& s) {
  if (s.ok()) return 0;
  if (s.code() == absl::StatusCode::kInvalidArgument) return 2;
  if (IsCorruption(s) || s.code() == absl::StatusCode::kUnauthenticated) return 1;
  return 3;
}

void Report(Context& ctx, std::string_view what, const Status& s) {
  *ctx.err << "cloison: " << what << ": " << MessageOf(s) << "\n";
  ctx.exit_code = ExitFor(s);
}

StatusOr<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Opens the log for the read-side commands: no checkpoint is signed as a
// side effect, except by `checkpoint --new`. Open still cuts a torn tail,
// and that is then recorded in the log (AppendRecoveryEvent).
StatusOr<std::unique_ptr<AuditLog>> OpenLog(const Context& ctx, bool create, std::string_view command) {
  if (!create && !audit::FileSystem::Default().Exists(ctx.audit_dir() + "/entries.log")) {
    return NotFound(StrCat("no audit log in ", ctx.audit_dir()));
  }
  audit::LogOptions o;
  o.create_if_missing = create;
  o.checkpoint_on_open = false;
  o.checkpoint_on_close = false;
  o.checkpoint_every_entries = 0;
  o.checkpoint_every_micros = 0;
  return OpenAuditLogForWriting(ctx, command, o);
}

// `audit export` records itself (kind export): before any entry leaves,
// what is exported and to what kind of destination (never the path or host),
// then how it ended. The range excludes these events themselves.
audit::Event ExportEvent(std::string_view decision, std::string_view format, std::string_view destination,
                         uint64_t from, uint64_t to) {
  audit::Event e;
  e.kind = audit::EventKind::kExport;
  e.time = SystemClock::Instance().NowMicros();
  e.decision = std::string(decision);
  e.reason = "cloison audit export";
  e.details["format"] = std::string(format);
  e.details["destination"] = std::string(destination);
  e.numbers["from"] = static_cast<int64_t>(from);
  e.numbers["to"] = static_cast<int64_t>(to);
  e.numbers["entries"] = static_cast<int64_t>(to > from ? to - from : 0);
  return e;
}

std::string B64(const Hash& h) { return crypto::Base64Encode(h); }

nlohmann::json HashList(const std::vector<Hash>& v) {
  auto a = nlohmann::json::array();
  for (const auto& h : v) a.push_back(B64(h));
  return a;
}

StatusOr<std::vector<uint8_t>> DecodeB64(const nlohmann::json& j, std::string_view what) {
  if (!j.is_string()) return InvalidArgument(StrCat(what, " is not a base64 string"));
  auto b = crypto::Base64Decode(j.get<std::string>());
  if (!b.ok()) return InvalidArgument(StrCat(what, ": ", MessageOf(b.status())));
  return std::move(*b);
}

StatusOr<uint64_t> GetU64(const nlohmann::json& obj, const char* key) {
  if (!obj.contains(key)) return InvalidArgument(StrCat("missing \"", key, "\""));
  const auto& v = obj[key];
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    return InvalidArgument(StrCat("\"", key, "\" is not a non-negative integer below 2^64"));
  }
  return v.get<uint64_t>();
}

StatusOr<nlohmann::json> ParseJsonFile(const std::string& path) {
  CLOISON_ASSIGN_OR_RETURN(std::string text, ReadAll(path));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    return InvalidArgument(StrCat(path, " is not JSON"));
  }
}

struct TreeHead {
  uint64_t size = 0;
  std::vector<uint8_t> root;
  std::string note;  // set when it came from a signed note
};

// A get-sth answer (tree_size, sha256_root_hash, ...) or a Cloison checkpoint note.
StatusOr<TreeHead> ReadTreeHead(const std::string& path) {
  CLOISON_ASSIGN_OR_RETURN(std::string text, ReadAll(path));
  TreeHead th;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    if (!j.is_object()) return InvalidArgument("STH is not a JSON object");
    CLOISON_ASSIGN_OR_RETURN(th.size, GetU64(j, "tree_size"));
    if (!j.contains("sha256_root_hash")) return InvalidArgument("STH has no \"sha256_root_hash\"");
    CLOISON_ASSIGN_OR_RETURN(th.root, DecodeB64(j["sha256_root_hash"], "sha256_root_hash"));
    return th;
  }
  auto c = audit::ParseCheckpoint(text);
  if (!c.ok()) return InvalidArgument(StrCat(path, ": neither a get-sth JSON answer nor a checkpoint (",
                                             MessageOf(c.status()), ")"));
  th.size = c->size;
  th.root.assign(c->root.begin(), c->root.end());
  th.note = text;
  return th;
}

StatusOr<std::vector<audit::Bytes>> ProofList(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_array()) {
    return InvalidArgument(StrCat("proof has no \"", key, "\" array"));
  }
  std::vector<audit::Bytes> out;
  for (const auto& e : j[key]) {
    CLOISON_ASSIGN_OR_RETURN(auto b, DecodeB64(e, StrCat(key, " element")));
    out.push_back(std::move(b));
  }
  return out;
}

struct VerifyProofArgs {
  std::string sth, inclusion, consistency, leaf_input, leaf_hash, old_root, verifier_key;
  std::optional<uint64_t> old_size;
};

// OK: holds; InvalidArgument: malformed; Corruption/Unauthenticated: does not hold.
StatusOr<std::string> VerifyProof(const VerifyProofArgs& a) {
  if (a.inclusion.empty() == a.consistency.empty()) {
    return InvalidArgument("give exactly one of --inclusion and --consistency");
  }
  CLOISON_ASSIGN_OR_RETURN(TreeHead th, ReadTreeHead(a.sth));
  if (!a.verifier_key.empty()) {
    if (th.note.empty()) return InvalidArgument("--verifier-key needs a signed checkpoint as --sth");
    CLOISON_ASSIGN_OR_RETURN(std::string key, ReadAll(a.verifier_key));
    CLOISON_ASSIGN_OR_RETURN(auto v, audit::NoteVerifier::FromVerifierKey(key));
    CLOISON_RETURN_IF_ERROR(v.Verify(th.note));
  }
  if (!a.inclusion.empty()) {
    if (a.leaf_input.empty() == a.leaf_hash.empty()) {
      return InvalidArgument("give exactly one of --leaf-input and --leaf-hash");
    }
    CLOISON_ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonFile(a.inclusion));
    if (!j.is_object()) return InvalidArgument("inclusion proof is not a JSON object");
    CLOISON_ASSIGN_OR_RETURN(uint64_t index, GetU64(j, "leaf_index"));
    CLOISON_ASSIGN_OR_RETURN(auto path, ProofList(j, "audit_path"));
    audit::Bytes leaf;
    if (!a.leaf_input.empty()) {
      CLOISON_ASSIGN_OR_RETURN(std::string input, ReadAll(a.leaf_input));
      const Hash h = audit::HashLeaf(crypto::AsBytes(input));
      leaf.assign(h.begin(), h.end());
    } else {
      CLOISON_ASSIGN_OR_RETURN(leaf, DecodeB64(nlohmann::json(a.leaf_hash), "--leaf-hash"));
    }
    CLOISON_RETURN_IF_ERROR(audit::VerifyInclusionBytes(index, th.size, leaf, path, th.root));
    return StrCat("inclusion proof holds: leaf ", index, " is in the tree of size ", th.size);
  }
  if (!a.old_size || a.old_root.empty()) return InvalidArgument("--consistency needs --old-size and --old-root");
  CLOISON_ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonFile(a.consistency));
  CLOISON_ASSIGN_OR_RETURN(auto path, ProofList(j, "consistency"));
  CLOISON_ASSIGN_OR_RETURN(auto old_root, DecodeB64(nlohmann::json(a.old_root), "--old-root"));
  CLOISON_RETURN_IF_ERROR(audit::VerifyConsistencyBytes(*a.old_size, th.size, old_root, th.root, path));
  return StrCat("consistency proof holds: the tree of size ", th.size, " extends the tree of size ", *a.old_size);
}

}  // namespace

void AddAuditCommands(CLI::App& app, Context& ctx) {
  auto* audit_cmd = app.add_subcommand("audit", "The audit log: checkpoints, proofs, verification, export");
  audit_cmd->require_subcommand(1);

  // checkpoint
  auto* cp = audit_cmd->add_subcommand("checkpoint", "Print the latest signed checkpoint (C2SP tlog-checkpoint note)");
  static bool cp_new = false;
  cp->add_flag("--new", cp_new, "Sign a checkpoint of the current log now, then print it");
  cp->callback([&ctx] {
    auto log = OpenLog(ctx, cp_new, "audit checkpoint");
    if (!log.ok()) return Report(ctx, "audit checkpoint", log.status());
    std::optional<audit::SignedCheckpoint> c;
    if (cp_new) {
      auto issued = (*log)->IssueCheckpoint();
      if (!issued.ok()) return Report(ctx, "audit checkpoint", issued.status());
      c = *issued;
    } else {
      c = (*log)->LatestCheckpoint();
    }
    if (!c) {
      *ctx.err << "cloison: audit checkpoint: no checkpoint yet (use --new)\n";
      ctx.exit_code = 1;
      return;
    }
    *ctx.out << c->note;
  });

  // proof
  auto* pr = audit_cmd->add_subcommand(
      "proof", "Print an inclusion proof (--index I [--size N]) or a consistency proof (--from M --to N) as RFC 6962 JSON");
  static std::optional<uint64_t> pr_index, pr_size, pr_from, pr_to;
  pr->add_option("--index", pr_index, "Leaf index for an inclusion proof");
  pr->add_option("--size", pr_size, "Tree size (default: the latest checkpoint's)");
  pr->add_option("--from", pr_from, "Old tree size for a consistency proof");
  pr->add_option("--to", pr_to, "New tree size (default: the latest checkpoint's)");
  pr->callback([&ctx] {
    if (pr_index.has_value() == pr_from.has_value()) {
      return Report(ctx, "audit proof", InvalidArgument("give either --index or --from"));
    }
    auto log = OpenLog(ctx, false, "audit proof");
    if (!log.ok()) return Report(ctx, "audit proof", log.status());
    auto latest = (*log)->LatestCheckpoint();
    const uint64_t def = latest ? latest->checkpoint.size : (*log)->size();
    if (pr_index) {
      const uint64_t n = pr_size.value_or(def);
      auto p = (*log)->InclusionProof(*pr_index, n);
      if (!p.ok()) return Report(ctx, "audit proof", p.status());
      nlohmann::json j = {{"leaf_index", *pr_index}, {"audit_path", HashList(*p)}};
      *ctx.out << j.dump() << "\n";
    } else {
      const uint64_t n = pr_to.value_or(def);
      auto p = (*log)->ConsistencyProof(*pr_from, n);
      if (!p.ok()) return Report(ctx, "audit proof", p.status());
      nlohmann::json j = {{"consistency", HashList(*p)}};
      *ctx.out << j.dump() << "\n";
    }
  });

  // verify
  auto* ve = audit_cmd->add_subcommand(
      "verify", "Recompute the Merkle tree from the stored entries and check every stored checkpoint");
  static std::string ve_checkpoint;
  static bool ve_strict = false, ve_decode = false, ve_no_key = false, ve_every_tag = false;
  ve->add_option("--checkpoint", ve_checkpoint, "Also check against a checkpoint kept earlier (detects rewriting and truncation)");
  ve->add_flag("--strict", ve_strict, "Fail when entries are not yet covered by a signed checkpoint");
  ve->add_flag("--decode", ve_decode, "Also check that every entry is a canonical event");
  ve->add_flag("--no-signing-key", ve_no_key,
               "Do not use DATA/audit/signing.key to authenticate uncovered entries (check as an auditor would)");
  ve->add_flag("--every-tag", ve_every_tag, "Also check the tags of entries checkpoints cover (slower)");
  ve->callback([&ctx] {
    audit::VerifyOptions o;
    o.decode_events = ve_decode;
    o.use_signing_key = !ve_no_key;
    o.check_every_tag = ve_every_tag;
    if (!ve_checkpoint.empty()) {
      auto text = ReadAll(ve_checkpoint);
      if (!text.ok()) return Report(ctx, "audit verify", text.status());
      o.external_checkpoint = *text;
    }
    if (!audit::FileSystem::Default().Exists(ctx.audit_dir() + "/entries.log")) {
      return Report(ctx, "audit verify", NotFound(StrCat("no audit log in ", ctx.audit_dir())));
    }
    auto rep = audit::VerifyLog(ctx.audit_dir(), o);
    if (!rep.ok()) return Report(ctx, "audit verify", rep.status());
    for (const auto& p : rep->problems) *ctx.err << "cloison: audit verify: " << p << "\n";
    const double rate = rep->seconds > 0 ? rep->entries / rep->seconds : 0;
    *ctx.out << "entries: " << rep->entries << "\ncheckpoints checked: " << rep->checkpoints_checked
             << "\nlatest checkpoint size: " << rep->latest_checkpoint_size
             << "\nuncovered entries: " << rep->uncovered_entries;
    if (rep->uncovered_entries > 0) {
      *ctx.out << " (authenticated by their tags: " << rep->uncovered_authenticated
               << ", not authenticated: " << rep->uncovered_unauthenticated << ", forged: " << rep->forged_entries
               << ")";
    }
    *ctx.out << "\nentry tags: "
             << (rep->format < 2            ? "none (format 1 log)"
                 : rep->signing_key_used ? "checked with the signing key"
                                         : "not checked (no signing key)")
             << "\ntorn tail bytes: " << rep->torn_tail_bytes
             << "\nleaves per second: " << static_cast<uint64_t>(rate) << "\n";
    // Entries after the latest checkpoint are covered by no signature: say
    // so prominently, and whether there is evidence the log wrote them.
    if (rep->uncovered_authenticated > 0) {
      *ctx.out << "WARNING: " << rep->uncovered_authenticated
               << " entries after the latest checkpoint are not signed yet; their tags show this log wrote them "
                  "(a writer is running, or it stopped before its next checkpoint): `"
               << ctx.program << " audit checkpoint --new` covers them\n";
    }
    if (rep->uncovered_unauthenticated > 0) {
      *ctx.out << "WARNING: " << rep->uncovered_unauthenticated
               << " entries after the latest checkpoint are covered by no signature and could not be authenticated "
               << (rep->format < 2 ? "(format 1 log: entries carry no tag)" : "here (no signing key)")
               << ": they are no evidence until a checkpoint covers them\n";
    }
    if (!rep->ok()) {
      *ctx.out << "FAILED: " << rep->problems.size() << " problem(s)\n";
      ctx.exit_code = 1;
    } else if (ve_strict && rep->uncovered_entries > 0) {
      *ctx.out << "FAILED: " << rep->uncovered_entries << " entries are not covered by a signed checkpoint\n";
      ctx.exit_code = 1;
    } else {
      *ctx.out << (rep->uncovered_entries > 0 ? "OK (see the warning)\n" : "OK\n");
    }
  });

  // verify-proof
  auto* vp = audit_cmd->add_subcommand(
      "verify-proof", "Check a stand-alone RFC 6962 inclusion or consistency proof against a tree head (no log needed)");
  static VerifyProofArgs vpa;
  static std::string vp_old_size;
  vp->add_option("--sth", vpa.sth, "Tree head: a get-sth JSON answer or a Cloison checkpoint")->required();
  vp->add_option("--inclusion", vpa.inclusion, "get-proof-by-hash JSON (leaf_index, audit_path)");
  vp->add_option("--leaf-input", vpa.leaf_input, "File with the leaf's exact bytes");
  vp->add_option("--leaf-hash", vpa.leaf_hash, "The leaf hash, base64");
  vp->add_option("--consistency", vpa.consistency, "get-sth-consistency JSON (consistency)");
  vp->add_option("--old-size", vp_old_size, "Old tree size");
  vp->add_option("--old-root", vpa.old_root, "Old root hash, base64");
  vp->add_option("--verifier-key", vpa.verifier_key, "File with a verifier key: also check the checkpoint's signature");
  vp->callback([&ctx] {
    if (!vp_old_size.empty()) {
      uint64_t v = 0;
      auto r = std::from_chars(vp_old_size.data(), vp_old_size.data() + vp_old_size.size(), v);
      if (r.ec != std::errc() || r.ptr != vp_old_size.data() + vp_old_size.size()) {
        return Report(ctx, "audit verify-proof", InvalidArgument("--old-size is not an integer below 2^64"));
      }
      vpa.old_size = v;
    }
    auto r = VerifyProof(vpa);
    if (!r.ok()) {
      const int code = ExitFor(r.status());
      *ctx.err << "cloison: audit verify-proof: " << (code == 1 ? "proof does not hold: " : "malformed input: ")
               << MessageOf(r.status()) << "\n";
      ctx.exit_code = code == 3 ? 2 : code;
      return;
    }
    *ctx.out << *r << "\n";
  });

  // export
  auto* ex = audit_cmd->add_subcommand("export", "Export entries as JSON Lines (default: stdout) or to syslog over TCP");
  static std::string ex_out, ex_syslog;
  static uint64_t ex_from = 0, ex_to = UINT64_MAX;
  ex->add_option("--out", ex_out, "Write JSON Lines to FILE");
  ex->add_option("--syslog", ex_syslog, "Send RFC 5424 messages to HOST:PORT over TCP");
  ex->add_option("--from", ex_from, "First leaf index");
  ex->add_option("--to", ex_to, "End leaf index (exclusive)");
  ex->callback([&ctx] {
    int port = 0;
    std::string host;
    if (!ex_syslog.empty()) {
      const auto colon = ex_syslog.rfind(':');
      if (colon == std::string::npos ||
          std::from_chars(ex_syslog.data() + colon + 1, ex_syslog.data() + ex_syslog.size(), port).ec != std::errc()) {
        return Report(ctx, "audit export", InvalidArgument("--syslog wants HOST:PORT"));
      }
      host = ex_syslog.substr(0, colon);
    }
    if (!audit::FileSystem::Default().Exists(ctx.audit_dir() + "/entries.log")) {
      return Report(ctx, "audit export", NotFound(StrCat("no audit log in ", ctx.audit_dir())));
    }
    // A writer: the export is recorded, and covered by the checkpoint at close.
    audit::LogOptions lo;
    lo.create_if_missing = false;
    auto log = OpenAuditLogForWriting(ctx, "audit export", lo);
    if (!log.ok()) return Report(ctx, "audit export", log.status());
    const uint64_t end = std::min(ex_to, (*log)->size());
    const std::string_view format = ex_syslog.empty() ? "jsonl" : "syslog";
    const std::string_view dest = !ex_syslog.empty() ? "syslog" : ex_out.empty() ? "stdout" : "file";
    if (auto r = (*log)->Append(ExportEvent("started", format, dest, ex_from, end)); !r.ok()) {
      return Report(ctx, "audit export", IOError(StrCat("the export could not be recorded, nothing was exported: ",
                                                        MessageOf(r.status()))));
    }
    Status s;
    uint64_t sent = end > ex_from ? end - ex_from : 0;
    if (!ex_syslog.empty()) {
      auto n = audit::ExportSyslog(**log, host, port, SystemClock::Instance(), ex_from, end);
      s = n.status();
      if (n.ok()) sent = *n;
    } else if (ex_out.empty()) {
      s = audit::ExportJsonLines(**log, *ctx.out, ex_from, end);
    } else {
      std::ofstream f(ex_out, std::ios::binary | std::ios::trunc);
      s = f ? audit::ExportJsonLines(**log, f, ex_from, end) : IOError(StrCat("cannot write ", ex_out));
    }
    audit::Event done = ExportEvent(s.ok() ? "completed" : "failed", format, dest, ex_from, end);
    done.numbers["sent"] = static_cast<int64_t>(s.ok() ? sent : 0);
    Status recorded = (*log)->Append(done).status();
    if (recorded.ok()) recorded = (*log)->Close();
    if (!s.ok()) return Report(ctx, "audit export", s);
    if (!recorded.ok()) return Report(ctx, "audit export", recorded);
    if (!ex_syslog.empty()) *ctx.err << "sent " << sent << " entries to " << ex_syslog << "\n";
  });

  // query
  auto* qu = audit_cmd->add_subcommand("query", "Entries by account or by person, in time order (JSON Lines)");
  static int64_t qu_account = 0, qu_person = 0, qu_since = 0, qu_until = INT64_MAX;
  static size_t qu_limit = 1000;
  qu->add_option("--account", qu_account, "Account id");
  qu->add_option("--person", qu_person, "Person id");
  qu->add_option("--since", qu_since, "From this time (Unix microseconds)");
  qu->add_option("--until", qu_until, "Before this time (Unix microseconds)");
  qu->add_option("--limit", qu_limit, "At most this many entries");
  qu->callback([&ctx] {
    if ((qu_account > 0) == (qu_person > 0)) {
      return Report(ctx, "audit query", InvalidArgument("give either --account or --person"));
    }
    auto log = OpenLog(ctx, false, "audit query");
    if (!log.ok()) return Report(ctx, "audit query", log.status());
    auto q = audit::QueryIndex::Open(ctx.audit_dir() + "/index.db");
    if (!q.ok()) return Report(ctx, "audit query", q.status());
    if (Status s = (*q)->CatchUp(**log); !s.ok()) return Report(ctx, "audit query", s);
    auto ids = qu_account > 0 ? (*q)->ByAccount(AccountId(qu_account), qu_since, qu_until, qu_limit)
                              : (*q)->ByPerson(PersonId(qu_person), qu_since, qu_until, qu_limit);
    if (!ids.ok()) return Report(ctx, "audit query", ids.status());
    for (uint64_t i : *ids) {
      if (Status s = audit::ExportJsonLines(**log, *ctx.out, i, i + 1); !s.ok()) return Report(ctx, "audit query", s);
    }
  });

  // append-test-events (hidden): load generation for tests and benchmarks.
  auto* at = audit_cmd->add_subcommand("append-test-events", "Append N synthetic events (testing)");
  at->group("");  // hidden
  static uint64_t at_n = 0;
  static int at_threads = 1;
  static bool at_ack = false;
  at->add_option("N", at_n, "How many events")->required();
  at->add_option("--threads", at_threads, "Concurrent writers");
  at->add_flag("--ack", at_ack, "Print each acknowledged leaf index on stdout as soon as Append returns");
  at->callback([&ctx] {
    auto log = OpenAuditLogForWriting(ctx, "audit append-test-events");
    if (!log.ok()) return Report(ctx, "audit append-test-events", log.status());
    std::atomic<uint64_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex out_mu;
    std::vector<std::thread> ts;
    for (int t = 0; t < std::max(1, at_threads); ++t) {
      ts.emplace_back([&, t] {
        uint64_t i;
        while (!failed && (i = next.fetch_add(1)) < at_n) {
          audit::Event e;
          e.kind = audit::EventKind::kSystem;
          e.time = SystemClock::Instance().NowMicros();
          e.account = AccountId(1 + t);
          e.details["seq"] = std::to_string(i);
          e.details["writer"] = std::to_string(t);
          auto idx = (*log)->Append(e);
          if (!idx.ok()) {
            failed = true;
            std::lock_guard<std::mutex> l(out_mu);
            Report(ctx, "audit append-test-events", idx.status());
            return;
          }
          if (at_ack) {
            // One write(2) per acknowledgement, so a SIGKILL cannot leave
            // a half-printed line in the pipe buffer of this process.
            const std::string line = StrCat(*idx, " ", i, "\n");
            std::lock_guard<std::mutex> l(out_mu);
            (void)!::write(1, line.data(), line.size());
          }
        }
      });
    }
    for (auto& th : ts) th.join();
    if (Status s = (*log)->Close(); !s.ok() && ctx.exit_code == 0) Report(ctx, "audit append-test-events", s);
  });
}

}  // namespace cloison::cli
