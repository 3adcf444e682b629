// `cloison demo` as a running service: the binary in a child process, a
// small network, port 0. Reads demo-accounts.json (contract keys, mode 0600),
// logs in over HTTPS (verifying the demo certificate) with the password and a
// TOTP code computed from the otpauth URI's secret, reads the suggested person
// for the suggested purpose, uses the technical account's API key, and stops
// on SIGTERM with exit 0. A second run reuses the accounts; without the file
// the credentials are reset and the file rewritten. The guard's baselines are
// seeded once (30 days of simulated history into DATA/guard/state).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <utility>
#include <string>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "core/clock.h"
#include "crypto/secret.h"
#include "crypto/totp.h"

namespace cloison::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `cloison --data DIR demo ARGS...` with stdout+stderr on a pipe.
class DemoProcess {
 public:
  DemoProcess(const std::string& data, std::vector<std::string> args) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<std::string> argv = {CLOISON_BINARY, "--data", data, "demo"};
      argv.insert(argv.end(), args.begin(), args.end());
      std::vector<char*> raw;
      for (auto& a : argv) raw.push_back(a.data());
      raw.push_back(nullptr);
      ::execv(raw[0], raw.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ~DemoProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }

  // Reads output until `re` matches (returns the match) or the process ends
  // or 120 s pass (returns nullopt).
  std::optional<std::smatch> WaitFor(const std::regex& re) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch m;
      if (std::regex_search(output_, m, re)) {
        matched_ = output_;  // keep the string the match refers to alive
        std::smatch again;
        std::regex_search(matched_, again, re);
        return again;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 200) < 0) return std::nullopt;
      if (p.revents & (POLLIN | POLLHUP)) {
        char buf[4096];
        const ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n <= 0) return std::nullopt;
        output_.append(buf, static_cast<size_t>(n));
      }
    }
    return std::nullopt;
  }
  // Sends `sig` (0: none) and returns the exit code (-1 if killed by a signal).
  int Stop(int sig) {
    if (sig) ::kill(pid_, sig);
    // Drain the pipe so that the child never blocks on a full one.
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd_, buf, sizeof buf)) > 0) output_.append(buf, static_cast<size_t>(n));
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool reaped_ = false;
  std::string output_, matched_;
};

// One HTTPS request to 127.0.0.1:port, verifying the server against `ca`.
http::response<http::string_body> Https(const std::string& ca, uint16_t port, http::verb verb,
                                        const std::string& target, const std::string& body = "",
                                        const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  ctx.add_certificate_authority(asio::buffer(ca));
  ctx.set_verify_mode(ssl::verify_peer);
  ctx.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(stream).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  stream.handshake(ssl::stream_base::client);
  http::request<http::string_body> req(verb, target, 11);
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer b;
  http::response<http::string_body> res;
  http::read(stream, b, res);
  return res;
}

// The current TOTP code for the secret of an otpauth:// URI.
std::string TotpFromUri(const std::string& uri) {
  std::smatch m;
  if (!std::regex_search(uri, m, std::regex("[?&]secret=([A-Z2-7]+)"))) return "";
  auto secret = crypto::TotpSecretFromBase32(crypto::SecretBytes::FromString(m[1].str()));
  if (!secret.ok()) return "";
  auto code = crypto::TotpGenerate(*secret, SystemClock::Instance().NowSeconds());
  return code.ok() ? *code : "";
}

