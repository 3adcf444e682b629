#include "sim/reference.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace cloison::sim {

namespace internal {
extern const char kCommunesCsv[], kDepartementsCsv[], kRegionsCsv[], kPaysCsv[], kPrenomsF[], kPrenomsM[],
    kNoms[], kVoiesTypes[], kVoiesNoms[];
}

WeightedIndex::WeightedIndex(const std::vector<uint64_t>& weights) {
  cum_.reserve(weights.size());
  uint64_t sum = 0;
  for (uint64_t w : weights) cum_.push_back(sum += w);
  if (cum_.size() < 64 || sum == 0) return;
  while ((sum >> shift_) > 2 * cum_.size()) ++shift_;
  const uint64_t buckets = (sum >> shift_) + 1;
  guide_.resize(buckets + 1);
  size_t k = 0;
  for (uint64_t b = 0; b < buckets; ++b) {
    while (k < cum_.size() && cum_[k] <= (b << shift_)) ++k;
    guide_[b] = static_cast<uint32_t>(k);
  }
  guide_[buckets] = static_cast<uint32_t>(cum_.size() - 1);
}

size_t WeightedIndex::Find(uint64_t point) const {
  if (guide_.empty())
    return static_cast<size_t>(std::upper_bound(cum_.begin(), cum_.end(), point) - cum_.begin());
  const uint64_t b = point >> shift_;
  const auto first = cum_.begin() + guide_[b];
  const auto last = cum_.begin() + std::min<size_t>(guide_[b + 1] + size_t{1}, cum_.size());
  return static_cast<size_t>(std::upper_bound(first, last, point) - cum_.begin());
}

size_t WeightedIndex::Sample(Random& rng) const { return Find(FastUniform(rng, total())); }

size_t WeightedIndex::SampleRange(Random& rng, size_t begin, size_t end) const {
  const uint64_t lo = begin_of(begin), hi = cum_[end - 1];
  const uint64_t point = lo + FastUniform(rng, hi - lo);
  return static_cast<size_t>(std::upper_bound(cum_.begin() + begin, cum_.begin() + end, point) - cum_.begin());
}

namespace {

// Splits embedded text into lines, skipping empty lines and '#' comments.
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    out.push_back(line);
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t p = line.find(sep, start);
    out.push_back(line.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

uint64_t ToU64(std::string_view s) {
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// The embedded files are checked by tests; a malformed one is a build defect.
[[noreturn]] void BadData() { std::abort(); }

void LoadNames(const char* text, std::vector<Name>& names, WeightedIndex& index) {
  std::vector<uint64_t> weights;
  for (std::string_view line : Lines(text)) {
    auto cells = Split(line, ',');
    if (cells.size() != 2 || cells[0].empty()) BadData();
    names.push_back(Name{cells[0], AsciiFold(cells[0])});
    weights.push_back(std::max<uint64_t>(1, ToU64(cells[1])));
  }
  index = WeightedIndex(weights);
}

}  // namespace

std::string AsciiFold(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      if (c >= 'A' && c <= 'Z') out.push_back(static_cast<char>(c - 'A' + 'a'));
      else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') out.push_back(static_cast<char>(c));
      // spaces, apostrophes and anything else are dropped
      continue;
    }
    // Two-byte sequences cover Latin-1 and Latin Extended-A (œ, Œ).
    if ((c >> 5) == 0x6 && i + 1 < s.size()) {
      const uint32_t cp = ((c & 0x1fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3fu);
      i += 2;
      static constexpr const char* kLatin1 =  // U+00C0 .. U+00FF
          "AAAAAA\0CEEEEIIIIDNOOOOO/OUUUUYTsaaaaaa\0ceeeeiiiidnooooo/ouuuuyty";
      if (cp == 0xC6 || cp == 0xE6) out += "ae";
      else if (cp == 0x152 || cp == 0x153) out += "oe";
      else if (cp == 0xDF) out += "ss";
      else if (cp >= 0xC0 && cp <= 0xFF) {
        char f = kLatin1[cp - 0xC0];
        if (f >= 'A' && f <= 'Z') f = static_cast<char>(f - 'A' + 'a');
        if (f >= 'a' && f <= 'z') out.push_back(f);
      }
      continue;
    }
    // Longer sequences (rare in names): skip the whole code point.
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xc0) == 0x80) ++i;
  }
  return out;
}

