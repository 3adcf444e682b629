// Indexes for later queries over the log: entries by account and time, by
// person and time. A small SQLite database (<audit dir>/index.db) that is a
// cache of the log: it records how many entries it has indexed and catches up
// on demand; deleting it only costs a rebuild. Entries that are not
// decodable events are skipped.
//
// Thread-safety: not thread-safe (one SQLite connection); use one per thread
// or lock externally.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "audit/log.h"
#include "core/ids.h"

struct sqlite3;

namespace cloison::audit {

class QueryIndex {
 public:
  static StatusOr<std::unique_ptr<QueryIndex>> Open(const std::string& path);
  ~QueryIndex();

  // Indexes the entries of `log` not indexed yet, in one transaction.
  Status CatchUp(const AuditLog& log);
  uint64_t indexed() const { return indexed_; }

  // Leaf indexes in time order (then index order), time in [from, to).
  StatusOr<std::vector<uint64_t>> ByAccount(AccountId account, UnixMicros from, UnixMicros to, size_t limit = 1000);
  StatusOr<std::vector<uint64_t>> ByPerson(PersonId person, UnixMicros from, UnixMicros to, size_t limit = 1000);

 private:
  QueryIndex() = default;
  StatusOr<std::vector<uint64_t>> Query(const char* sql, int64_t key, UnixMicros from, UnixMicros to, size_t limit);
  sqlite3* db_ = nullptr;
  uint64_t indexed_ = 0;
};

}  // namespace cloison::audit
