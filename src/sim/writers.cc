#include "sim/writers.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/strings.h"

namespace cloison::sim {

void AppendCsvCell(std::string_view v, std::string* out) {
  // A plain loop: values are short, and four memchr calls per cell cost more.
  bool special = false;
  for (char c : v) special |= c == ',' || c == '"' || c == '\r' || c == '\n';
  if (!special) {
    out->append(v);
    return;
  }
  out->push_back('"');
  for (char c : v) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

PeopleRowFormatter::PeopleRowFormatter(const Network& network, const FieldCatalog& catalog)
    : network_(&network), catalog_(&catalog) {
  columns_ = {"structure", "conseiller", "autres_structures"};
  for (const auto& f : catalog.fields()) columns_.push_back(f.name);
  if (auto i = catalog.IndexOf("ft_id")) ft_id_field_ = static_cast<int>(*i);
}

std::string_view PeopleRowFormatter::StructureCode(StructureId id) const {
  const Structure* s = network_->structure(id);
  return s ? std::string_view(s->code) : std::string_view();
}

std::string_view PeopleRowFormatter::Username(AccountId id) const {
  const Agent* a = network_->agent(id);
  return a ? std::string_view(a->username) : std::string_view();
}

void PeopleRowFormatter::AppendCsvHeader(std::string* out) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (i) out->push_back(',');
    AppendCsvCell(columns_[i], out);
  }
  out->push_back('\n');
}

void PeopleRowFormatter::AppendCsvRow(const GeneratedPerson& gp, std::string* out) const {
  const Person& p = gp.person;
  AppendCsvCell(StructureCode(p.referent_structure), out);
  out->push_back(',');
  if (p.referent_counsellor) AppendCsvCell(Username(*p.referent_counsellor), out);
  out->push_back(',');
  if (!p.other_structures.empty()) {
    std::string joined;
    for (size_t i = 0; i < p.other_structures.size(); ++i) {
      if (i) joined.push_back(';');
      joined.append(StructureCode(p.other_structures[i]));
    }
    AppendCsvCell(joined, out);
  }
  for (size_t i = 0; i < catalog_->size(); ++i) {
    out->push_back(',');
    if (i < p.fields.size()) AppendCsvCell(p.fields[i], out);
  }
  out->push_back('\n');
}

Status PeopleRowFormatter::AppendJsonLine(const GeneratedPerson& gp, std::string* out) const {
  const Person& p = gp.person;
  try {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    j["structure"] = StructureCode(p.referent_structure);
    if (p.referent_counsellor) j["conseiller"] = Username(*p.referent_counsellor);
    if (!p.other_structures.empty()) {
      std::string joined;
      for (size_t i = 0; i < p.other_structures.size(); ++i) {
        if (i) joined.push_back(';');
        joined.append(StructureCode(p.other_structures[i]));
      }
      j["autres_structures"] = joined;
    }
    for (size_t i = 0; i < catalog_->size() && i < p.fields.size(); ++i)
      if (!p.fields[i].empty()) j[catalog_->at(i).name] = p.fields[i];
    out->append(j.dump());
    out->push_back('\n');
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(StrCat("person ", p.id.value(), ": cannot write as JSON (", e.what(), ")"));
  }
  return OkStatus();
}

Status PeopleRowFormatter::AppendOrientationLines(const GeneratedPerson& gp, std::string* out) const {
  try {
    for (const Orientation& o : gp.orientations) {
      nlohmann::ordered_json j = nlohmann::ordered_json::object();
      j["id"] = StrCat(o.id.value());
      if (ft_id_field_ >= 0 && static_cast<size_t>(ft_id_field_) < gp.person.fields.size())
        j["ft_id"] = gp.person.fields[static_cast<size_t>(ft_id_field_)];
      const TrainingSession* s = network_->session(o.session);
      j["session"] = s ? s->code : std::string();
      j["conseiller"] = Username(o.counsellor);
      j["statut"] = OrientationStatusName(o.status);
      j["proposee_le"] = o.proposed_on.ToString();
      if (o.decided_on) j["decidee_le"] = o.decided_on->ToString();
      if (o.enrolled_on) j["entree_le"] = o.enrolled_on->ToString();
      if (o.ended_on) j["terminee_le"] = o.ended_on->ToString();
      out->append(j.dump());
      out->push_back('\n');
    }
  } catch (const nlohmann::json::exception& e) {
    return Internal(StrCat("orientation: cannot write as JSON (", e.what(), ")"));
  }
  return OkStatus();
}

