#include "audit/record.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "audit/crc32c.h"
#include "core/strings.h"

namespace cloison::audit {
namespace {
void PutU32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v >> 16);
  p[3] = uint8_t(v >> 24);
}
uint32_t GetU32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t(p[3]) << 24); }
}  // namespace

void AppendFrame(std::string& out, std::string_view payload) {
  uint8_t h[kFrameHeaderSize];
  PutU32(h + 4, static_cast<uint32_t>(payload.size()));
  uint32_t crc = crc32c::Value(h + 4, 4);
  crc = crc32c::Extend(crc, reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  PutU32(h, crc32c::Mask(crc));
  out.append(reinterpret_cast<const char*>(h), sizeof h);
  out.append(payload);
}

TaggedFrame StartTaggedFrame(std::string_view leaf) {
  TaggedFrame f;
  f.bytes.resize(kFrameHeaderSize + leaf.size() + kEntryTagSize);
  auto* p = reinterpret_cast<uint8_t*>(f.bytes.data());
  PutU32(p + 4, static_cast<uint32_t>(leaf.size() + kEntryTagSize));
  std::memcpy(p + kFrameHeaderSize, leaf.data(), leaf.size());
  f.partial_crc = crc32c::Extend(crc32c::Value(p + 4, 4), reinterpret_cast<const uint8_t*>(leaf.data()), leaf.size());
  return f;
}

void SealTaggedFrame(TaggedFrame& f, std::span<const uint8_t, kEntryTagSize> tag) {
  auto* p = reinterpret_cast<uint8_t*>(f.bytes.data());
  std::memcpy(p + f.bytes.size() - kEntryTagSize, tag.data(), kEntryTagSize);
  PutU32(p, crc32c::Mask(crc32c::Extend(f.partial_crc, tag.data(), kEntryTagSize)));
}

bool SplitTaggedPayload(std::string_view payload, std::string_view* leaf, std::span<const uint8_t>* tag) {
  if (payload.size() <= kEntryTagSize) return false;
  *leaf = payload.substr(0, payload.size() - kEntryTagSize);
  *tag = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()) + leaf->size(), kEntryTagSize);
  return true;
}

FrameReader::FrameReader(const File& file, uint64_t start, size_t buffer_size)
    : file_(file), offset_(start), buf_(buffer_size) {}

Status FrameReader::Fill(size_t need) {
  if (end_ - pos_ >= need || eof_) return OkStatus();
  // Move the unread tail to the front, grow if one frame is larger than the buffer.
  std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
  end_ -= pos_;
  pos_ = 0;
  if (buf_.size() < need) buf_.resize(need);
  while (end_ < buf_.size() && !eof_) {
    size_t got = 0;
    CLOISON_RETURN_IF_ERROR(file_.ReadAt(offset_ + end_, std::span<uint8_t>(buf_.data() + end_, buf_.size() - end_), &got));
    if (got == 0) eof_ = true;
    end_ += got;
    if (end_ - pos_ >= need) break;
  }
  return OkStatus();
}

StatusOr<uint64_t> EndOfData(const File& f, uint64_t from, uint64_t size) {
  std::vector<uint8_t> block(64 << 10);
  uint64_t end = size;
  while (end > from) {
    const uint64_t start = end - std::min<uint64_t>(block.size(), end - from);
    const size_t n = static_cast<size_t>(end - start);
    size_t got = 0;
    CLOISON_RETURN_IF_ERROR(f.ReadAt(start, std::span<uint8_t>(block.data(), n), &got));
    for (size_t i = std::min(got, n); i > 0; --i) {
      if (block[i - 1] != 0) return start + i;
    }
    end = start;
  }
  return from;
}

StatusOr<bool> FrameReader::Next(std::string_view* payload, uint64_t* frame_offset) {
  CLOISON_RETURN_IF_ERROR(Fill(kFrameHeaderSize));
  const size_t avail = end_ - pos_;
  if (avail == 0) return false;
  const uint8_t* h = buf_.data() + pos_;
  if (std::all_of(h, h + std::min(avail, kFrameHeaderSize), [](uint8_t b) { return b == 0; })) {
    // Zeros where a frame should start: reserved space (or zeros left by a
    // crash) if only zeros follow, else damage.
    CLOISON_ASSIGN_OR_RETURN(const uint64_t size, file_.Size());
    CLOISON_ASSIGN_OR_RETURN(const uint64_t data_end, EndOfData(file_, offset_, size));
    if (data_end == offset_) return false;
    return Corruption(StrCat("zero bytes at offset ", offset_,
                             " where a frame should start, followed by data up to offset ", data_end));
  }
  if (avail < kFrameHeaderSize) return Corruption(StrCat("short frame header at offset ", offset_));
  const uint32_t len = GetU32(h + 4);
  if (len == 0 || len > kMaxPayload) return Corruption(StrCat("bad frame length at offset ", offset_));
  const uint32_t stored = GetU32(h);
  CLOISON_RETURN_IF_ERROR(Fill(kFrameHeaderSize + len));
  if (end_ - pos_ < kFrameHeaderSize + len) return Corruption(StrCat("short frame at offset ", offset_));
  const uint8_t* f = buf_.data() + pos_;
  const uint32_t crc = crc32c::Value(f + 4, 4 + len);
  if (crc32c::Unmask(stored) != crc) return Corruption(StrCat("frame checksum mismatch at offset ", offset_));
  *payload = std::string_view(reinterpret_cast<const char*>(f + kFrameHeaderSize), len);
  *frame_offset = offset_;
  pos_ += kFrameHeaderSize + len;
  offset_ += kFrameHeaderSize + len;
  return true;
}

Status CheckOrWriteHeader(File& f, std::string_view magic, const std::string& path) {
  CLOISON_ASSIGN_OR_RETURN(uint64_t size, f.Size());
  if (size == 0) {
    CLOISON_RETURN_IF_ERROR(f.Append(magic));
    return f.Sync();
  }
  uint8_t h[kFileHeaderSize];
  size_t got = 0;
  CLOISON_RETURN_IF_ERROR(f.ReadAt(0, h, &got));
  if (got < kFileHeaderSize || std::memcmp(h, magic.data(), kFileHeaderSize) != 0) {
    // A header torn by a crash right after creation holds no entry.
    if (got < kFileHeaderSize && std::memcmp(h, magic.data(), got) == 0) {
      CLOISON_RETURN_IF_ERROR(f.Truncate(0));
      CLOISON_RETURN_IF_ERROR(f.Append(magic));
      return f.Sync();
    }
    return Corruption(StrCat(path, ": not a Cloison audit file (bad header)"));
  }
  return OkStatus();
}

StatusOr<int> CheckOrWriteEntriesHeader(File& f, const std::string& path) {
  CLOISON_ASSIGN_OR_RETURN(uint64_t size, f.Size());
  if (size >= kFileHeaderSize) {
    uint8_t h[kFileHeaderSize];
    size_t got = 0;
    CLOISON_RETURN_IF_ERROR(f.ReadAt(0, h, &got));
    if (got == kFileHeaderSize && std::memcmp(h, kEntriesMagicV1.data(), kFileHeaderSize) == 0) return 1;
  }
  // Empty, torn right after creation, format 2, or not ours.
  CLOISON_RETURN_IF_ERROR(CheckOrWriteHeader(f, kEntriesMagic, path));
  return 2;
}

}  // namespace cloison::audit
