// Child process of crash_test.cc: appends events from several threads until
// killed, printing "<leaf index> <writer> <seq>\n" with one write(2) each
// time an Append has returned (i.e. the entry is acknowledged durable).
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "audit/log.h"
#include "core/strings.h"

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const std::string dir = argv[1];
  const int threads = std::atoi(argv[2]);
  cloison::audit::LogOptions o;
  o.checkpoint_every_entries = 500;  // checkpoints get killed mid-way too
  auto log = cloison::audit::AuditLog::Open(dir, o);
  if (!log.ok()) {
    const std::string m = cloison::StrCat("open: ", cloison::MessageOf(log.status()), "\n");
    (void)!::write(2, m.data(), m.size());
    return 3;
  }
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (uint64_t seq = 0;; ++seq) {
        cloison::audit::Event e;
        e.kind = cloison::audit::EventKind::kSystem;
        e.time = cloison::SystemClock::Instance().NowMicros();
        e.account = cloison::AccountId(t + 1);
        e.details["seq"] = std::to_string(seq);
        e.details["pad"] = std::string(seq % 300, 'x');  // varied sizes
        auto idx = (*log)->Append(e);
        if (!idx.ok()) std::_Exit(4);
        const std::string line = cloison::StrCat(*idx, " ", t + 1, " ", seq, "\n");
        (void)!::write(1, line.data(), line.size());
      }
    });
  }
  for (auto& t : ts) t.join();
}
