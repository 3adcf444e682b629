// Framing of the audit log's files (docs/audit-format.md, "Frames"):
//
//   file   := header (16 bytes, a fixed magic per file kind) frame*
//   frame  := masked_crc32c (u32 LE) | length (u32 LE) | payload (length bytes)
//
// The CRC covers the length field and the payload. 0 < length <= kMaxPayload,
// so a zero-filled region is never a valid frame. entries.log may end with
// zeros that are not part of it: space reserved for the next appends
// (File::Reserve, cut at Close and at the next Open) or zeros a crash left.
// Where a frame should start, zeros up to the end of the file are the clean
// end of the frames; zeros followed by data are not.
//
// entries.log comes in two formats, told apart by its header:
//   format 1 "CLOISON-AUDIT-1\n": payload = the leaf (the entry bytes)
//   format 2 "CLOISON-AUDIT-2\n": payload = leaf || tag, where tag is the
//            16-byte authentication tag of the entry (entry_tag.h)
// New logs are format 2; format-1 logs keep being read and appended to as
// format 1 (an append-only file cannot change format).
//
// FrameReader streams frames through a large buffer (the verify path reads
// gigabytes). It is not thread-safe; the File it reads must outlive it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audit/file.h"
#include "core/status.h"

namespace cloison::audit {

constexpr size_t kFrameHeaderSize = 8;
constexpr uint32_t kMaxPayload = 1u << 20;  // 1 MiB per entry
constexpr size_t kFileHeaderSize = 16;
constexpr std::string_view kEntriesMagicV1 = "CLOISON-AUDIT-1\n";
constexpr std::string_view kEntriesMagic = "CLOISON-AUDIT-2\n";  // what new logs get
constexpr std::string_view kCheckpointsMagic = "CLOISON-CKPTS-1\n";
constexpr size_t kEntryTagSize = 16;

// Appends the frame of `payload` to `out`. payload.size() must be in (0, kMaxPayload].
void AppendFrame(std::string& out, std::string_view payload);

// The largest leaf an entries.log frame of `format` can carry.
constexpr size_t MaxLeafSize(int format) { return format >= 2 ? kMaxPayload - kEntryTagSize : kMaxPayload; }

// A format-2 frame built in two steps, because the tag depends on the
// entry's leaf index, which is known only once the entry is queued: Start
// (any thread) lays out header and leaf and checksums the leaf; Seal (under
// the queue's lock) writes the tag and finishes the checksum, O(1).
struct TaggedFrame {
  std::string bytes;     // header | leaf | tag (tag and CRC zero until Seal)
  uint32_t partial_crc;  // crc32c over the length field and the leaf
};
TaggedFrame StartTaggedFrame(std::string_view leaf);
void SealTaggedFrame(TaggedFrame& f, std::span<const uint8_t, kEntryTagSize> tag);

// Splits a format-2 payload into leaf and tag; false when it is too short
// to hold a tag and a non-empty leaf.
bool SplitTaggedPayload(std::string_view payload, std::string_view* leaf, std::span<const uint8_t>* tag);

// Where the data of `f` end at or after `from`: one past its last non-zero
// byte in [from, size), or `from` when that range holds only zeros. Reads
// backwards from `size`, so it costs what the trailing zeros cost.
StatusOr<uint64_t> EndOfData(const File& f, uint64_t from, uint64_t size);

class FrameReader {
 public:
  FrameReader(const File& file, uint64_t start, size_t buffer_size = 4 << 20);
  // Next frame: true and *payload (valid until the next call) and
  // *frame_offset; false at a clean end: the end of the file, or where only
  // zeros follow (see the file comment); Corruption for a short or bad
  // frame, or zeros followed by data, with offset() at its start.
  StatusOr<bool> Next(std::string_view* payload, uint64_t* frame_offset);
  // Where the next frame starts (or the bad one, after an error).
  uint64_t offset() const { return offset_; }

 private:
  Status Fill(size_t need);
  const File& file_;
  uint64_t offset_;       // file offset of buf_[pos_]
  std::vector<uint8_t> buf_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
};

// Checks a file's 16-byte header; creates it in an empty file.
Status CheckOrWriteHeader(File& f, std::string_view magic, const std::string& path);
// entries.log's header: writes format 2's in an empty file; returns the
// format (1 or 2); Corruption for another header.
StatusOr<int> CheckOrWriteEntriesHeader(File& f, const std::string& path);

}  // namespace cloison::audit
