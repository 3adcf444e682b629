// The real server over real sockets: TLS on 127.0.0.1, port 0, a self-signed
// certificate from crypto/x509.h, a Beast TLS client.
#include <sys/stat.h>

#include <utility>

#include <chrono>
#include <vector>
#include <atomic>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "api/server.h"
#include "api_fixture.h"
#include "crypto/x509.h"

namespace cloison::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

class ServerTest : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    auto pair = crypto::GenerateSelfSigned();
    ASSERT_TRUE(pair.ok()) << pair.status();
    cert_ = pair->cert_pem;
    ServerOptions o;
    o.port = 0;
    o.cert_pem = pair->cert_pem;
    o.key_pem = pair->key_pem;
    o.threads = 2;
    o.read_timeout = std::chrono::milliseconds(400);
    o.idle_timeout = std::chrono::milliseconds(400);
    o.max_connections_per_address = 8;
    auto s = Server::Create(*handler_, std::move(o));
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    server_->Start();
  }
  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    ApiFixture::TearDown();
  }

  // A TLS client that verifies the server's certificate against the
  // self-signed one and the name 127.0.0.1.
  struct Client {
    asio::io_context ioc;
    ssl::context ctx{ssl::context::tls_client};
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> stream;
    beast::flat_buffer buffer;

    void Connect(const std::string& cert, uint16_t port) {
      ctx.add_certificate_authority(asio::buffer(cert));
      ctx.set_verify_mode(ssl::verify_peer);
      ctx.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
      stream = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, ctx);
      beast::get_lowest_layer(*stream).expires_after(std::chrono::seconds(5));
      beast::get_lowest_layer(*stream).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
      stream->handshake(ssl::stream_base::client);
    }
    http::response<http::string_body> Send(http::verb verb, const std::string& target, const std::string& body = "",
                                           const std::string& token = "") {
      http::request<http::string_body> req(verb, target, 11);
      req.set(http::field::host, "127.0.0.1");
      if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
      if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
      }
      req.keep_alive(true);
      req.prepare_payload();
      beast::get_lowest_layer(*stream).expires_after(std::chrono::seconds(5));
      http::write(*stream, req);
      http::response<http::string_body> res;
      http::read(*stream, buffer, res);
      return res;
    }
  };

  std::string cert_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, LoginReadGarbageSlowClientAndStillServing) {
  Client c;
  ASSERT_NO_THROW(c.Connect(cert_, server_->port()));
  auto res = c.Send(http::verb::post, "/v1/sessions",
                    nlohmann::json{{"username", "counsellor"}, {"password", kPassword}}.dump());
  ASSERT_EQ(res.result_int(), 201) << res.body();
  const std::string token = nlohmann::json::parse(res.body())["token"];
  // Same connection (keep-alive): a read.
  res = c.Send(http::verb::get, "/v1/people/101?purpose=accompaniment", "", token);
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(nlohmann::json::parse(res.body())["fields"]["nom"], "MARTIN");
  EXPECT_TRUE(res.keep_alive());

  // Garbage on a fresh TLS connection: a 400 JSON answer, then close.
  {
    Client g;
    ASSERT_NO_THROW(g.Connect(cert_, server_->port()));
    const std::string junk = "\x01\x02 NOT HTTP AT ALL\r\n\r\n";
    asio::write(*g.stream, asio::buffer(junk));
    http::response<http::string_body> r;
    beast::error_code ec;
    http::read(*g.stream, g.buffer, r, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.result_int(), 400);
    EXPECT_NE(r.body().find("\"code\":\"bad_request\""), std::string::npos) << r.body();
  }
  // Oversized headers: 431.
  {
    Client g;
    ASSERT_NO_THROW(g.Connect(cert_, server_->port()));
    http::request<http::string_body> req(http::verb::get, "/v1/healthz", 11);
    req.set("X-Big", std::string(10000, 'a'));
    http::write(*g.stream, req);
    http::response<http::string_body> r;
    beast::error_code ec;
    http::read(*g.stream, g.buffer, r, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.result_int(), 431);
  }
  // Plain HTTP on the TLS port: dropped, no crash.
  {
    asio::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    const std::string plain = "GET /v1/healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    asio::write(s, asio::buffer(plain));
    char buf[256];
    beast::error_code ec;
    s.read_some(asio::buffer(buf), ec);  // an alert or EOF, whatever: the server goes on
  }
  // A slow client: half a request line, then nothing. When its read timeout
  // (400 ms here) expires the server answers 408 request_timeout, then
  // closes.
  {
    Client slow;
    ASSERT_NO_THROW(slow.Connect(cert_, server_->port()));
    const std::string part = "GET /v1/heal";
    asio::write(*slow.stream, asio::buffer(part));
    http::response<http::string_body> r;
    beast::error_code ec;
    beast::get_lowest_layer(*slow.stream).expires_after(std::chrono::seconds(5));
    http::read(*slow.stream, slow.buffer, r, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.result_int(), 408);
    EXPECT_NE(r.body().find("\"code\":\"request_timeout\""), std::string::npos) << r.body();
    EXPECT_FALSE(r.keep_alive());
    char buf[16];
    slow.stream->read_some(asio::buffer(buf), ec);
    EXPECT_TRUE(ec) << "the connection is closed after the 408";
  }
  // A connection that sends nothing after the handshake is owed no answer:
  // closed at its timeout, without an HTTP response.
  {
    Client idle;
    ASSERT_NO_THROW(idle.Connect(cert_, server_->port()));
    http::response<http::string_body> r;
    beast::error_code ec;
    beast::get_lowest_layer(*idle.stream).expires_after(std::chrono::seconds(5));
    http::read(*idle.stream, idle.buffer, r, ec);
    EXPECT_TRUE(ec) << "an idle connection got an answer: " << r.result_int();
    EXPECT_NE(ec, beast::error::timeout) << "the server should have closed it";
  }
  // Still serving, on a new connection.
  Client again;
  ASSERT_NO_THROW(again.Connect(cert_, server_->port()));
  res = again.Send(http::verb::get, "/v1/healthz");
  EXPECT_EQ(res.result_int(), 200);
  res = again.Send(http::verb::get, "/v1/people/101?purpose=accompaniment", "", token);
  EXPECT_EQ(res.result_int(), 200);
}

