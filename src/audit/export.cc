#include "audit/export.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "core/strings.h"
#include "crypto/base64.h"

namespace cloison::audit {

std::string ExportLine(uint64_t index, std::string_view leaf, const Hash& leaf_hash) {
  const auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(leaf.data()), leaf.size());
  const bool is_event = DecodeEvent(leaf).ok();
  return StrCat("{\"index\":", index, ",\"leaf_hash\":\"", crypto::Base64Encode(leaf_hash), "\",\"leaf_input\":\"",
                crypto::Base64Encode(bytes), "\",\"event\":", is_event ? leaf : std::string_view("null"), "}");
}

Status ExportJsonLines(const AuditLog& log, std::ostream& out, uint64_t from, uint64_t to) {
  const uint64_t end = std::min(to, log.size());
  for (uint64_t i = from; i < end; ++i) {
    CLOISON_ASSIGN_OR_RETURN(std::string leaf, log.ReadEntry(i));
    CLOISON_ASSIGN_OR_RETURN(Hash h, log.LeafHash(i));
    if (HashLeaf({reinterpret_cast<const uint8_t*>(leaf.data()), leaf.size()}) != h) {
      return Corruption(StrCat("entry ", i, " does not match its stored leaf hash"));
    }
    out << ExportLine(i, leaf, h) << '\n';
  }
  out.flush();
  if (!out) return IOError("export: write failed");
  return OkStatus();
}

std::string SyslogFrame(std::string_view msg, UnixMicros time, std::string_view hostname) {
  const time_t secs = static_cast<time_t>(time / 1'000'000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(time % 1'000'000));
  const std::string m = StrCat("<110>1 ", ts, " ", hostname.empty() ? std::string_view("-") : hostname,
                               " cloison - audit - ", msg);
  return StrCat(m.size(), " ", m);
}

StatusOr<uint64_t> ExportSyslog(const AuditLog& log, const std::string& host, int port, const Clock& clock,
                                uint64_t from, uint64_t to) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0) {
    return IOError(StrCat("syslog: cannot resolve ", host, ": ", gai_strerror(rc)));
  }
  int fd = -1;
  for (addrinfo* a = res; a; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  if (fd < 0) return IOError(StrCat("syslog: cannot connect to ", host, ":", port, ": ", std::strerror(errno)));
  char hn[256] = "-";
  ::gethostname(hn, sizeof hn - 1);
  uint64_t sent = 0;
  const uint64_t end = std::min(to, log.size());
  Status st = OkStatus();
  for (uint64_t i = from; i < end && st.ok(); ++i) {
    auto leaf = log.ReadEntry(i);
    auto h = log.LeafHash(i);
    if (!leaf.ok() || !h.ok()) {
      st = leaf.ok() ? h.status() : leaf.status();
      break;
    }
    auto ev = DecodeEvent(*leaf);
    const std::string frame = SyslogFrame(ExportLine(i, *leaf, *h), ev.ok() ? ev->time : clock.NowMicros(), hn);
    size_t done = 0;
    while (done < frame.size()) {
      const ssize_t n = ::send(fd, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        st = IOError(StrCat("syslog: send failed: ", std::strerror(errno)));
        break;
      }
      done += static_cast<size_t>(n);
    }
    if (st.ok()) ++sent;
  }
  ::close(fd);
  CLOISON_RETURN_IF_ERROR(st);
  return sent;
}

}  // namespace cloison::audit
