#include "https_client.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>  // before Boost.Asio (std::exchange)

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "core/strings.h"

namespace cloison::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr std::chrono::seconds kTimeout(10);
// The closing handshake is a courtesy: never worth more than this.
constexpr std::chrono::seconds kCloseTimeout(2);
constexpr const char* kHost = "127.0.0.1";

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Errors meaning "the server closed this connection": on a reused
// connection, the request can be sent again on a new one.
bool IsClosed(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated ||
         ec == asio::error::not_connected || ec == asio::error::bad_descriptor;
}

Response TransportFailure(std::string_view what, const beast::error_code& ec) {
  Response r;
  r.status = 0;
  r.content_type.clear();
  r.body = StrCat("transport failure (", what, "): ", ec.message());
  return r;
}

}  // namespace

struct HttpsClient::Impl {
  explicit Impl(uint16_t p) : port(p) {}

  // Runs one asynchronous operation to completion. Beast's tcp_stream
  // deadlines (expires_after) apply to asynchronous operations only, so
  // every blocking step is an async call driven here.
  template <class Initiate>
  beast::error_code Run(Initiate&& initiate) {
    beast::error_code result = asio::error::would_block;
    initiate([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  // A fresh TCP connection and TLS handshake (the old one, if any, dropped).
  beast::error_code Open() {
    stream.reset();
    buffer.clear();
    stream = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, tls);
    beast::tcp_stream& lowest = beast::get_lowest_layer(*stream);
    lowest.expires_after(kTimeout);
    const tcp::endpoint ep(asio::ip::make_address(kHost), port);
    beast::error_code ec = Run([&](auto handler) { lowest.async_connect(ep, std::move(handler)); });
    if (!ec) {
      lowest.expires_after(kTimeout);
      ec = Run([&](auto handler) { stream->async_handshake(ssl::stream_base::client, std::move(handler)); });
    }
    if (ec) {
      stream.reset();
      return ec;
    }
    ++connections;
    return ec;
  }

  // Sends close_notify and waits (briefly) for the server's.
  void Close() {
    if (!stream) return;
    beast::get_lowest_layer(*stream).expires_after(kCloseTimeout);
    Run([&](auto handler) { stream->async_shutdown(std::move(handler)); });
    beast::error_code ignored;
    beast::get_lowest_layer(*stream).socket().close(ignored);
    stream.reset();
  }

  // One request/answer on the current connection. `answered`: some bytes of
  // an answer arrived (the request was seen; never resend it).
  beast::error_code Exchange(http::request<http::string_body>& req,
                             std::optional<http::response_parser<http::string_body>>& parser, bool& answered,
                             std::string& step) {
    answered = false;
    parser.emplace();
    parser->body_limit(64 << 20);
    beast::get_lowest_layer(*stream).expires_after(kTimeout);
    step = "write";
    beast::error_code ec = Run([&](auto handler) { http::async_write(*stream, req, std::move(handler)); });
    if (ec) return ec;
    beast::get_lowest_layer(*stream).expires_after(kTimeout);
    step = "read";
    ec = Run([&](auto handler) { http::async_read(*stream, buffer, *parser, std::move(handler)); });
    answered = parser->got_some();
    return ec;
  }

  const uint16_t port;
  int connections = 0;
  // Destroyed in reverse order: the stream before the context it uses.
  asio::io_context ioc;
  ssl::context tls{ssl::context::tls_client};
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> stream;
  beast::flat_buffer buffer;
};

HttpsClient::HttpsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpsClient::~HttpsClient() {
  try {
    impl_->Close();
  } catch (...) {
    // Closing is best effort; nothing leaves a destructor.
  }
}

int HttpsClient::connections() const { return impl_->connections; }

StatusOr<std::unique_ptr<HttpsClient>> HttpsClient::Connect(uint16_t port, const std::string& ca_pem) {
  try {
    auto impl = std::make_unique<Impl>(port);
    beast::error_code ec;
    impl->tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                              ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                          ec);
    if (!ec) impl->tls.add_certificate_authority(asio::buffer(ca_pem), ec);
    if (ec) return InvalidArgument(StrCat("the CA is not a usable PEM certificate: ", ec.message()));
    impl->tls.set_verify_mode(ssl::verify_peer, ec);
    if (!ec) impl->tls.set_verify_callback(ssl::host_name_verification(kHost), ec);
    if (ec) return Internal(StrCat("TLS client setup failed: ", ec.message()));
    ec = impl->Open();
    if (ec) return IOError(StrCat("cannot connect to https://", kHost, ":", port, ": ", ec.message()));
    return std::unique_ptr<HttpsClient>(new HttpsClient(std::move(impl)));
  } catch (const std::exception& e) {
    return Internal(StrCat("TLS client setup failed: ", e.what()));
  }
}

Response HttpsClient::Send(const Request& r) {
  try {
    http::request<http::string_body> req;
    req.version(11);
    req.method_string(r.method);
    req.target(r.target);
    bool has_host = false;
    for (const auto& [k, v] : r.headers) {
      has_host = has_host || Lower(k) == "host";
      req.insert(k, v);
    }
    if (!has_host) req.set(http::field::host, kHost);
    req.body() = r.body;
    req.prepare_payload();

    bool reused = impl_->stream != nullptr;
    if (!reused) {
      if (beast::error_code ec = impl_->Open()) return TransportFailure("connect", ec);
    }
    std::optional<http::response_parser<http::string_body>> parser;
    bool answered = false;
    std::string step;
    beast::error_code ec = impl_->Exchange(req, parser, answered, step);
    if (ec && reused && !answered && IsClosed(ec)) {
      // The kept-alive connection was closed by the server in the meantime
      // (idle timeout, restart): once more on a new one.
      if (beast::error_code oc = impl_->Open()) return TransportFailure("reconnect", oc);
      ec = impl_->Exchange(req, parser, answered, step);
    }
    if (ec) {
      impl_->stream.reset();  // its framing can no longer be trusted
      return TransportFailure(step, ec);
    }
    const http::response<http::string_body>& res = parser->get();
    Response out;
    out.status = res.result_int();
    out.content_type = std::string(res[http::field::content_type]);
    out.body = res.body();
    for (const auto& f : res) {
      const auto n = f.name_string();
      std::string name = Lower(std::string_view(n.data(), n.size()));
      if (name != "content-type") out.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    if (!res.keep_alive()) impl_->Close();  // the server closes it after this answer
    return out;
  } catch (const std::exception& e) {
    impl_->stream.reset();
    Response out;
    out.status = 0;
    out.content_type.clear();
    out.body = StrCat("transport failure: ", e.what());
    return out;
  }
}

}  // namespace cloison::api
