// Framing of the audit log's files (docs/audit-format.md, "Frames"):
//
//   file   := header (16 bytes, a fixed magic per file kind) frame*
//   frame  := masked_crc32c (u32 LE) | length (u32 LE) | payload (length bytes)
//
// The CRC covers the length field and the payload. 0 < length <= kMaxPayload,
// so a zero-filled region (what some file systems show after a crash) is
// never a valid frame.
//
// FrameReader streams frames through a large buffer (the verify path reads
// gigabytes). It is not thread-safe; the File it reads must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/file.h"
#include "core/status.h"

namespace cloison::audit {

constexpr size_t kFrameHeaderSize = 8;
constexpr uint32_t kMaxPayload = 1u << 20;  // 1 MiB per entry
constexpr size_t kFileHeaderSize = 16;
constexpr std::string_view kEntriesMagic = "CLOISON-AUDIT-1\n";
constexpr std::string_view kCheckpointsMagic = "CLOISON-CKPTS-1\n";

// Appends the frame of `payload` to `out`. payload.size() must be in (0, kMaxPayload].
void AppendFrame(std::string& out, std::string_view payload);

class FrameReader {
 public:
  FrameReader(const File& file, uint64_t start, size_t buffer_size = 4 << 20);
  // Next frame: true and *payload (valid until the next call) and
  // *frame_offset; false at a clean end of file; Corruption for a short or
  // bad frame, with offset() at its start.
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

}  // namespace cloison::audit
