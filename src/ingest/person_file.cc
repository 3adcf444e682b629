#include "ingest/person_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace cloison::ingest {

StatusOr<FileFormat> FormatFromPath(std::string_view path) {
  auto ends = [&](std::string_view suf) {
    return path.size() >= suf.size() && path.substr(path.size() - suf.size()) == suf;
  };
  if (ends(".csv")) return FileFormat::kCsv;
  if (ends(".jsonl") || ends(".ndjson") || ends(".json")) return FileFormat::kJsonLines;
  return InvalidArgument(StrCat("cannot tell the format of '", path,
                                "': name it .csv or .jsonl (or pass --format csv|jsonl)"));
}

StatusOr<std::unique_ptr<PersonFileReader>> PersonFileReader::Open(const std::string& path, FileFormat format) {
  std::unique_ptr<PersonFileReader> r(new PersonFileReader());
  r->format_ = format;
  r->file_ = std::fopen(path.c_str(), "rb");
  if (!r->file_) {
    if (errno == ENOENT) return NotFound(StrCat(path, ": no such file"));
    return IOError(StrCat(path, ": ", std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fileno(r->file_), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return InvalidArgument(StrCat(path, ": is a directory"));
    r->file_size_ = static_cast<uint64_t>(st.st_size);
  }
  if (format == FileFormat::kCsv) {
    std::vector<std::string> cells;
    int64_t start = 0;
    std::string error;
    if (!r->NextCsvRecord(cells, start, error)) return InvalidArgument(StrCat(path, ": empty file, no CSV header"));
    if (!error.empty()) return InvalidArgument(StrCat(path, ":1: bad CSV header: ", error));
    // A UTF-8 byte-order mark before the first name is tolerated.
    if (!cells.empty() && cells[0].rfind("\xEF\xBB\xBF", 0) == 0) cells[0].erase(0, 3);
    for (auto& c : cells) {
      while (!c.empty() && c.back() == ' ') c.pop_back();
      while (!c.empty() && c.front() == ' ') c.erase(0, 1);
    }
    r->header_ = std::move(cells);
  }
  return r;
}

PersonFileReader::~PersonFileReader() {
  if (file_) std::fclose(file_);
}

bool PersonFileReader::ReadLine(std::string& line) {
  line.clear();
  char chunk[8192];
  bool any = false;
  while (std::fgets(chunk, sizeof chunk, file_)) {
    any = true;
    size_t n = std::strlen(chunk);
    bytes_read_ += n;
    if (n > 0 && chunk[n - 1] == '\n') {
      line.append(chunk, n - 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      ++line_no_;
      return true;
    }
    line.append(chunk, n);
  }
  if (any) ++line_no_;
  return any;
}

bool ParseCsvRecord(std::string_view first, std::vector<std::string>& cells, std::string& error,
                    const std::function<bool(std::string&)>& more) {
  // `cells` keeps its strings' capacity from the previous record: each cell
  // is assigned in place, and only the cell count is trimmed at the end.
  size_t n = 0;  // cells filled so far
  auto next_cell = [&]() -> std::string& {
    if (n == cells.size()) cells.emplace_back();
    std::string& c = cells[n++];
    c.clear();
    return c;
  };
  auto finish = [&](bool ok) {
    cells.resize(n);
    return ok;
  };
  error.clear();
  std::string continued;  // the physical line being parsed, once past `first`
  std::string_view line = first;
  size_t i = 0;
  std::string* cell = &next_cell();
  bool in_quotes = false, was_quoted = false;
  for (;;) {
    if (i >= line.size()) {
      if (in_quotes) {
        // A quoted cell continues on the next physical line.
        if (!more(continued)) {
          error = "unterminated quoted value at end of file";
          return finish(false);
        }
        cell->push_back('\n');
        line = continued;
        i = 0;
        continue;
      }
      return finish(true);
    }
    if (in_quotes) {
      // Copy up to the next quote in one go.
      const size_t q = line.find('"', i);
      const size_t stop = q == std::string_view::npos ? line.size() : q;
      cell->append(line.data() + i, stop - i);
      i = stop;
      if (q == std::string_view::npos) continue;
      if (i + 1 < line.size() && line[i + 1] == '"') {
        cell->push_back('"');
        i += 2;
        continue;
      }
      in_quotes = false;
      ++i;
      continue;
    }
    const char c = line[i];
    if (c == ',') {
      cell = &next_cell();
      was_quoted = false;
      ++i;
      continue;
    }
    if (c == '"') {
      if (!cell->empty() || was_quoted) {
        error = StrCat("stray quote in cell ", static_cast<int64_t>(n));
        return finish(false);
      }
      in_quotes = was_quoted = true;
      ++i;
      continue;
    }
    if (was_quoted) {
      error = StrCat("text after closing quote in cell ", static_cast<int64_t>(n));
      return finish(false);
    }
    // An unquoted run: up to the next separator or quote, in one go.
    size_t stop = i;
    while (stop < line.size() && line[stop] != ',' && line[stop] != '"') ++stop;
    cell->append(line.data() + i, stop - i);
    i = stop;
  }
}

bool PersonFileReader::NextCsvRecord(std::vector<std::string>& cells, int64_t& start_line, std::string& error) {
  do {
    if (!ReadLine(buf_)) return false;
  } while (buf_.empty());
  start_line = line_no_;
  ParseCsvRecord(buf_, cells, error, [this](std::string& next) { return ReadLine(next); });
  return true;
}

StatusOr<bool> PersonFileReader::Next(RawRecord& rec) {
  rec.parse_error.clear();
  if (format_ == FileFormat::kCsv) {
    // Steady state allocates nothing: the cells' strings and rec's values
    // trade buffers (swap) from one record to the next.
    if (!NextCsvRecord(cells_, rec.line, rec.parse_error)) {
      rec.values.clear();
      if (std::ferror(file_)) return IOError("read error");
      return false;
    }
    if (!rec.parse_error.empty()) {
      rec.values.clear();
      return true;
    }
    if (cells_.size() != header_.size()) {
      rec.values.clear();
      rec.parse_error = StrCat("expected ", static_cast<int64_t>(header_.size()), " values, found ",
                               static_cast<int64_t>(cells_.size()));
      return true;
    }
    if (rec.values.size() != cells_.size()) {
      rec.values.clear();
      for (const std::string& name : header_) rec.values.emplace_back(name, std::string());
    }
    for (size_t i = 0; i < cells_.size(); ++i) {
      if (rec.values[i].first != header_[i]) rec.values[i].first = header_[i];
      rec.values[i].second.swap(cells_[i]);
    }
    return true;
  }
  rec.values.clear();
  do {
    if (!ReadLine(buf_)) {
      if (std::ferror(file_)) return IOError("read error");
      return false;
    }
  } while (buf_.find_first_not_of(" \t") == std::string::npos);
  rec.line = line_no_;
  // nlohmann::json throws on bad input; we use the non-throwing parse and
  // report the line.
  nlohmann::json j = nlohmann::json::parse(buf_, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    rec.parse_error = "malformed JSON";
    return true;
  }
  if (!j.is_object()) {
    rec.parse_error = "each line must be a JSON object";
    return true;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.value().is_null()) {
      rec.values.emplace_back(it.key(), "");
    } else if (it.value().is_string()) {
      rec.values.emplace_back(it.key(), it.value().get<std::string>());
    } else {
      rec.parse_error = StrCat("value of '", it.key(), "' must be a string");
      return true;
    }
  }
  return true;
}

}  // namespace cloison::ingest
