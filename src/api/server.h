// api::Server: HTTP/1.1 over Boost.Beast/Asio, TLS by default, in front of
// an api::Handler. It only moves bytes: parsing limits, timeouts, keep-alive,
// per-address connection limits and graceful shutdown live here; everything
// a request means lives in the Handler.
//
//   Limits (ServerOptions::limits): start line + headers <= 8 KiB (431),
//   body <= 64 KiB (413), URL <= 2 KiB (414, checked by the Handler),
//   at most `max_connections_per_address` open connections per client IP
//   (further connections are closed at once).
//   Timeouts: the TLS handshake and the first request must arrive within
//   `read_timeout`; on a kept-alive connection the next request within
//   `idle_timeout`. A client that started a request but did not complete it
//   in time (slowloris) gets one 408 JSON answer (`request_timeout`), then
//   the connection is closed; one that sent nothing is closed without an
//   answer. Other connections are unaffected.
//   Stop(): stops accepting, closes idle connections, lets in-flight
//   requests finish and answer (with Connection: close) for up to
//   `shutdown_grace`, then stops the threads. The caller then closes the
//   audit log (sync + final checkpoint).
//
// Handler calls run on the handler pool or the I/O threads (they block on
// the audit fsync, which the log batches across threads), except people
// reads, which run on the I/O threads without blocking
// (ServerOptions::async_reads).
//
// Thread-safety: Start/Stop/port from one controlling thread.
// Failure: Create reports a bad certificate/key or a bind failure as a
// Status; no exception leaves the Server.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/handler.h"
#include "api/http.h"
#include "core/status.h"
#include "crypto/secret.h"

namespace cloison::api {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8443;  // 0: any free port (tests); see Server::port()
  bool tls = true;       // false only for loopback benchmarks (--insecure-http)
  std::string cert_pem;  // certificate chain, PEM
  crypto::SecretBytes key_pem;  // private key, PEM
  int threads = 4;
  // 0: Handler::Handle runs on the I/O thread. N > 0: on a pool of N
  // blocking workers, so that an I/O thread never waits for the durable
  // audit append of a read: concurrent requests then share one disk sync
  // (the audit log's group commit) while the I/O threads keep reading and
  // writing. The workers mostly wait on the disk, not on the CPU.
  int handler_threads = 0;
  // true: a people read (Handler::AnswersLater) runs on the I/O thread
  // through Handler::HandleAsync, which does not wait for the audit sync:
  // the thread serves other connections meanwhile, and the answer is written
  // once the entry is durable. Reads then cost no thread hand-off and share
  // syncs however many are in flight. false: like every other request.
  bool async_reads = true;
  int max_connections_per_address = 64;
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds shutdown_grace{10'000};
  Limits limits;
};

class Server {
 public:
  // Binds and listens; does not serve until Start().
  static StatusOr<std::unique_ptr<Server>> Create(Handler& handler, ServerOptions options);
  ~Server();  // Stop() if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port (useful with port 0).
  uint16_t port() const;
  // Starts the I/O threads.
  void Start();
  // Graceful stop (see the file comment). Idempotent.
  void Stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloison::api
