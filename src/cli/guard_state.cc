#include "cli/guard_state.h"

#include <sys/stat.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/guard_support.h"
#include "audit/event.h"
#include "audit/file.h"
#include "audit/merkle.h"
#include "core/strings.h"

namespace cloison::cli {

namespace {

constexpr std::string_view kMagic = "CLOISON-SERVER-GUARD";
constexpr int kVersion = 1;

std::string DirOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

std::string GuardStatePath(const Context& ctx) { return ctx.path("guard/state"); }

StatusOr<guard::GuardConfig> GuardConfigFor(const std::string& policy_file) {
  if (policy_file.empty()) return guard::GuardConfig::Default();
  std::ifstream in(policy_file, std::ios::binary);
  if (!in) return IOError(StrCat("cannot read ", policy_file));
  std::ostringstream ss;
  ss << in.rdbuf();
  return guard::GuardConfig::FromPolicyText(ss.str(), policy_file);
}

Status SaveGuardState(const guard::Guard& guard, const audit::AuditLog& log, const std::string& path) {
  const uint64_t size = log.size();  // before the snapshot: see the header
  CLOISON_ASSIGN_OR_RETURN(audit::Hash root, log.RootAt(size));
  std::string body;
  CLOISON_RETURN_IF_ERROR(guard.SaveState(&body));
  std::string out = StrCat(kMagic, " ", kVersion, " ", size, " ", audit::HashToHex(root), "\n");
  out += body;
  const std::string dir = DirOf(path);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IOError(StrCat("cannot create ", dir, ": ", ec.message()));
  // The snapshot says who read how much: as private as the audit log.
  ::chmod(dir.c_str(), 0700);
  return audit::FileSystem::Default().WriteFileAtomic(path, out, 0600);
}

StatusOr<GuardLoad> LoadGuardState(guard::Guard& guard, const audit::AuditLog& log, const std::string& path) {
  GuardLoad out;
  audit::FileSystem& fs = audit::FileSystem::Default();
  if (!fs.Exists(path)) return out;
  out.found = true;
  CLOISON_ASSIGN_OR_RETURN(std::string text, fs.ReadFile(path));

  auto damaged = [&](std::string why) -> StatusOr<GuardLoad> {
    out.problem = std::move(why);
    // Kept for whoever investigates; the next save writes a fresh state.
    std::rename(path.c_str(), (path + ".damaged").c_str());
    return out;
  };
  const size_t eol = text.find('\n');
  if (eol == std::string::npos) return damaged("its header line is missing (truncated file)");
  const std::string_view header = std::string_view(text).substr(0, eol);
  // "<magic> <version> <size> <root>"
  std::vector<std::string_view> parts;
  for (size_t i = 0; i <= header.size();) {
    size_t j = header.find(' ', i);
    if (j == std::string_view::npos) j = header.size();
    parts.push_back(header.substr(i, j - i));
    i = j + 1;
  }
  uint64_t covered = 0;
  if (parts.size() != 4 || parts[0] != kMagic || parts[1] != "1" ||
      std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), covered).ec != std::errc() ||
      parts[3].size() != 64)
    return damaged("its header line is not a Cloison guard state header");
  if (covered > log.size())
    return damaged(StrCat("it covers ", covered, " audit entries but the audit log has only ", log.size(),
                          " (a state from another data directory, or a log that lost entries)"));
  CLOISON_ASSIGN_OR_RETURN(audit::Hash root, log.RootAt(covered));
  if (audit::HashToHex(root) != parts[3])
    return damaged(StrCat("it was saved against another audit log (the Merkle root at ", covered,
                          " entries differs)"));
  Status s = guard.LoadState(std::string_view(text).substr(eol + 1));
  if (IsCorruption(s)) return damaged(StrCat("the snapshot is damaged: ", MessageOf(s)));
  CLOISON_RETURN_IF_ERROR(s);
  out.loaded = true;
  out.covered = covered;
  return out;
}

StatusOr<Replay> ReplayAuditLog(guard::Guard& guard, const audit::AuditLog& log, uint64_t from) {
  Replay out;
  const uint64_t size = log.size();
  for (uint64_t i = from; i < size; ++i) {
    CLOISON_ASSIGN_OR_RETURN(std::string bytes, log.ReadEntry(i));
    ++out.entries;
    StatusOr<audit::Event> e = audit::DecodeEvent(bytes);
    if (!e.ok()) continue;
    std::optional<guard::Access> a = api::GuardAccessOf(*e);
    if (!a) continue;
    guard.Observe(*a);
    ++out.accesses;
  }
  return out;
}

}  // namespace cloison::cli
