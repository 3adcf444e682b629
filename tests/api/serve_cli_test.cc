// `cloison serve` as a process: plain HTTP on loopback (the TLS path is
// covered by server_test.cc), login + read through curl-free raw sockets,
// SIGTERM, exit 0, and the audit log verifies afterwards with its entries.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace cloison::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

http::response<http::string_body> Send(uint16_t port, http::verb verb, const std::string& target,
                                       const std::string& body = "", const std::string& token = "") {
  asio::io_context ioc;
  beast::tcp_stream s(ioc);
  s.expires_after(std::chrono::seconds(5));
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req(verb, target, 11);
  req.set(http::field::host, "127.0.0.1");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  http::write(s, req);
  beast::flat_buffer b;
  http::response<http::string_body> res;
  http::read(s, b, res);
  return res;
}

TEST(ServeCliTest, ServesThenStopsOnSigtermWithTheAuditLogIntact) {
  const std::string bin = CLOISON_BINARY;
  const auto dir = std::filesystem::temp_directory_path() / StrCat("cloison_serve_cli_", static_cast<int64_t>(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string data = (dir / "data").string();
  Shell(StrCat(bin, " --data ", data, " init 2>&1"));
  Shell(StrCat(bin, " --data ", data, " generate --persons 300 --seed 3 --no-files 2>&1"));
  // The bootstrap account is a counsellor of an agency (a real one from the network).
  const std::string codes = Shell(StrCat("sqlite3 ", data, "/cloison.db \"select s.code||'|'||min(p.id) from persons p join structures s "
                                       "on s.id=p.referent_structure_id where s.kind='agency' group by s.id limit 1\""));
  const size_t bar = codes.find('|');
  ASSERT_NE(bar, std::string::npos) << codes;
  const std::string code = codes.substr(0, bar);
  const std::string person = codes.substr(bar + 1, codes.find_first_of("\r\n") - bar - 1);
  const std::string boot = Shell(StrCat(bin, " --data ", data, " account bootstrap --username counsellor1 --structure ", code,
                                      " --role counsellor 2>&1"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(boot, m, std::regex("initial password \\(shown once\\):\\s+(\\S+)"))) << boot;
  const std::string password = m[1];

  // Port: ask the kernel for a free one, then hand it to the server.
  uint16_t port;
  {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  const std::string log = (dir / "serve.log").string();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const std::string listen = StrCat("127.0.0.1:", port);
    ::execl(bin.c_str(), bin.c_str(), "--data", data.c_str(), "serve", "--insecure-http", "--listen", listen.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    try {
      up = Send(port, http::verb::get, "/v1/healthz").result_int() == 200;
    } catch (const std::exception&) {
    }
  }
  ASSERT_TRUE(up) << Shell(StrCat("cat ", log));
  auto res = Send(port, http::verb::post, "/v1/sessions", nlohmann::json{{"username", "counsellor1"}, {"password", password}}.dump());
  ASSERT_EQ(res.result_int(), 201) << res.body();
  // The bootstrap password was printed to whoever ran the command: the
  // first session can only change it.
  EXPECT_TRUE(nlohmann::json::parse(res.body())["password_change_required"].get<bool>()) << res.body();
  std::string token = nlohmann::json::parse(res.body())["token"];
  const std::string read_target = StrCat("/v1/people/", person, "?purpose=accompaniment");
  res = Send(port, http::verb::get, read_target, "", token);
  EXPECT_EQ(res.result_int(), 403) << res.body();
  EXPECT_NE(res.body().find("password_change_required"), std::string::npos) << res.body();
  const std::string chosen = "Une-phrase-choisie-2026";
  res = Send(port, http::verb::post, "/v1/sessions/password",
             nlohmann::json{{"username", "counsellor1"}, {"password", password}, {"new_password", chosen}}.dump());
  ASSERT_EQ(res.result_int(), 200) << res.body();
  res = Send(port, http::verb::post, "/v1/sessions", nlohmann::json{{"username", "counsellor1"}, {"password", chosen}}.dump());
  ASSERT_EQ(res.result_int(), 201) << res.body();
  EXPECT_FALSE(nlohmann::json::parse(res.body())["password_change_required"].get<bool>()) << res.body();
  token = nlohmann::json::parse(res.body())["token"];
  res = Send(port, http::verb::get, read_target, "", token);
  EXPECT_EQ(res.result_int(), 200) << res.body();
  res = Send(port, http::verb::get, "/v1/people/1?purpose=%27%20OR%201%3D1%20--", "", token);
  EXPECT_EQ(res.result_int(), 400) << res.body();

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << Shell(StrCat("cat ", log));
  EXPECT_EQ(WEXITSTATUS(status), 0) << Shell(StrCat("cat ", log));
  // The log verifies and holds the login and the read.
  const std::string verify = Shell(StrCat(bin, " --data ", data, " audit verify 2>&1; echo rc=$?"));
  EXPECT_NE(verify.find("rc=0"), std::string::npos) << verify;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cloison::api
