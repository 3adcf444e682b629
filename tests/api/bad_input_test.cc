// A bad-input corpus against the real TLS server (127.0.0.1, port 0, small
// timeouts): malformed JSON, wrong types, unknown members, non-object
// bodies, oversized bodies / headers / URLs, invalid UTF-8, NUL bytes,
// injection strings (SQL, path traversal, markup, very long values) in every
// parameter of every endpoint, path traversal in the URL, a slow client.
// Every answer must be a 4xx with the JSON error shape and a message, never
// a 5xx, never an echo of the hostile text; afterwards the server still
// answers /v1/healthz and a legitimate read.
#include <atomic>
#include <chrono>
#include <thread>
#include <utility>  // before Boost.Asio (std::exchange)

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
using nlohmann::json;

// Hostile strings, for every parameter.
std::vector<std::string> Hostile() {
  return {"' OR 1=1 --",
          "\"; DROP TABLE persons; --",
          "../../etc/passwd",
          "%2e%2e%2f",
          "<script>alert(1)</script>",
          std::string("a\0b", 3),
          std::string(3000, 'A'),
          "\xff\xfe\xfd",
          "\xc0\xaf",  // overlong '/'
          "${jndi:ldap://x}",
          "\r\nX-Injected: 1"};
}
// Numbers that are not what an id / count parameter takes.
std::vector<std::string> BadNumbers() { return {"-1", "0", "1e9", "0x10", "1;2", "99999999999999999999", "", " 1"}; }

std::string UrlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// A JSON string literal with the bytes of `s` as they are (invalid UTF-8
// stays invalid: that is the point), quotes, backslashes and controls escaped.
std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

// `base` (a JSON object) with member `key` set to the raw JSON text `value`.
std::string WithMember(const json& base, const std::string& key, const std::string& value_json) {
  json b = base;
  b.erase(key);
  std::string s = b.dump();
  s.pop_back();  // '}'
  if (s.size() > 1) s += ",";
  return s + JsonString(key) + ":" + value_json + "}";
}

struct Reply {
  int status = 0;
  std::string content_type;
  std::string body;
  bool closed = false;  // no answer: the server closed the connection
};

