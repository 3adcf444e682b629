#include "cli/common.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "core/field_catalog.h"
#include "core/strings.h"
#include "crypto/keys.h"

namespace cloison::cli {

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk: return 0;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kOutOfRange: return 2;
    default: return 3;
  }
}

void Fail(Context& ctx, std::string_view what, const Status& s) {
  *ctx.err << "cloison: " << what << ": " << MessageOf(s) << "\n";
  ctx.exit_code = ExitCodeFor(s);
}

StatusOr<std::unique_ptr<store::Store>> OpenStore(const Context& ctx, bool bulk) {
  if (!std::filesystem::exists(ctx.db_path()))
    return FailedPrecondition(
        StrCat("no store in ", ctx.data_dir, " (run `cloison init` or `cloison demo` first, or pass --data DIR)"));
  CLOISON_ASSIGN_OR_RETURN(auto master, crypto::LoadMasterKey(ctx.master_key_path()));
  store::SqliteOptions opts;
  opts.path = ctx.db_path();
  opts.bulk = bulk;
  return store::OpenSqliteStore(opts, FieldCatalog::Default(), master, SystemClock::Instance());
}

Status InitDataDir(const Context& ctx, bool& created_key) {
  created_key = false;
  std::error_code ec;
  std::filesystem::create_directories(ctx.data_dir, ec);
  if (ec) return IOError(StrCat("cannot create ", ctx.data_dir, ": ", ec.message()));
  ::chmod(ctx.data_dir.c_str(), 0700);
  const char* env = std::getenv(crypto::kMasterKeyEnv);
  if ((!env || !*env) && !std::filesystem::exists(ctx.master_key_path())) {
    CLOISON_RETURN_IF_ERROR(crypto::CreateMasterKeyFile(ctx.master_key_path()));
    created_key = true;
  }
  CLOISON_ASSIGN_OR_RETURN(auto master, crypto::LoadMasterKey(ctx.master_key_path()));
  store::SqliteOptions opts;
  opts.path = ctx.db_path();
  CLOISON_ASSIGN_OR_RETURN(auto st, store::OpenSqliteStore(opts, FieldCatalog::Default(), master,
                                                           SystemClock::Instance()));
  return OkStatus();
}

std::string Thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(' ');
    out.push_back(digits[i]);
  }
  return n < 0 ? "-" + out : out;
}

}  // namespace cloison::cli
