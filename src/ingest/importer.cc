#include "ingest/importer.h"

#include <algorithm>
#include <optional>
#include <system_error>
#include <thread>

#include "core/bounded_queue.h"
#include "core/strings.h"

namespace cloison::ingest {

namespace {
constexpr std::string_view kStructure = "structure";
constexpr std::string_view kCounsellor = "conseiller";
constexpr std::string_view kOtherStructures = "autres_structures";
constexpr size_t kNoField = static_cast<size_t>(-1);

void AddError(ImportReport& report, const ImportOptions& options, int64_t line, std::string msg) {
  ++report.rejected;
  if (report.errors.size() < options.max_errors) report.errors.push_back({line, std::move(msg)});
}

}  // namespace

StatusOr<Importer> Importer::Create(store::Store& store, const FieldCatalog& catalog) {
  Importer imp(store, catalog);
  CLOISON_ASSIGN_OR_RETURN(auto structures, store.ListStructures());
  for (const auto& s : structures) imp.structures_.emplace(s.code, s.id);
  CLOISON_ASSIGN_OR_RETURN(auto agents, store.ListAgents());
  for (const auto& a : agents) imp.agents_.emplace(a.username, AgentRef{a.id, a.structure});
  return imp;
}

Status Importer::CheckColumns(const std::vector<std::string>& names) const {
  std::vector<std::string> seen;
  for (const auto& n : names) {
    if (n != kStructure && n != kCounsellor && n != kOtherStructures && !catalog_->Find(n))
      return InvalidArgument(StrCat("unknown column '", n, "'"));
    if (std::find(seen.begin(), seen.end(), n) != seen.end())
      return InvalidArgument(StrCat("column '", n, "' appears twice"));
    seen.push_back(n);
  }
  if (std::find(seen.begin(), seen.end(), kStructure) == seen.end())
    return InvalidArgument("missing required column 'structure'");
  for (const auto& f : catalog_->fields())
    if (f.required && std::find(seen.begin(), seen.end(), f.name) == seen.end())
      return InvalidArgument(StrCat("missing required column '", f.name, "'"));
  return OkStatus();
}

Status Importer::ToPerson(const RawRecord& rec, Person& p) const {
  if (!rec.parse_error.empty()) return InvalidArgument(rec.parse_error);
  p = Person{};
  p.fields.assign(catalog_->size(), std::string());
  std::vector<bool> present(catalog_->size(), false);
  std::string_view counsellor;
  bool has_structure = false;
  if (position_index_.size() < rec.values.size()) position_index_.resize(rec.values.size(), {std::string(), kNoField});
  for (size_t pos = 0; pos < rec.values.size(); ++pos) {
    const auto& [name, raw] = rec.values[pos];
    // Surrounding spaces are an artefact of hand-made files, never meaningful.
    std::string_view value = raw;
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    if (name == kStructure) {
      auto it = structures_.find(value);
      if (value.empty()) return InvalidArgument("'structure' is required");
      if (it == structures_.end()) return InvalidArgument(StrCat("unknown structure '", value, "'"));
      p.referent_structure = it->second;
      has_structure = true;
    } else if (name == kCounsellor) {
      counsellor = value;
    } else if (name == kOtherStructures) {
      size_t start = 0;
      while (start < value.size()) {
        size_t end = value.find(';', start);
        if (end == std::string_view::npos) end = value.size();
        std::string_view code = value.substr(start, end - start);
        if (!code.empty()) {
          auto it = structures_.find(code);
          if (it == structures_.end()) return InvalidArgument(StrCat("unknown structure '", code, "'"));
          p.other_structures.push_back(it->second);
        }
        start = end + 1;
      }
    } else {
      auto& cached = position_index_[pos];
      std::optional<size_t> idx;
      if (cached.second != kNoField && cached.first == name) {
        idx = cached.second;
      } else {
        idx = catalog_->IndexOf(name);
        if (!idx) return InvalidArgument(StrCat("unknown field '", name, "'"));
        cached = {name, *idx};
      }
      if (present[*idx]) return InvalidArgument(StrCat("field '", name, "' given twice"));
      present[*idx] = true;
      const FieldDef& def = catalog_->at(*idx);
      CLOISON_RETURN_IF_ERROR(ValidateFieldValue(def, value));
      p.fields[*idx] = CanonicalizeFieldValue(def, value);
    }
  }
  if (!has_structure) return InvalidArgument("'structure' is required");
  for (size_t i = 0; i < catalog_->size(); ++i)
    if (!present[i] && catalog_->at(i).required)
      return InvalidArgument(StrCat("field '", catalog_->at(i).name, "': is required"));
  if (!counsellor.empty()) {
    auto it = agents_.find(counsellor);
    if (it == agents_.end()) return InvalidArgument(StrCat("unknown counsellor '", counsellor, "'"));
    if (it->second.structure != p.referent_structure &&
        std::find(p.other_structures.begin(), p.other_structures.end(), it->second.structure) ==
            p.other_structures.end())
      return InvalidArgument(StrCat("counsellor '", counsellor, "' does not work in the person's structures"));
    p.referent_counsellor = it->second.id;
  }
  return OkStatus();
}

Status Importer::Flush(ParsedBatch& batch, ImportReport& report, const ImportOptions& options) {
  std::vector<LineError> refused;  // by the store, in line order
  if (!batch.people.empty()) {
    auto r = store_->UpsertPersons(batch.people);
    if (r.ok()) {
      report.inserted += r->inserted;
      report.updated += r->updated;
    } else if (r.status().code() == absl::StatusCode::kInvalidArgument) {
      // Isolate the offending lines: retry one by one.
      for (size_t i = 0; i < batch.people.size(); ++i) {
        auto one = store_->UpsertPersons(std::span<const Person>(&batch.people[i], 1));
        if (one.ok()) {
          report.inserted += one->inserted;
          report.updated += one->updated;
        } else if (one.status().code() == absl::StatusCode::kInvalidArgument) {
          refused.push_back({batch.lines[i], std::string(MessageOf(one.status()))});
        } else {
          return one.status();
        }
      }
    } else {
      return r.status();
    }
  }
  // The batch's rejected lines, validation and store refusals merged, in
  // file order (both lists are sorted by line).
  report.records += batch.records;
  size_t a = 0, b = 0;
  while (a < batch.rejected.size() || b < refused.size()) {
    const bool take_a = b == refused.size() || (a < batch.rejected.size() && batch.rejected[a].line < refused[b].line);
    LineError& e = take_a ? batch.rejected[a++] : refused[b++];
    AddError(report, options, e.line, std::move(e.message));
  }
  return OkStatus();
}

ParsedBatch Importer::ReadBatch(PersonFileReader& reader, size_t batch_size) const {
  ParsedBatch batch;
  batch.people.reserve(batch_size);
  batch.lines.reserve(batch_size);
  RawRecord rec;
  // A batch also ends after `batch_size` rejected lines, so that a file of
  // mostly bad lines is held in memory a bounded part at a time.
  while (batch.people.size() < batch_size && batch.rejected.size() < batch_size) {
    StatusOr<bool> more = reader.Next(rec);
    if (!more.ok()) {
      batch.status = more.status();
      batch.last = true;
      break;
    }
    if (!*more) {
      batch.last = true;
      break;
    }
    ++batch.records;
    Person p;
    Status s = ToPerson(rec, p);
    if (!s.ok()) {
      batch.rejected.push_back({rec.line, std::string(MessageOf(s))});
      continue;
    }
    batch.people.push_back(std::move(p));
    batch.lines.push_back(rec.line);
  }
  batch.bytes_read = reader.bytes_read();
  return batch;
}

StatusOr<ImportReport> Importer::ImportFile(const std::string& path, FileFormat format,
                                            const ImportOptions& options) {
  CLOISON_ASSIGN_OR_RETURN(auto reader, PersonFileReader::Open(path, format));
  if (format == FileFormat::kCsv) {
    Status s = CheckColumns(reader->header());
    if (!s.ok()) return InvalidArgument(StrCat(path, ":1: ", MessageOf(s)));
  }
  const size_t batch_size = std::max<size_t>(options.batch_size, 1);
  // Reading and validating (about a quarter of an import's time) runs on a
  // second thread, a batch or two ahead of the store's writes, which stay on
  // this thread. The reader and ToPerson's maps are only touched there until
  // it is joined. If the thread cannot start, batches are read inline.
  BoundedQueue<ParsedBatch> queue(2);
  // Written batches go back to the reader to be freed there (4% of this
  // thread, the import's bottleneck).
  HandBack<ParsedBatch> spent;
  std::thread reading;
  if (options.read_ahead) {
    try {
      reading = std::thread([&] {
        for (;;) {
          spent.DropAll();
          ParsedBatch b = ReadBatch(*reader, batch_size);
          const bool last = b.last;
          if (!queue.Push(std::move(b)) || last) break;
        }
        queue.Close();
      });
    } catch (const std::system_error&) {
      // inline below
    }
  }
  struct Joiner {
    BoundedQueue<ParsedBatch>& q;
    std::thread& t;
    ~Joiner() {
      q.Cancel();  // a reader blocked on a full queue gives up
      if (t.joinable()) t.join();
    }
  } joiner{queue, reading};
  auto next = [&]() -> std::optional<ParsedBatch> {
    if (reading.joinable()) return queue.Pop();
    return ReadBatch(*reader, batch_size);
  };

  ImportReport report;
  // The reader's batches end with one marked `last`, so the loop stops there.
  while (std::optional<ParsedBatch> batch = next()) {
    CLOISON_RETURN_IF_ERROR(batch->status);
    CLOISON_RETURN_IF_ERROR(Flush(*batch, report, options));
    if (options.progress) options.progress(batch->bytes_read, reader->file_size());
    if (batch->last) break;
    if (reading.joinable()) spent.Give(std::move(*batch));
  }
  return report;
}

}  // namespace cloison::ingest