TEST_F(ServerTest, HandlerPoolServesConcurrentReadsEachAuditedOnce) {
  // handler_threads > 0: requests run on a pool of blocking workers (the
  // durable audit append no longer holds the I/O thread), answers go back
  // through the session's strand. Every read is answered and audited once.
  auto pair = crypto::GenerateSelfSigned();
  ASSERT_TRUE(pair.ok());
  ServerOptions o;
  o.port = 0;
  o.cert_pem = pair->cert_pem;
  o.key_pem = pair->key_pem;
  o.threads = 1;
  o.handler_threads = 4;
  auto s = Server::Create(*handler_, std::move(o));
  ASSERT_TRUE(s.ok()) << s.status();
  std::unique_ptr<Server> pooled = std::move(*s);
  pooled->Start();
  const std::string token = Login("counsellor");
  const uint64_t before = audit_->size();
  constexpr int kClients = 4, kReads = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c)
    clients.emplace_back([&, c] {
      Client cl;
      cl.Connect(pair->cert_pem, pooled->port());
      for (int i = 0; i < kReads; ++i) {
        auto res = cl.Send(http::verb::get, StrCat("/v1/people/", 101 + (c + i) % 4, "?purpose=accompaniment"), "", token);
        if (res.result_int() == 200 && res.body().find("\"nom\"") != std::string::npos) ++ok;
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients * kReads);
  pooled->Stop();
  int reads = 0;
  auto events = AuditEvents();
  for (size_t i = before; i < events.size(); ++i) reads += events[i].kind == audit::EventKind::kRead;
  EXPECT_EQ(reads, kClients * kReads);
}

TEST_F(ServerTest, GracefulStopClosesIdleConnections) {
  Client c;
  ASSERT_NO_THROW(c.Connect(cert_, server_->port()));
  EXPECT_EQ(c.Send(http::verb::get, "/v1/healthz").result_int(), 200);
  // Stop returns once the idle connection is closed (not after the grace
  // period: the client would otherwise see its own 5 s read deadline below).
  server_->Stop();
  char buf[16];
  beast::error_code ec;
  c.stream->read_some(asio::buffer(buf), ec);
  EXPECT_TRUE(ec);
}

TEST_F(ServerTest, ConnectionsPerAddressAreCapped) {
  // max_connections_per_address = 8: the 9th connection from 127.0.0.1 is
  // closed at once; once one closes, a new one is served.
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<Client>());
    ASSERT_NO_THROW(clients.back()->Connect(cert_, server_->port()));
  }
  {
    Client extra;
    bool refused = false;
    try {
      extra.Connect(cert_, server_->port());
      extra.Send(http::verb::get, "/v1/healthz");
    } catch (const std::exception&) {
      refused = true;
    }
    EXPECT_TRUE(refused);
  }
  EXPECT_EQ(clients[0]->Send(http::verb::get, "/v1/healthz").result_int(), 200);
  clients.pop_back();  // closes (the server notices the EOF)
  bool served = false;
  for (int attempt = 0; attempt < 20 && !served; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    try {
      Client again;
      again.Connect(cert_, server_->port());
      served = again.Send(http::verb::get, "/v1/healthz").result_int() == 200;
    } catch (const std::exception&) {
    }
  }
  EXPECT_TRUE(served);
}

