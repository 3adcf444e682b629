#include "ingest/importer.h"

#include <algorithm>

#include "core/strings.h"

namespace cloison::ingest {

namespace {
constexpr std::string_view kStructure = "structure";
constexpr std::string_view kCounsellor = "conseiller";
constexpr std::string_view kOtherStructures = "autres_structures";

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
  for (const auto& [name, raw] : rec.values) {
    // Surrounding spaces are an artefact of hand-made files, never meaningful.
    std::string_view value = raw;
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    if (name == kStructure) {
      auto it = structures_.find(std::string(value));
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
        std::string code(value.substr(start, end - start));
        if (!code.empty()) {
          auto it = structures_.find(code);
          if (it == structures_.end()) return InvalidArgument(StrCat("unknown structure '", code, "'"));
          p.other_structures.push_back(it->second);
        }
        start = end + 1;
      }
    } else {
      auto idx = catalog_->IndexOf(name);
      if (!idx) return InvalidArgument(StrCat("unknown field '", name, "'"));
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
    auto it = agents_.find(std::string(counsellor));
    if (it == agents_.end()) return InvalidArgument(StrCat("unknown counsellor '", counsellor, "'"));
    if (it->second.structure != p.referent_structure &&
        std::find(p.other_structures.begin(), p.other_structures.end(), it->second.structure) ==
            p.other_structures.end())
      return InvalidArgument(StrCat("counsellor '", counsellor, "' does not work in the person's structures"));
    p.referent_counsellor = it->second.id;
  }
  return OkStatus();
}

Status Importer::Flush(std::vector<Person>& batch, std::vector<int64_t>& lines, ImportReport& report,
                       const ImportOptions& options) {
  if (batch.empty()) return OkStatus();
  auto r = store_->UpsertPersons(batch);
  if (r.ok()) {
    report.inserted += r->inserted;
    report.updated += r->updated;
  } else if (r.status().code() == absl::StatusCode::kInvalidArgument) {
    // Isolate the offending lines: retry one by one.
    for (size_t i = 0; i < batch.size(); ++i) {
      auto one = store_->UpsertPersons(std::span<const Person>(&batch[i], 1));
      if (one.ok()) {
        report.inserted += one->inserted;
        report.updated += one->updated;
      } else if (one.status().code() == absl::StatusCode::kInvalidArgument) {
        AddError(report, options, lines[i], std::string(MessageOf(one.status())));
      } else {
        return one.status();
      }
    }
  } else {
    return r.status();
  }
  batch.clear();
  lines.clear();
  return OkStatus();
}

StatusOr<ImportReport> Importer::ImportFile(const std::string& path, FileFormat format,
                                            const ImportOptions& options) {
  CLOISON_ASSIGN_OR_RETURN(auto reader, PersonFileReader::Open(path, format));
  if (format == FileFormat::kCsv) {
    Status s = CheckColumns(reader->header());
    if (!s.ok()) return InvalidArgument(StrCat(path, ":1: ", MessageOf(s)));
  }
  ImportReport report;
  std::vector<Person> batch;
  std::vector<int64_t> lines;
  batch.reserve(options.batch_size);
  RawRecord rec;
  for (;;) {
    CLOISON_ASSIGN_OR_RETURN(bool more, reader->Next(rec));
    if (!more) break;
    ++report.records;
    Person p;
    Status s = ToPerson(rec, p);
    if (!s.ok()) {
      AddError(report, options, rec.line, std::string(MessageOf(s)));
      continue;
    }
    batch.push_back(std::move(p));
    lines.push_back(rec.line);
    if (batch.size() >= options.batch_size) {
      CLOISON_RETURN_IF_ERROR(Flush(batch, lines, report, options));
      if (options.progress) options.progress(reader->bytes_read(), reader->file_size());
    }
  }
  CLOISON_RETURN_IF_ERROR(Flush(batch, lines, report, options));
  if (options.progress) options.progress(reader->bytes_read(), reader->file_size());
  return report;
}

}  // namespace cloison::ingest