const ReferenceData& ReferenceData::Get() {
  static const ReferenceData* data = [] {
    auto* d = new ReferenceData();
    d->Load();
    return d;
  }();
  return *data;
}

void ReferenceData::Load() {
  // Régions.
  {
    auto lines = Lines(internal::kRegionsCsv);
    for (size_t i = 1; i < lines.size(); ++i) {
      auto cells = Split(lines[i], ',');
      if (cells.size() != 2) BadData();
      // Codes 01-06 are the DROM; 975+ are COM.
      regions_.push_back(Region{cells[0], cells[1], cells[0].size() != 2 || cells[0] < "10"});
    }
  }
  // Départements.
  {
    auto lines = Lines(internal::kDepartementsCsv);
    for (size_t i = 1; i < lines.size(); ++i) {
      auto cells = Split(lines[i], ',');
      if (cells.size() != 3) BadData();
      Departement d;
      d.code = cells[0];
      d.name = cells[1];
      d.region = cells[2];
      d.in_network = d.code.size() == 2 || d.code == "971" || d.code == "972" || d.code == "973" ||
                     d.code == "974" || d.code == "976";
      departements_.push_back(d);
    }
  }
  // Communes, sorted by INSEE code in the file.
  {
    auto lines = Lines(internal::kCommunesCsv);
    communes_.reserve(lines.size());
    std::vector<uint64_t> weights;
    weights.reserve(lines.size());
    for (size_t i = 1; i < lines.size(); ++i) {
      auto cells = Split(lines[i], ',');
      if (cells.size() != 6 || cells[0].size() != 5) BadData();
      Commune c{cells[0], cells[1], cells[2], cells[3], cells[4], static_cast<uint32_t>(ToU64(cells[5]))};
      communes_.push_back(c);
      weights.push_back(c.population);
    }
    commune_weights_ = WeightedIndex(weights);
    for (size_t i = 0; i < communes_.size();) {
      size_t j = i;
      while (j < communes_.size() && communes_[j].departement == communes_[i].departement) ++j;
      Departement* d = const_cast<Departement*>(FindDepartement(communes_[i].departement));
      if (!d || d->end_commune != 0) BadData();  // unknown or not contiguous
      d->first_commune = i;
      d->end_commune = j;
      for (size_t k = i; k < j; ++k) d->population += communes_[k].population;
      i = j;
    }
  }
  {
    auto lines = Lines(internal::kPaysCsv);
    for (size_t i = 1; i < lines.size(); ++i) {
      auto cells = Split(lines[i], ',');
      if (cells.size() != 3 || cells[0].size() != 3) BadData();
      countries_.push_back(Country{cells[0], cells[1], static_cast<uint32_t>(ToU64(cells[2]))});
    }
  }
  LoadNames(internal::kPrenomsF, prenoms_f_, prenom_f_weights_);
  LoadNames(internal::kPrenomsM, prenoms_m_, prenom_m_weights_);
  LoadNames(internal::kNoms, noms_, nom_weights_);
  {
    std::vector<uint64_t> weights;
    for (std::string_view line : Lines(internal::kVoiesTypes)) {
      auto cells = Split(line, ',');
      if (cells.size() != 2) BadData();
      voie_types_.push_back(cells[0]);
      weights.push_back(ToU64(cells[1]));
    }
    voie_type_weights_ = WeightedIndex(weights);
  }
  for (std::string_view line : Lines(internal::kVoiesNoms)) voie_noms_.push_back(line);
}

const Departement* ReferenceData::FindDepartement(std::string_view code) const {
  for (const auto& d : departements_)
    if (d.code == code) return &d;
  return nullptr;
}

const Region* ReferenceData::FindRegion(std::string_view code) const {
  for (const auto& r : regions_)
    if (r.code == code) return &r;
  return nullptr;
}

}  // namespace cloison::sim