namespace {
constexpr size_t kFlushAt = 1 << 20;

Status WriteAll(std::FILE* f, std::string_view data, const std::string& path) {
  if (data.empty()) return OkStatus();
  if (std::fwrite(data.data(), 1, data.size(), f) != data.size())
    return IOError(StrCat(path, ": write failed: ", std::strerror(errno)));
  return OkStatus();
}
}  // namespace

PeopleFileWriter::PeopleFileWriter(std::FILE* file, std::string path, PeopleFormat format, const Network& network,
                                   const FieldCatalog& catalog)
    : file_(file), path_(std::move(path)), format_(format), formatter_(network, catalog) {
  buf_.reserve(kFlushAt + 4096);
}

namespace {
// Opens `path` for writing, created (or truncated) with mode 0600 whatever
// the umask: the files hold clear personal data, synthetic or not.
std::FILE* OpenPrivate(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return nullptr;
  if (::fchmod(fd, 0600) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return nullptr;
  }
  std::FILE* f = ::fdopen(fd, "wb");
  if (!f) {
    const int e = errno;
    ::close(fd);
    errno = e;
  }
  return f;
}
}  // namespace

PeopleFileWriter::~PeopleFileWriter() { (void)Close(); }

StatusOr<std::unique_ptr<PeopleFileWriter>> PeopleFileWriter::Open(const std::string& path, PeopleFormat format,
                                                                   const Network& network,
                                                                   const FieldCatalog& catalog) {
  std::FILE* f = OpenPrivate(path);
  if (!f) return IOError(StrCat(path, ": cannot open for writing: ", std::strerror(errno)));
  std::unique_ptr<PeopleFileWriter> w(new PeopleFileWriter(f, path, format, network, catalog));
  if (format == PeopleFormat::kCsv) w->formatter_.AppendCsvHeader(&w->buf_);
  return w;
}

Status PeopleFileWriter::Flush() {
  Status s = WriteAll(file_, buf_, path_);
  bytes_ += buf_.size();
  buf_.clear();
  return s;
}

Status PeopleFileWriter::Append(const GeneratedPerson& person) {
  if (closed_) return FailedPrecondition(StrCat(path_, ": writer is closed"));
  if (format_ == PeopleFormat::kCsv) formatter_.AppendCsvRow(person, &buf_);
  else CLOISON_RETURN_IF_ERROR(formatter_.AppendJsonLine(person, &buf_));
  ++rows_;
  return buf_.size() >= kFlushAt ? Flush() : OkStatus();
}

Status PeopleFileWriter::AppendFormatted(std::string_view rows) {
  if (closed_) return FailedPrecondition(StrCat(path_, ": writer is closed"));
  for (char c : rows) rows_ += c == '\n';
  if (buf_.size() + rows.size() >= kFlushAt) {
    CLOISON_RETURN_IF_ERROR(Flush());
    bytes_ += rows.size();
    return WriteAll(file_, rows, path_);
  }
  buf_.append(rows);
  return OkStatus();
}

Status PeopleFileWriter::Close() {
  if (closed_) return close_status_;
  closed_ = true;
  close_status_ = Flush();
  if (std::fclose(file_) != 0 && close_status_.ok())
    close_status_ = IOError(StrCat(path_, ": close failed: ", std::strerror(errno)));
  file_ = nullptr;
  return close_status_;
}

Status WritePeopleFile(const std::string& path, PeopleFormat format, const PeopleGenerator& generator,
                       uint64_t count, const WriteOptions& options) {
  CLOISON_ASSIGN_OR_RETURN(auto writer, PeopleFileWriter::Open(path, format, generator.network(), generator.catalog()));
  std::FILE* orient = nullptr;
  if (!options.orientations_path.empty()) {
    orient = OpenPrivate(options.orientations_path);
    if (!orient) return IOError(StrCat(options.orientations_path, ": cannot open for writing: ", std::strerror(errno)));
  }
  struct Closer {
    std::FILE*& f;
    ~Closer() { if (f) std::fclose(f); }
  } closer{orient};

  const int threads = std::max(1, options.threads);
  constexpr uint64_t kBlock = 8192;
  struct Chunk {
    std::string rows, orientations;
    Status status;
  };
  std::vector<Chunk> chunks(static_cast<size_t>(threads));
  auto work = [&](Chunk& chunk, uint64_t begin, uint64_t end) {
    PeopleRowFormatter fmt(generator.network(), generator.catalog());
    GeneratedPerson p;
    chunk.rows.clear();
    chunk.orientations.clear();
    chunk.status = OkStatus();
    for (uint64_t i = begin; i < end && chunk.status.ok(); ++i) {
      generator.Generate(i, &p);
      if (format == PeopleFormat::kCsv) fmt.AppendCsvRow(p, &chunk.rows);
      else chunk.status = fmt.AppendJsonLine(p, &chunk.rows);
      if (orient && chunk.status.ok()) chunk.status = fmt.AppendOrientationLines(p, &chunk.orientations);
    }
  };
  for (uint64_t start = 0; start < count; start += kBlock * static_cast<uint64_t>(threads)) {
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) {
      const uint64_t b = std::min(count, start + kBlock * static_cast<uint64_t>(t));
      const uint64_t e = std::min(count, b + kBlock);
      pool.emplace_back(work, std::ref(chunks[static_cast<size_t>(t)]), b, e);
    }
    work(chunks[0], start, std::min(count, start + kBlock));
    for (auto& th : pool) th.join();
    for (auto& c : chunks) {
      CLOISON_RETURN_IF_ERROR(c.status);
      CLOISON_RETURN_IF_ERROR(writer->AppendFormatted(c.rows));
      if (orient) CLOISON_RETURN_IF_ERROR(WriteAll(orient, c.orientations, options.orientations_path));
      c.rows.clear();
      c.orientations.clear();
    }
  }
  if (orient) {
    const int rc = std::fclose(orient);
    orient = nullptr;
    if (rc != 0) return IOError(StrCat(options.orientations_path, ": close failed"));
  }
  return writer->Close();
}