void CheckContract(const json& j) {
  ASSERT_TRUE(j.contains("accounts") && j["accounts"].is_array()) << j.dump(2);
  ASSERT_GE(j["accounts"].size(), 7u);
  std::set<std::string> roles, kinds;
  for (const json& a : j["accounts"]) {
    for (const char* k : {"username", "password", "totp_uri"}) ASSERT_TRUE(a.contains(k) && a[k].is_string()) << k;
    ASSERT_TRUE(a.contains("structure") && a["structure"].is_object());
    for (const char* k : {"id", "code", "name", "kind"}) EXPECT_TRUE(a["structure"].contains(k)) << k;
    ASSERT_TRUE(a.contains("roles") && a["roles"].is_array() && !a["roles"].empty());
    for (const json& r : a["roles"]) roles.insert(r.get<std::string>());
    kinds.insert(a["structure"]["kind"].get<std::string>());
    const std::string user = a["username"];
    EXPECT_TRUE(std::regex_search(a["totp_uri"].get<std::string>(),
                                  std::regex("^otpauth://totp/Cloison:" + std::regex_replace(user, std::regex("\\."), "\\.") +
                                             "\\?secret=[A-Z2-7]+&issuer=Cloison")))
        << a["totp_uri"];
  }
  for (const char* r : {"counsellor", "partner_user", "access_manager", "security_officer", "dpo", "auditor"})
    EXPECT_TRUE(roles.count(r)) << r;
  for (const char* k : {"agency", "mission_locale", "training_organisation", "regional_direction"})
    EXPECT_TRUE(kinds.count(k)) << k;
  ASSERT_TRUE(j.contains("technical") && j["technical"].is_object());
  for (const char* k : {"username", "api_key"}) ASSERT_TRUE(j["technical"].contains(k) && j["technical"][k].is_string()) << k;
  EXPECT_EQ(j["technical"]["api_key"].get<std::string>().rfind("clk_", 0), 0u);
}

int Mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 0777);
}