class BadInputTest : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    am_ = AddPrivileged("am.ml67", 3, {Role::kAccessManager});
    AddPrivileged("so.national", 1, {Role::kSecurityOfficer});
    counsellor_token_ = Login("counsellor");
    am_token_ = LoginMfa("am.ml67");
    so_token_ = LoginMfa("so.national");
    auto pair = crypto::GenerateSelfSigned();
    ASSERT_TRUE(pair.ok()) << pair.status();
    cert_ = pair->cert_pem;
    ServerOptions o;
    o.port = 0;
    o.cert_pem = pair->cert_pem;
    o.key_pem = pair->key_pem;
    o.threads = 2;
    o.read_timeout = std::chrono::milliseconds(300);
    o.idle_timeout = std::chrono::milliseconds(2000);
    o.max_connections_per_address = 1000;
    auto s = Server::Create(*handler_, std::move(o));
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    server_->Start();
  }
  void TearDown() override {
    stream_.reset();
    if (server_) server_->Stop();
    server_.reset();
    ApiFixture::TearDown();
  }

  void Connect() {
    tls_.add_certificate_authority(asio::buffer(cert_));
    tls_.set_verify_mode(ssl::verify_peer);
    stream_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc_, tls_);
    beast::get_lowest_layer(*stream_).expires_after(std::chrono::seconds(5));
    beast::get_lowest_layer(*stream_).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    stream_->handshake(ssl::stream_base::client);
    buffer_.clear();
  }

  // Sends `raw` bytes (a whole request) and reads one answer. Reconnects
  // when the previous answer closed the connection.
  Reply SendRaw(const std::string& raw) {
    Reply out;
    if (!stream_) Connect();
    beast::error_code ec;
    beast::get_lowest_layer(*stream_).expires_after(std::chrono::seconds(5));
    asio::write(*stream_, asio::buffer(raw), ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    if (!ec) http::read(*stream_, buffer_, parser, ec);
    if (ec) {
      out.closed = true;
      stream_.reset();
      return out;
    }
    const auto& res = parser.get();
    out.status = res.result_int();
    out.content_type = std::string(res[http::field::content_type]);
    out.body = res.body();
    if (!res.keep_alive()) stream_.reset();
    return out;
  }

  Reply Send(const std::string& method, const std::string& target, const std::string& token = "",
             const std::string* body = nullptr, const std::string& content_type = "application/json") {
    std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!token.empty()) raw += "Authorization: Bearer " + token + "\r\n";
    if (body != nullptr) {
      if (!content_type.empty()) raw += "Content-Type: " + content_type + "\r\n";
      raw += StrCat("Content-Length: ", body->size(), "\r\n");
    }
    raw += "\r\n";
    if (body != nullptr) raw += *body;
    return SendRaw(raw);
  }
  Reply Get(const std::string& target, const std::string& token) { return Send("GET", target, token); }
  Reply Post(const std::string& target, const std::string& body, const std::string& token) {
    return Send("POST", target, token, &body);
  }

  // The corpus' one rule: a 4xx JSON error with a code and a message that
  // does not echo hostile text.
  void Expect4xx(const Reply& r, const std::string& what) {
    SCOPED_TRACE(what.substr(0, 200));
    ++checked_;
    ASSERT_FALSE(r.closed) << "no answer";
    EXPECT_GE(r.status, 400) << r.body;
    EXPECT_LT(r.status, 500) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    json j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    ASSERT_TRUE(j.contains("error")) << r.body;
    EXPECT_TRUE(j["error"]["code"].is_string()) << r.body;
    ASSERT_TRUE(j["error"]["message"].is_string()) << r.body;
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
    for (const char* echo : {"<script>", "DROP TABLE", "etc/passwd", "1=1", "jndi", "X-Injected", "AAAAAAAAAAAAAAAA",
                             "sqlite", "SELECT", "iam_accounts"})
      EXPECT_EQ(r.body.find(echo), std::string::npos) << "echoed '" << echo << "': " << r.body;
  }

  std::string cert_;
  std::unique_ptr<Server> server_;
  asio::io_context ioc_;
  ssl::context tls_{ssl::context::tls_client};
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_;
  std::string counsellor_token_, am_token_, so_token_;
  AccountId am_;
  int checked_ = 0;
  std::atomic<int> other_status_{0};
};

