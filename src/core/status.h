// Error handling across Cloison's module boundaries.
//
// One choice, used everywhere: absl::Status / absl::StatusOr<T>. No exceptions
// cross a module boundary or the request path; code that calls a throwing
// library (toml++, nlohmann-json, CLI11) catches at the call site and returns a
// Status.
//
// Status codes keep LevelDB's distinction between data that is *damaged*
// (Corruption -> absl::StatusCode::kDataLoss) and an environment that
// *failed* (IOError -> absl::StatusCode::kUnavailable). Callers that need to
// tell them apart use IsCorruption()/IsIOError(), never string matching.
//
// Messages must never contain a secret or a plaintext sensitive value (NIR,
// e-mail, ...): they end up in logs and in HTTP answers.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cloison {

using absl::Status;
using absl::StatusOr;

inline Status OkStatus() { return absl::OkStatus(); }

// Stored data failed a check (bad checksum, AEAD tag mismatch, bad format).
inline Status Corruption(std::string_view msg) { return absl::DataLossError(absl::string_view(msg.data(), msg.size())); }
// The operating system or a dependency failed (open, write, fsync, SQLite busy).
inline Status IOError(std::string_view msg) { return absl::UnavailableError(absl::string_view(msg.data(), msg.size())); }
// The caller's input is wrong; the message names the problem.
inline Status InvalidArgument(std::string_view msg) { return absl::InvalidArgumentError(absl::string_view(msg.data(), msg.size())); }
inline Status NotFound(std::string_view msg) { return absl::NotFoundError(absl::string_view(msg.data(), msg.size())); }
inline Status AlreadyExists(std::string_view msg) { return absl::AlreadyExistsError(absl::string_view(msg.data(), msg.size())); }
inline Status FailedPrecondition(std::string_view msg) { return absl::FailedPreconditionError(absl::string_view(msg.data(), msg.size())); }
inline Status PermissionDenied(std::string_view msg) { return absl::PermissionDeniedError(absl::string_view(msg.data(), msg.size())); }
inline Status Unauthenticated(std::string_view msg) { return absl::UnauthenticatedError(absl::string_view(msg.data(), msg.size())); }
inline Status Internal(std::string_view msg) { return absl::InternalError(absl::string_view(msg.data(), msg.size())); }

// The message as std::string_view.
inline std::string_view MessageOf(const Status& s) { return {s.message().data(), s.message().size()}; }

inline bool IsCorruption(const Status& s) { return s.code() == absl::StatusCode::kDataLoss; }
inline bool IsIOError(const Status& s) { return s.code() == absl::StatusCode::kUnavailable; }

}  // namespace cloison

// Propagates a non-OK Status to the caller.
#define CLOISON_RETURN_IF_ERROR(expr)          \
  do {                                         \
    ::absl::Status _cloison_st = (expr);       \
    if (!_cloison_st.ok()) return _cloison_st; \
  } while (0)

#define CLOISON_CONCAT_INNER_(a, b) a##b
#define CLOISON_CONCAT_(a, b) CLOISON_CONCAT_INNER_(a, b)
// CLOISON_ASSIGN_OR_RETURN(auto x, StatusOrExpr): binds the value or returns the error.
#define CLOISON_ASSIGN_OR_RETURN(lhs, expr) \
  CLOISON_ASSIGN_OR_RETURN_IMPL_(CLOISON_CONCAT_(_cloison_so_, __LINE__), lhs, expr)
#define CLOISON_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = std::move(tmp).value()
