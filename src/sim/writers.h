// Writing generated data: people files (CSV and JSON Lines, exactly as
// docs/import-format.md specifies, so `cloison import` reads them back),
// orientations (JSON Lines) and the network (network.json, described in
// docs/synthetic-data.md).
//
// People are streamed: a writer holds one output buffer, never the
// population. Relations are written by external code: the referent structure
// by its code, the counsellor by username, further structures as codes joined
// with ';'. Absent values are empty CSV cells and omitted JSON keys.
//
// Files are created (or truncated) with mode 0600, whatever the umask: they
// hold clear personal data, synthetic or not.
//
// Thread-safety: a PeopleFileWriter or PeopleRowFormatter is used by one
// thread at a time. WritePeopleFile may use several threads internally; its
// output is the same whatever the thread count.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/field_catalog.h"
#include "core/status.h"
#include "sim/network.h"
#include "sim/people.h"

namespace cloison::sim {

enum class PeopleFormat { kCsv, kJsonLines };

// Appends one RFC 4180 cell: quoted (inner quotes doubled) when it holds ',',
// '"', CR or LF; as is otherwise.
void AppendCsvCell(std::string_view value, std::string* out);

// Turns people into CSV rows or JSON lines. Holds pointers to the network and
// catalog, which must outlive it.
class PeopleRowFormatter {
 public:
  PeopleRowFormatter(const Network& network, const FieldCatalog& catalog);

  // Column names in file order: structure, conseiller, autres_structures, then
  // the catalog's fields in catalog order.
  const std::vector<std::string>& columns() const { return columns_; }
  // The header line, LF-terminated.
  void AppendCsvHeader(std::string* out) const;
  // One LF-terminated row.
  void AppendCsvRow(const GeneratedPerson& person, std::string* out) const;
  // One LF-terminated JSON object, all values strings. Fails (and appends
  // nothing) if a value is not valid UTF-8.
  Status AppendJsonLine(const GeneratedPerson& person, std::string* out) const;
  // One JSON line per orientation: {"id", "ft_id" (the person's), "session"
  // (code), "conseiller" (username), "statut", "proposee_le", "decidee_le",
  // "entree_le", "terminee_le"} -- dates omitted when absent.
  Status AppendOrientationLines(const GeneratedPerson& person, std::string* out) const;

 private:
  std::string_view StructureCode(StructureId id) const;
  std::string_view Username(AccountId id) const;

  const Network* network_;
  const FieldCatalog* catalog_;
  std::vector<std::string> columns_;
  int ft_id_field_ = -1;
};

// Streams people to a file. Ownership: owns its FILE*; the destructor closes
// without reporting errors, so call Close() to learn about them.
class PeopleFileWriter {
 public:
  // Truncates or creates `path` and writes the CSV header if applicable.
  static StatusOr<std::unique_ptr<PeopleFileWriter>> Open(const std::string& path, PeopleFormat format,
                                                          const Network& network, const FieldCatalog& catalog);
  ~PeopleFileWriter();

  Status Append(const GeneratedPerson& person);
  // Appends pre-formatted rows (from a PeopleRowFormatter of the same format).
  Status AppendFormatted(std::string_view rows);
  // Flushes and closes; further calls return the first result.
  Status Close();
  uint64_t bytes_written() const { return bytes_; }
  uint64_t rows_written() const { return rows_; }

 private:
  PeopleFileWriter(std::FILE* file, std::string path, PeopleFormat format, const Network& network,
                   const FieldCatalog& catalog);
  Status Flush();

  std::FILE* file_;
  std::string path_;
  PeopleFormat format_;
  PeopleRowFormatter formatter_;
  std::string buf_;
  uint64_t bytes_ = 0, rows_ = 0;
  bool closed_ = false;
  Status close_status_;
};

struct WriteOptions {
  int threads = 1;  // generation threads; the output does not depend on it
  // When non-empty, orientations are written there as JSON Lines.
  std::string orientations_path;
};

// Generates people [0, count) with `generator` and streams them to `path`.
Status WritePeopleFile(const std::string& path, PeopleFormat format, const PeopleGenerator& generator,
                       uint64_t count, const WriteOptions& options = {});

// network.json: {"structures": [...], "agents": [...], "formations": [...],
// "sessions": [...]} with relations by code / username (see
// docs/synthetic-data.md).
StatusOr<std::string> NetworkToJson(const Network& network);
Status WriteNetworkJson(const std::string& path, const Network& network);

}  // namespace cloison::sim
