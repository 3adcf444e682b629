// Reading people files: CSV (RFC 4180) and JSON Lines, as specified in
// docs/import-format.md. The reader only splits records into (name, value)
// pairs and counts lines; validation is the importer's job.
//
// Ownership: a reader owns its file handle. Not thread-safe.
// Failure: Open() fails with NotFound/IOError; a malformed CSV header or a
// JSON syntax error on a line is reported for that record (so the importer
// can reject that line and go on), never as an exception.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace cloison::ingest {

enum class FileFormat { kCsv, kJsonLines };

// By extension: .csv -> CSV; .jsonl / .ndjson / .json -> JSON Lines.
StatusOr<FileFormat> FormatFromPath(std::string_view path);

struct RawRecord {
  int64_t line = 0;  // 1-based line where the record starts
  std::vector<std::pair<std::string, std::string>> values;
  // Non-empty when the record could not be parsed (bad JSON, wrong number of
  // CSV cells): the importer rejects the line with this message.
  std::string parse_error;
};

class PersonFileReader {
 public:
  static StatusOr<std::unique_ptr<PersonFileReader>> Open(const std::string& path, FileFormat format);
  ~PersonFileReader();

  // Reads the next record; returns false at end of file. IOError on read failure.
  StatusOr<bool> Next(RawRecord& record);
  // CSV header names (empty for JSON Lines).
  const std::vector<std::string>& header() const { return header_; }
  // For progress reporting.
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t file_size() const { return file_size_; }

 private:
  PersonFileReader() = default;
  // Reads one physical line (without the line terminator); false at EOF.
  bool ReadLine(std::string& line);
  bool NextCsvRecord(std::vector<std::string>& cells, int64_t& start_line, std::string& error);

  std::FILE* file_ = nullptr;
  FileFormat format_ = FileFormat::kCsv;
  std::vector<std::string> header_;
  int64_t line_no_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t file_size_ = 0;
  std::string buf_;                 // the current physical line
  std::vector<std::string> cells_;  // the current CSV record's cells (reused)
};

// Splits one CSV record that may span several physical lines. Exposed for tests.
// `more` is called to fetch the next physical line when a quoted cell
// continues; returns false with `error` set on malformed quoting.
bool ParseCsvRecord(std::string_view first_line, std::vector<std::string>& cells, std::string& error,
                    const std::function<bool(std::string&)>& more);

}  // namespace cloison::ingest
