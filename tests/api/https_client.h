// A small blocking HTTPS client for the API's integration tests: it speaks
// to the real api::Server over loopback TLS, verifying the server's
// certificate against a given CA (the test's self-signed certificate) and
// the name 127.0.0.1, and maps api::Request / api::Response to and from the
// wire, so that tests written against the networking-free Handler can run
// unchanged over the network (ApiFixture::transport_).
//
// Why a separate file, with Boost.Beast/Asio kept out of this header (pimpl):
// Beast is the costliest library to compile in the project, and the whole
// test command must stay under 30 minutes on 2 cores; only https_client.cc
// pays for it.
//
// One keep-alive connection is reused for every request. When the server
// closed it (idle timeout, restart, `Connection: close`), Send reconnects
// once and resends. Every network operation (connect, handshake, write,
// read) has a 10 s deadline.
//
// Thread-safety: none; one client per thread.
// Failure: Connect reports an unusable CA or a failed connection/handshake
// as a Status; Send never throws: a transport failure is a Response with
// status 0 and the error's text in `body`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "api/http.h"
#include "core/status.h"

namespace cloison::api {

class HttpsClient {
 public:
  // Opens the first connection to https://127.0.0.1:`port` (TLS handshake
  // included), trusting only `ca_pem`.
  static StatusOr<std::unique_ptr<HttpsClient>> Connect(uint16_t port, const std::string& ca_pem);
  ~HttpsClient();  // closes the connection (TLS close_notify, bounded)
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // Sends r.method, r.target, r.headers and r.body (Host: 127.0.0.1 added;
  // r.peer is ignored: the server sees the socket's address) and reads the
  // answer: status, Content-Type into content_type, the body, and every
  // other header, its name lower-cased, into headers.
  Response Send(const Request& r);

  // TLS connections opened so far (1 after Connect; keep-alive keeps it 1).
  int connections() const;

  struct Impl;

 private:
  explicit HttpsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloison::api