TEST(DemoServiceTest, ServesWithWorkingDemoAccountsThenReusesThem) {
  TempDir dir("demo-service");
  const std::string data = dir / "data";
  const std::string file = data + "/demo-accounts.json";
  json first;
  {
    DemoProcess demo(data, {"--persons", "3000", "--seed", "1", "--listen", "127.0.0.1:0"});
    auto m = demo.WaitFor(std::regex("cloison: serving https://127\\.0\\.0\\.1:(\\d+) "));
    ASSERT_TRUE(m) << demo.output();
    const uint16_t port = static_cast<uint16_t>(std::stoi((*m)[1].str()));
    ASSERT_TRUE(demo.WaitFor(std::regex("Serving until Ctrl-C"))) << demo.output();
    // The guard's baselines: 30 days of simulated history, seeded once into
    // its state (never into the audit log), then loaded by the server.
    EXPECT_TRUE(std::regex_search(demo.output(),
                                  std::regex("guard: seeded 30 days of simulated history for \\d+ accounts \\(baselines\\)")))
        << demo.output();
    EXPECT_NE(demo.output().find("guard: loaded " + data + "/guard/state"), std::string::npos) << demo.output();
    EXPECT_EQ(Mode(data + "/guard/state"), 0600);
    // The guide names the file, oathtool and the endpoints.
    for (const char* s : {"oathtool --totp -b", "/v1/sessions", "/reveal", "X-Api-Key", "DELETE"})
      EXPECT_NE(demo.output().find(s), std::string::npos) << s << "\n" << demo.output();

    EXPECT_EQ(Mode(file), 0600);
    first = json::parse(Slurp(file), nullptr, false);
    ASSERT_NO_FATAL_FAILURE(CheckContract(first));
    const std::string ca = Slurp(data + "/tls/cert.pem");
    ASSERT_FALSE(ca.empty());

    // A counsellor: password + TOTP from the otpauth URI.
    const json& c = first["accounts"][0];
    ASSERT_EQ(c["roles"][0], "counsellor");
    ASSERT_TRUE(c["read"].is_object()) << c.dump(2);
    const std::string code = TotpFromUri(c["totp_uri"]);
    ASSERT_EQ(code.size(), 6u);
    auto res = Https(ca, port, http::verb::post, "/v1/sessions",
                     json{{"username", c["username"]}, {"password", c["password"]}, {"totp", code}}.dump());
    ASSERT_EQ(res.result_int(), 201) << res.body();
    const json login = json::parse(res.body());
    EXPECT_FALSE(login["password_change_required"].get<bool>());
    const std::string token = login["token"];
    const std::string auth = "Bearer " + token;

    const int64_t person = c["read"]["person_id"];
    const std::string purpose = c["read"]["purpose"];
    res = Https(ca, port, http::verb::get, "/v1/people/" + std::to_string(person) + "?purpose=" + purpose, "",
                {{"Authorization", auth}});
    ASSERT_EQ(res.result_int(), 200) << res.body();
    json read = json::parse(res.body());
    EXPECT_EQ(read["id"], person);
    for (const char* f : {"nom", "prenom"}) EXPECT_TRUE(read["fields"].contains(f)) << f << " " << res.body();
    EXPECT_FALSE(read["fields"].contains("nir")) << "the NIR is reveal-only";
    // The password alone is not enough.
    res = Https(ca, port, http::verb::post, "/v1/sessions",
                json{{"username", c["username"]}, {"password", c["password"]}}.dump());
    EXPECT_EQ(res.result_int(), 401) << res.body();
    res = Https(ca, port, http::verb::delete_, "/v1/sessions/current", "", {{"Authorization", auth}});
    EXPECT_EQ(res.result_int(), 204) << res.body();

    // The technical account, by API key, for its suggested person and purpose.
    const json& t = first["technical"];
    ASSERT_TRUE(t["read"].is_object()) << t.dump(2);
    res = Https(ca, port, http::verb::get,
                "/v1/people/" + std::to_string(t["read"]["person_id"].get<int64_t>()) + "?purpose=" +
                    t["read"]["purpose"].get<std::string>(),
                "", {{"X-Api-Key", t["api_key"]}});
    EXPECT_EQ(res.result_int(), 200) << res.body();
    res = Https(ca, port, http::verb::get, "/v1/people/1?purpose=enrolment_sync", "", {{"X-Api-Key", "clk_wrong"}});
    EXPECT_EQ(res.result_int(), 401) << res.body();

    EXPECT_EQ(demo.Stop(SIGTERM), 0) << demo.output();
    EXPECT_NE(demo.output().find("guard state saved"), std::string::npos) << demo.output();
  }

  // Second run: same data directory, the file is reused as it is.
  {
    DemoProcess demo(data, {"--no-serve"});
    EXPECT_EQ(demo.Stop(0), 0) << demo.output();
    EXPECT_NE(demo.output().find("Reusing the store"), std::string::npos) << demo.output();
    EXPECT_NE(demo.output().find("reused;"), std::string::npos) << demo.output();
    EXPECT_EQ(demo.output().find("guard: seeded"), std::string::npos) << "the state exists: no second seeding";
    EXPECT_EQ(Mode(file), 0600);
    const json again = json::parse(Slurp(file), nullptr, false);
    ASSERT_NO_FATAL_FAILURE(CheckContract(again));
    EXPECT_EQ(again, first);
  }

  // Without the file, the same accounts get fresh credentials and the file is
  // rewritten; the new password works (through the CLI, which logs in too).
  {
    std::filesystem::remove(file);
    std::filesystem::remove(data + "/guard/state");
    DemoProcess demo(data, {"--no-serve"});
    EXPECT_EQ(demo.Stop(0), 0) << demo.output();
    // --no-serve seeds too, and writes the state file.
    EXPECT_NE(demo.output().find("guard: seeded 30 days"), std::string::npos) << demo.output();
    EXPECT_EQ(Mode(data + "/guard/state"), 0600);
    const json reset = json::parse(Slurp(file), nullptr, false);
    ASSERT_NO_FATAL_FAILURE(CheckContract(reset));
    EXPECT_EQ(Mode(file), 0600);
    ASSERT_EQ(reset["accounts"].size(), first["accounts"].size());
    for (size_t i = 0; i < reset["accounts"].size(); ++i) {
      EXPECT_EQ(reset["accounts"][i]["username"], first["accounts"][i]["username"]);
      EXPECT_NE(reset["accounts"][i]["password"], first["accounts"][i]["password"]);
    }
    EXPECT_EQ(reset["technical"]["username"], first["technical"]["username"]);
    EXPECT_NE(reset["technical"]["api_key"], first["technical"]["api_key"]);
    // The security officer (TOTP required) logs in with the new credentials.
    const json* so = nullptr;
    for (const json& a : reset["accounts"])
      if (a["roles"][0] == "security_officer" && !so) so = &a;
    ASSERT_NE(so, nullptr);
    const std::string pw = dir / "pw";
    {
      std::ofstream(pw) << (*so)["password"].get<std::string>() << "\n";
    }
    auto r = RunCloison("--data " + data + " account show --as " + (*so)["username"].get<std::string>() +
                        " --password-file " + pw + " --totp " + TotpFromUri((*so)["totp_uri"]) + " " +
                        (*so)["username"].get<std::string>());
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("second factor    TOTP"), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace cloison::testing