TEST(X509Test, SelfSignedPairIsWrittenWithAPrivateKeyFile) {
  auto pair = crypto::GenerateSelfSigned();
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_EQ(pair->cert_pem.rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
  const std::string key(reinterpret_cast<const char*>(pair->key_pem.data()), pair->key_pem.size());
  EXPECT_EQ(key.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  const auto dir = std::filesystem::temp_directory_path() / StrCat("cloison_x509_", static_cast<int64_t>(::getpid()));
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(crypto::WriteCertificateFiles(*pair, (dir / "cert.pem").string(), (dir / "key.pem").string()).ok());
  struct stat st{};
  ASSERT_EQ(::stat((dir / "key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::filesystem::remove_all(dir);
}

// The people endpoints over HTTPS (people_routes.cc): search, create, PATCH,
// caseload, and a refused wildcard query, on one kept-alive TLS connection.
TEST_F(ServerTest, PeopleSearchCreateUpdateCaseloadOverTls) {
  Client c;
  ASSERT_NO_THROW(c.Connect(cert_, server_->port()));
  auto res = c.Send(http::verb::post, "/v1/sessions",
                    nlohmann::json{{"username", "counsellor"}, {"password", kPassword}}.dump());
  ASSERT_EQ(res.result_int(), 201) << res.body();
  const std::string token = nlohmann::json::parse(res.body())["token"];
  res = c.Send(http::verb::get, "/v1/people/search?q=mart&purpose=accompaniment", "", token);
  ASSERT_EQ(res.result_int(), 200) << res.body();
  auto j = nlohmann::json::parse(res.body());
  EXPECT_EQ(j["total"], 4);  // 201 (another mission locale) is not in scope
  EXPECT_EQ(j["query"], "nom:mart");
  res = c.Send(http::verb::get, "/v1/people/search?q=%2A%2A&purpose=accompaniment", "", token);
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_NE(res.body().find("\"invalid_parameter\""), std::string::npos) << res.body();
  const nlohmann::json person = {{"nom", "Nouvel"}, {"prenom", "Inès"}, {"sexe", "F"},
                                 {"date_naissance", "2004-05-01"}, {"ft_id", "30000000001"},
                                 {"date_inscription", "2025-10-09"}, {"statut", "inscrit"}};
  res = c.Send(http::verb::post, "/v1/people", person.dump(), token);
  ASSERT_EQ(res.result_int(), 201) << res.body();
  const int64_t id = nlohmann::json::parse(res.body())["id"];
  res = c.Send(http::verb::patch, StrCat("/v1/people/", id), nlohmann::json{{"commune", "Illkirch"}}.dump(), token);
  ASSERT_EQ(res.result_int(), 200) << res.body();
  res = c.Send(http::verb::get, "/v1/people/caseload", "", token);
  ASSERT_EQ(res.result_int(), 200) << res.body();
  j = nlohmann::json::parse(res.body());
  ASSERT_EQ(j["people"].size(), 1u);
  EXPECT_EQ(j["people"][0]["id"], id);
  EXPECT_EQ(j["people"][0]["prenom"], "Inès");
  EXPECT_TRUE(res.keep_alive());
}

}  // namespace
}  // namespace cloison::api