TEST_F(BadInputTest, CorpusAnswers4xxJsonAndTheServerGoesOn) {
  const std::string reveal_ok = json{{"field", "nir"}, {"justification", "Dossier CARSAT: vérification d'identité"}}.dump();
  const std::string reason = json{{"reason", "a reason"}}.dump();

  // 1. Path parameters (ids) of every endpoint that takes one.
  struct PathRoute {
    std::string method, before, after;
    const std::string* token;
    std::string body;  // valid apart from the id ("" = none)
  };
  const std::vector<PathRoute> path_routes = {
      {"GET", "/v1/people/", "?purpose=accompaniment", &counsellor_token_, ""},
      {"POST", "/v1/people/", "/reveal", &counsellor_token_, reveal_ok},
      {"GET", "/v1/accounts/", "", &am_token_, ""},
      {"POST", "/v1/accounts/", "/suspend", &am_token_, reason},
      {"POST", "/v1/accounts/", "/reinstate", &am_token_, reason},
      {"GET", "/v1/change-requests/", "", &so_token_, ""},
      {"POST", "/v1/change-requests/", "/approve", &so_token_, "{}"},
      {"POST", "/v1/change-requests/", "/reject", &so_token_, reason},
  };
  std::vector<std::string> ids = Hostile();
  for (const auto& n : BadNumbers())
    if (!n.empty()) ids.push_back(n);
  for (const PathRoute& pr : path_routes)
    for (const std::string& v : ids) {
      const std::string target = pr.before + UrlEncode(v) + pr.after;
      Expect4xx(pr.body.empty() ? Send(pr.method, target, *pr.token) : Send(pr.method, target, *pr.token, &pr.body),
                pr.method + " " + target);
    }

  // 2. Query parameters.
  struct QueryRoute {
    std::string prefix;  // up to and including "name="
    const std::string* token;
  };
  const std::vector<QueryRoute> query_routes = {
      {"/v1/people/101?purpose=", &counsellor_token_},
      {"/v1/audit/proofs/inclusion?index=", &so_token_},
      {"/v1/audit/proofs/inclusion?index=0&size=", &so_token_},
      {"/v1/audit/proofs/consistency?from=", &so_token_},
      {"/v1/audit/proofs/consistency?from=1&to=", &so_token_},
      {"/v1/audit/checkpoint?size=", &so_token_},
      {"/v1/sessions?x=", &counsellor_token_},
      {"/v1/accounts?status=", &am_token_},
      {"/v1/accounts?kind=", &am_token_},
      {"/v1/accounts?created_by=", &am_token_},
      {"/v1/change-requests?status=", &am_token_},
      {"/v1/exposure?top=", &so_token_},
      {"/v1/exposure?account=", &so_token_},
      {"/v1/exposure?date=", &so_token_},
      {"/v1/alerts?since=", &so_token_},
      {"/v1/alerts?account=", &so_token_},
      {"/v1/alerts?page=", &so_token_},
      {"/v1/alerts?page_size=", &so_token_},
  };
  std::vector<std::string> values = Hostile();
  for (const auto& n : BadNumbers())
    if (n != "0") values.push_back(n);  // 0 is a valid top / index
  for (const QueryRoute& q : query_routes)
    for (const std::string& v : values) Expect4xx(Get(q.prefix + UrlEncode(v), *q.token), q.prefix + v);
  // Hostile parameter *names*.
  for (const std::string& v : Hostile()) {
    Expect4xx(Get("/v1/accounts?" + UrlEncode(v) + "=1", am_token_), "name " + v);
    Expect4xx(Get("/v1/exposure?" + UrlEncode(v) + "=1", so_token_), "name " + v);
    Expect4xx(Get("/v1/alerts?" + UrlEncode(v) + "=1", so_token_), "name " + v);
  }

  // 3. Body members: hostile strings, wrong types, unknown members,
  // non-object and malformed bodies, for every JSON endpoint.
  struct BodyRoute {
    std::string target;
    const std::string* token;
    json base;                          // a body valid but for the member under test
    std::vector<std::string> members;   // members that must refuse hostile strings
    std::vector<std::string> typed;     // members that must refuse a wrong type
  };
  const std::vector<BodyRoute> body_routes = {
      {"/v1/sessions", nullptr, json{{"username", "nobody.here"}, {"password", "x"}}, {"username", "password", "totp"},
       {"username", "password", "totp"}},
      {"/v1/people/101/reveal", &counsellor_token_,
       json{{"field", "nir"}, {"justification", "Dossier CARSAT: vérification"}}, {"field", "purpose"},
       {"field", "justification", "purpose"}},
      {"/v1/accounts", &am_token_, json{{"username", "new.one"}, {"structure", "ML-67-003"}, {"reason", "new hire"}},
       {"username", "structure", "kind"}, {"username", "structure", "reason", "display_name", "roles", "kind"}},
      {"/v1/accounts", &am_token_,
       json{{"kind", "technical"}, {"username", "tech.two"}, {"structure", "ML-67-003"}, {"purpose", "ouiform-sync"},
            {"scopes", {"orientations:write"}}, {"networks", {"10.1.0.0/16"}}, {"reason", "sync"}},
       {"purpose", "username"}, {"purpose", "scopes", "networks", "expires_in_days", "daily_quota"}},
      {"/v1/accounts/999999/suspend", &am_token_, json{{"reason", "r"}}, {}, {"reason"}},
      {"/v1/accounts/999999/reinstate", &am_token_, json{{"reason", "r"}}, {}, {"reason", "expires_in_days"}},
      {"/v1/change-requests", &am_token_,
       json{{"kind", "grant_role"}, {"account", counsellor_.value()}, {"role", "partner_user"}, {"reason", "r"}},
       {"kind", "role"}, {"kind", "account", "role", "reason"}},
      {"/v1/change-requests", &am_token_,
       json{{"kind", "bulk_export"}, {"structure", "ML-67-003"}, {"subject", "s"}, {"reason", "r"}}, {"structure"},
       {"structure", "subject"}},
      {"/v1/change-requests/999999/approve", &so_token_, json::object(), {}, {"note"}},
      {"/v1/change-requests/999999/reject", &so_token_, json{{"reason", "r"}}, {}, {"reason"}},
      // The counsellor has no TOTP: no code is ever checked (nor counted).
      {"/v1/sessions/step-up", &counsellor_token_, json{{"totp", "123456"}}, {"totp"}, {"totp"}},
  };
  const std::vector<std::string> wrong_types = {"5", "true", "null", "[1]", "{\"a\":1}", "1.5", "-7"};
  for (const BodyRoute& br : body_routes) {
    const std::string token = br.token ? *br.token : "";
    for (const std::string& m : br.members)
      for (const std::string& v : Hostile()) {
        const std::string body = WithMember(br.base, m, JsonString(v));
        Expect4xx(Post(br.target, body, token), br.target + " " + m + "=" + v);
      }
    for (const std::string& m : br.typed)
      for (const std::string& t : wrong_types) {
        // null is "absent": fine for optional members, whose base is valid
        // only where the route then fails for another reason; skip it.
        if (t == "null") continue;
        // A string member given a number, an array member given a string...
        std::string wrong = t;
        if (br.base.contains(m) && !br.base[m].is_string() && t == "5" && br.base[m].is_number_integer()) continue;
        if ((m == "expires_in_days" || m == "daily_quota" || m == "account") && (t == "5" || t == "-7")) continue;
        const std::string body = WithMember(br.base, m, wrong);
        Reply r = Post(br.target, body, token);
        Expect4xx(r, br.target + " " + m + "=" + t);
        if (r.status == 400 && br.target != "/v1/sessions") {
          const std::string msg = json::parse(r.body, nullptr, false)["error"]["message"];
          EXPECT_NE(msg.find("'" + m + "'"), std::string::npos) << br.target << " " << m << "=" << t << ": " << msg;
        }
      }
    for (const std::string& junk :
         {std::string("[]"), std::string("null"), std::string("42"), std::string("\"s\""), std::string("{"),
          std::string("{}}"), std::string("{\"a\":1,}"), std::string("{'a':1}"), std::string("{\"a\":\"\\ud800\"}"),
          std::string("\xef\xbb\xbf{}"), std::string(20000, '[') + std::string(20000, ']'),
          std::string("{\"__proto__\":{\"admin\":true}}"), std::string("{\"unknown_member\":1}"),
          std::string("{\"a\":\"\xff\"}")}) {
      Expect4xx(Post(br.target, junk, token), br.target + " body " + junk.substr(0, 40));
    }
    // Not JSON at all.
    const std::string form = "username=a&password=b";
    Expect4xx(Send("POST", br.target, token, &form, "application/x-www-form-urlencoded"), br.target + " form");
    Expect4xx(Send("POST", br.target, token, &form, ""), br.target + " no content type");
    // Oversized body (the server's limit, 64 KiB): 413 as soon as the
    // headers announce it (the body is not sent: the server closes without
    // reading it, and a client still writing would see a reset instead).
    std::string big = "POST " + br.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
    if (!token.empty()) big += "Authorization: Bearer " + token + "\r\n";
    big += StrCat("Content-Length: ", 70 * 1024, "\r\n\r\n");
    Reply r = SendRaw(big);
    Expect4xx(r, br.target + " 70 KiB");
    EXPECT_EQ(r.status, 413);
  }

  // 4. The URL itself: traversal, encodings, raw bytes, sizes.
  for (const std::string& target :
       {std::string("/../../etc/passwd"), std::string("/v1/../../etc/passwd"), std::string("/v1/%2e%2e/%2e%2e/etc/passwd"),
        std::string("/v1/people/..%2f..%2fetc%2fpasswd?purpose=accompaniment"), std::string("/v1/people/%00"),
        std::string("/v1/people/%ff?purpose=accompaniment"), std::string("/v1/people/101?purpose=%zz"),
        std::string("/v1/people/101?purpose=a&purpose=b"), std::string("//v1/healthz/"), std::string("/v1/healthz/.."),
        std::string("/v1/accounts/1/../2"), std::string("/v1/people/101?purpose=accompaniment%00"),
        std::string("/v1/people/\xff\xfe?purpose=accompaniment"), std::string("/v1/people/1 01"),
        std::string("*"), std::string("http://evil.example/v1/healthz"),
        std::string("/v1/people/101?purpose=") + std::string(3000, 'a'),   // 414 (URL > 2 KiB)
        std::string("/v1/people/101?purpose=") + std::string(9000, 'a')}) {  // 431 (line > 8 KiB)
    Expect4xx(Get(target, counsellor_token_), "URL " + target.substr(0, 60));
  }
  // Raw NUL and control bytes in the request line; garbage; headers too big.
  for (const std::string& raw :
       {std::string("GET /v1/healthz\0 HTTP/1.1\r\nHost: x\r\n\r\n", 38), std::string("GET /v1/\x01 HTTP/1.1\r\n\r\n"),
        std::string("\x16\x03\x01 NOT HTTP\r\n\r\n"), std::string("GET /v1/healthz HTTP/9.9\r\nHost: x\r\n\r\n"),
        "GET /v1/sessions HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(10000, 'a') + "\r\n\r\n",
        std::string("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"),
        std::string("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n"),
        std::string("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
        std::string("GET /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ' OR 1=1 --\r\n\r\n"),
        std::string("GET /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") + std::string(4000, 'A') +
            "\r\n\r\n",
        std::string("GET /v1/sessions HTTP/1.1\r\nHost: x\r\nX-Api-Key: \"; DROP TABLE persons; --\r\n\r\n")}) {
    Expect4xx(SendRaw(raw), "raw " + raw.substr(0, 40));
  }

  // Free text (reasons, notes) may hold anything printable: stored and given
  // back verbatim, never interpreted.
  Reply filed = Post("/v1/change-requests",
                     json{{"kind", "raise_quota"}, {"account", counsellor_.value()}, {"quota", 500},
                          {"reason", "\"; DROP TABLE persons; -- <script>"}}.dump(),
                     am_token_);
  ASSERT_EQ(filed.status, 202) << filed.body;
  const int64_t rid = json::parse(filed.body)["change_request"]["id"];
  Reply shown = Get(StrCat("/v1/change-requests/", rid), am_token_);
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_EQ(json::parse(shown.body)["reason"], "\"; DROP TABLE persons; -- <script>");

  // The server is still there and still right.
  Reply health = Get("/v1/healthz", "");
  EXPECT_EQ(health.status, 200) << health.body;
  Reply read = Get("/v1/people/101?purpose=accompaniment", counsellor_token_);
  EXPECT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(Get("/v1/accounts", am_token_).status, 200);
  EXPECT_GT(checked_, 700);
}

TEST_F(BadInputTest, SlowClientGets408AndOthersAreServed) {
  // A slow client (slowloris): it starts a request and stalls, far beyond the
  // 300 ms read timeout. The server answers 408 request_timeout (JSON) once
  // the timeout expires, then closes; it never serves the request. The
  // client writes nothing after its first bytes: a write into a connection
  // the server has closed would make the server's kernel reset it, and the
  // reset could discard the answer before the client reads it.
  Connect();
  const std::string start = "GET /v1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1";
  beast::error_code ec;
  asio::write(*stream_, asio::buffer(start), ec);
  ASSERT_FALSE(ec) << ec.message();
  // Meanwhile, another client is served at once on its own connection.
  std::thread other([this] {
    asio::io_context ioc;
    ssl::context tls{ssl::context::tls_client};
    tls.add_certificate_authority(asio::buffer(cert_));
    tls.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> s(ioc, tls);
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(5));
    beast::get_lowest_layer(s).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    s.handshake(ssl::stream_base::client);
    http::request<http::string_body> rq(http::verb::get, "/v1/healthz", 11);
    rq.set(http::field::host, "127.0.0.1");
    http::write(s, rq);
    beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(s, b, res);
    other_status_ = res.result_int();
  });
  other.join();
  EXPECT_EQ(other_status_, 200);
  http::response<http::string_body> res;
  beast::error_code rec;
  beast::get_lowest_layer(*stream_).expires_after(std::chrono::seconds(5));
  http::read(*stream_, buffer_, res, rec);
  ASSERT_FALSE(rec) << rec.message();
  EXPECT_EQ(res.result_int(), 408) << res.body();
  json j = json::parse(res.body(), nullptr, false);
  ASSERT_TRUE(j.is_object()) << res.body();
  EXPECT_EQ(j["error"]["code"], "request_timeout");
  EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
  EXPECT_FALSE(res.keep_alive());
  stream_.reset();
  // Afterwards, others are still served.
  Reply health = Get("/v1/healthz", "");
  EXPECT_EQ(health.status, 200) << health.body;
}

}  // namespace
}  // namespace cloison::api