namespace {
std::string Hhmm(int minutes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minutes / 60, minutes % 60);
  return buf;
}
}  // namespace

StatusOr<std::string> NetworkToJson(const Network& net) {
  try {
    using J = nlohmann::ordered_json;
    J root = J::object();
    J structures = J::array();
    for (size_t k = 0; k < net.structures.size(); ++k) {
      const Structure& s = net.structures[k];
      J j = J::object();
      j["id"] = s.id.value();
      j["code"] = s.code;
      j["kind"] = StructureKindName(s.kind);
      const Structure* parent = s.parent ? net.structure(*s.parent) : nullptr;
      j["parent"] = parent ? J(parent->code) : J(nullptr);
      j["name"] = s.name;
      j["departement"] = s.departement;
      j["time_zone"] = s.time_zone;
      J days = J::array();
      for (int d = 0; d < 7; ++d)
        if (s.hours.weekdays & (1 << d)) days.push_back(d + 1);
      j["hours"] = J{{"open", Hhmm(s.hours.open_minute)}, {"close", Hhmm(s.hours.close_minute)}, {"weekdays", days}};
      j["planned_people"] = k < net.planned_people.size() ? net.planned_people[k] : 0;
      structures.push_back(std::move(j));
    }
    J agents = J::array();
    for (const Agent& a : net.agents) {
      const Structure* s = net.structure(a.structure);
      J roles = J::array();
      for (Role r : a.roles) roles.push_back(RoleName(r));
      agents.push_back(J{{"id", a.id.value()},
                         {"username", a.username},
                         {"structure", s ? s->code : std::string()},
                         {"nom", a.nom},
                         {"prenom", a.prenom},
                         {"roles", roles}});
    }
    J formations = J::array();
    for (const Formation& f : net.formations) {
      const Structure* s = net.structure(f.organisation);
      formations.push_back(J{{"id", f.id.value()},
                             {"code", f.code},
                             {"organisation", s ? s->code : std::string()},
                             {"title", f.title},
                             {"domain", f.domain}});
    }
    J sessions = J::array();
    for (const TrainingSession& t : net.sessions) {
      const Formation* f = net.formation(t.formation);
      sessions.push_back(J{{"id", t.id.value()},
                           {"code", t.code},
                           {"formation", f ? f->code : std::string()},
                           {"start", t.start.ToString()},
                           {"end", t.end.ToString()},
                           {"place", t.place}});
    }
    root["structures"] = std::move(structures);
    root["agents"] = std::move(agents);
    root["formations"] = std::move(formations);
    root["sessions"] = std::move(sessions);
    return root.dump(1);
  } catch (const nlohmann::json::exception& e) {
    return Internal(StrCat("network.json: ", e.what()));
  }
}

Status WriteNetworkJson(const std::string& path, const Network& network) {
  CLOISON_ASSIGN_OR_RETURN(std::string text, NetworkToJson(network));
  std::FILE* f = OpenPrivate(path);
  if (!f) return IOError(StrCat(path, ": cannot open for writing: ", std::strerror(errno)));
  text.push_back('\n');
  Status s = WriteAll(f, text, path);
  if (std::fclose(f) != 0 && s.ok()) s = IOError(StrCat(path, ": close failed"));
  return s;
}

}  // namespace cloison::sim
