// Export of the log to a SIEM, in a form anyone can check against a
// checkpoint with their own RFC 6962 code (docs/audit-format.md, "Export"):
//
//   {"index":I,"leaf_hash":"<b64 SHA-256(0x00||leaf)>","leaf_input":"<b64 leaf bytes>","event":{...}}
//
// one line per entry; "event" is the entry itself (it is canonical JSON), or
// null if it is not a decodable event (foreign or damaged bytes).
// Syslog: RFC 5424 messages (facility 13 "log audit", severity 6) over TCP
// with RFC 6587 octet-counting framing; MSG is the same JSON line.
//
// Thread-safety: read-only use of the log; may run next to appends.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "audit/log.h"

namespace cloison::audit {

std::string ExportLine(uint64_t index, std::string_view leaf, const Hash& leaf_hash);
// Entries [from, min(to, log.size())).
Status ExportJsonLines(const AuditLog& log, std::ostream& out, uint64_t from = 0, uint64_t to = UINT64_MAX);

// "<110>1 <RFC 3339 UTC time> <host> cloison - audit - <msg>" with octet-counting prefix.
std::string SyslogFrame(std::string_view msg, UnixMicros time, std::string_view hostname);
// Connects to host:port over TCP and sends every entry; returns how many.
StatusOr<uint64_t> ExportSyslog(const AuditLog& log, const std::string& host, int port, const Clock& clock,
                                uint64_t from = 0, uint64_t to = UINT64_MAX);

}  // namespace cloison::audit
