#include "api/server.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

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

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Called (on the session's strand) when the server stops: close if idle.
  virtual void OnStop() = 0;
};

struct Server::Impl {
  Handler& handler;
  ServerOptions options;
  // Declaration order matters: io_context destroys pending handlers (and so
  // sessions, which use the TLS context and Unregister) when it goes; these
  // must still exist then.
  std::mutex mu;  // guards the two below
  std::condition_variable cv;
  std::map<std::string, int> per_address;
  std::map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
  ssl::context tls_ctx{ssl::context::tls_server};
  // With one I/O thread, asio keeps handlers posted from that thread in a
  // private queue (no scheduler lock); posts from the audit syncer and the
  // workers still lock, as they must.
  asio::io_context ioc{std::max(1, options.threads)};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor{ioc};
  // After ioc: destroyed (joined) first; its tasks post back to ioc.
  std::optional<asio::thread_pool> pool;  // options.handler_threads > 0
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  bool started = false, stopped = false;
  int64_t deferred = 0;  // HandleAsync answers not written yet (mu)

  Impl(Handler& h, ServerOptions o) : handler(h), options(std::move(o)) {}

  void Accept();
  // People reads completed by the audit syncer come back to the one I/O
  // thread in batches: the syncer makes one asio post (one lock, at most one
  // wake-up) for all the reads its sync made durable, not one each. With
  // several I/O threads each read goes back to its session's strand instead.
  void PostToIoThread(std::function<void()> task) {
    bool post_drain;
    {
      std::lock_guard lock(mailbox_mu);
      mailbox.push_back(std::move(task));
      post_drain = !drain_posted;
      drain_posted = true;
    }
    if (post_drain) asio::post(ioc, [this] { DrainMailbox(); });
  }
  void DrainMailbox() {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard lock(mailbox_mu);
      tasks.swap(mailbox);
      drain_posted = false;
    }
    handler.RunReleased(tasks);
  }
  // One I/O thread: the people reads parsed in one event-loop round share
  // one look at the accounts (Handler::BeginAuthRound). The round ends with
  // a task posted when it opens, which asio runs after the handlers already
  // queued (those of the same epoll round), before waiting again.
  void JoinAuthRound() {
    if (options.threads > 1 || auth_round_open) return;
    auth_round_open = true;
    handler.BeginAuthRound();
    asio::post(ioc, [this] {
      auth_round_open = false;
      handler.EndAuthRound();
    });
  }
  bool auth_round_open = false;  // the I/O thread's only

  std::mutex mailbox_mu;  // guards the two below
  std::vector<std::function<void()>> mailbox;
  bool drain_posted = false;

  void DeferredStarted() {
    std::lock_guard lock(mu);
    ++deferred;
  }
  void DeferredDone() {
    std::lock_guard lock(mu);
    if (--deferred == 0) cv.notify_all();
  }
  bool Register(const std::string& addr, const std::shared_ptr<SessionBase>& s);
  void Unregister(const std::string& addr, SessionBase* s);
};

namespace {

Response ToResponse(int status, std::string_view c, std::string_view msg) { return ErrorResponse(status, c, msg); }

template <bool kTls>
class Session : public SessionBase, public std::enable_shared_from_this<Session<kTls>> {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  Session(Server::Impl& server, tcp::socket&& socket, std::string peer)
      : server_(server),
        stream_(MakeStream(server, std::move(socket))),
        read_timer_(stream_.get_executor()),
        peer_(std::move(peer)) {}
  ~Session() override { server_.Unregister(peer_, this); }

  void Run() {
    asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::OnRun, this->shared_from_this()));
  }

  void OnStop() override {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if (!self->busy_) beast::get_lowest_layer(self->stream_).cancel();
    });
  }

 private:
  static Stream MakeStream(Server::Impl& server, tcp::socket&& socket) {
    if constexpr (kTls) return Stream(std::move(socket), server.tls_ctx);
    else return Stream(std::move(socket));
  }

  void OnRun() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(server_.options.read_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              beast::bind_front_handler(&Session::OnHandshake, this->shared_from_this()));
    } else {
      DoRead();
    }
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) return;  // not TLS, bad client, timeout: drop
    DoRead();
  }

  void DoRead() {
    if (server_.stopping.load()) return DoClose();
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options.limits.max_header_bytes));
    parser_->body_limit(server_.options.limits.max_body_bytes);
    buffer_.max_size(server_.options.limits.max_header_bytes + server_.options.limits.max_body_bytes + 1024);
    // The read deadline is our own timer, not the stream's expiry: when a
    // Beast stream times out it closes the socket, and a client that started
    // a request but did not finish it in time is owed a 408 first. The timer
    // cancels the read; OnRead then answers (bytes were received) or closes
    // (nothing was: a silent idle connection needs no answer).
    beast::get_lowest_layer(stream_).expires_never();
    timed_out_ = false;
    deadline_ = first_ ? server_.options.read_timeout : server_.options.idle_timeout;
    read_timer_.expires_after(deadline_);
    first_ = false;
    read_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return;  // cancelled: the read completed first
      self->timed_out_ = true;
      beast::get_lowest_layer(self->stream_).cancel();
    });
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnRead, this->shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    read_timer_.cancel();  // releases the timer's hold on the session
    if (timed_out_ && ec && !server_.stopping.load()) {
      if (!parser_->got_some()) return DoClose();  // idle: nothing to answer
      // A request started but not completed within the timeout (a slow
      // client, slowloris): one answer, then close; others are unaffected.
      return Write(ToResponse(408, code::kRequestTimeout,
                              StrCat("the request was not received completely within ", deadline_.count(), " ms")),
                   11, false);
    }
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted || ec == beast::error::timeout ||
        ec == asio::error::eof || ec == asio::error::connection_reset || ec == ssl::error::stream_truncated ||
        !parser_->got_some())
      return DoClose();  // the client went away (or sent nothing): nothing to answer
    if (ec) {
      // A malformed or oversized request: answer once, then close (the
      // stream's framing can no longer be trusted).
      Response r;
      if (ec == http::error::body_limit)
        r = ToResponse(413, code::kPayloadTooLarge,
                       StrCat("body larger than ", server_.options.limits.max_body_bytes, " bytes"));
      else if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
        r = ToResponse(431, code::kHeadersTooLarge,
                       StrCat("request line and headers larger than ", server_.options.limits.max_header_bytes, " bytes"));
      else
        r = ToResponse(400, code::kBadRequest, "malformed HTTP request");
      return Write(std::move(r), 11, false);
    }
    busy_ = true;
    const auto& msg = parser_->get();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& f : msg) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      req.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    req.body = msg.body();
    req.peer = peer_;
    const bool keep_alive = msg.keep_alive();
    const unsigned version = msg.version();
    if (server_.options.async_reads && Handler::AnswersLater(req)) {
      server_.JoinAuthRound();
      // A people read: this thread does not wait for its audit sync; the
      // answer is written from the task the Handler posts back here once
      // the entry is durable (ServerOptions::async_reads).
      server_.DeferredStarted();
      auto self = this->shared_from_this();
      Handler::Post post;
      if (server_.options.threads > 1)
        post = [self](std::function<void()> task) { asio::post(self->stream_.get_executor(), std::move(task)); };
      else
        post = [impl = &server_](std::function<void()> task) { impl->PostToIoThread(std::move(task)); };
      server_.handler.HandleAsync(
          req, std::move(post),
          [self, version, keep_alive](Response r) {
            self->Write(std::move(r), version, keep_alive);
            self->server_.DeferredDone();
          });
      return;
    }
    if (server_.pool) {
      // Off the I/O thread (ServerOptions::handler_threads); the answer is
      // written back on the session's strand.
      asio::post(*server_.pool, [self = this->shared_from_this(), req = std::move(req), version, keep_alive]() mutable {
        Response r = self->server_.handler.Handle(req);
        asio::post(self->stream_.get_executor(), [self, r = std::move(r), version, keep_alive]() mutable {
          self->Write(std::move(r), version, keep_alive);
        });
      });
      return;
    }
    Response r = server_.handler.Handle(req);
    Write(std::move(r), version, keep_alive);
  }

  void Write(Response r, unsigned version, bool keep_alive) {
    busy_ = true;
    http::response<http::string_body> res(static_cast<http::status>(r.status), version);
    if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res.set(k, v);
    res.set("X-Content-Type-Options", "nosniff");
    res.body() = std::move(r.body);
    res.keep_alive(keep_alive && !server_.stopping.load());
    res.prepare_payload();
    const bool again = res.keep_alive();
    // Beast serialises the message (status line, fields, body) into one
    // contiguous buffer, sent with one plain asio write: walking Beast's
    // buffer sequence through its composed write (at every send, and again
    // in ssl_stream's coalescing) was a measurable part of a small answer.
    out_.clear();
    http::serializer<false, http::string_body> sr(res);
    beast::error_code ec;
    while (!ec && !sr.is_done()) {
      sr.next(ec, [&](beast::error_code& visit_ec, const auto& buffers) {
        visit_ec = {};
        const size_t n = beast::buffer_bytes(buffers);
        out_.reserve(out_.size() + n);
        for (const auto b : beast::buffers_range_ref(buffers)) out_.append(static_cast<const char*>(b.data()), b.size());
        sr.consume(n);
      });
    }
    if (ec) return DoClose();  // cannot happen with a string body; never send half a message
    beast::get_lowest_layer(stream_).expires_after(server_.options.read_timeout);
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this(), again](beast::error_code write_ec, std::size_t) {
                        self->busy_ = false;
                        if (write_ec || !again) return self->DoClose();
                        self->DoRead();
                      });
  }

  void DoClose() {
    if (closed_) return;
    closed_ = true;
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        beast::get_lowest_layer(self->stream_).socket().close(ignored);
      });
    } else {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.socket().close(ignored);
    }
  }

  Server::Impl& server_;
  Stream stream_;
  asio::steady_timer read_timer_;  // the read deadline (see DoRead)
  std::chrono::milliseconds deadline_{0};  // the one it was armed with
  std::string peer_;
  beast::flat_buffer buffer_;
  std::string out_;  // the answer being written (Write); its capacity is kept for the next
  std::optional<http::request_parser<http::string_body>> parser_;
  bool first_ = true;          // the next read is the connection's first (read_timeout, else idle_timeout)
  bool timed_out_ = false;     // the read timer fired and cancelled the read
  bool busy_ = false;
  bool closed_ = false;
};

}  // namespace

bool Server::Impl::Register(const std::string& addr, const std::shared_ptr<SessionBase>& s) {
  std::lock_guard lock(mu);
  int& n = per_address[addr];
  if (n >= options.max_connections_per_address) return false;
  ++n;
  sessions[s.get()] = s;
  return true;
}

void Server::Impl::Unregister(const std::string& addr, SessionBase* s) {
  std::lock_guard lock(mu);
  auto it = sessions.find(s);
  if (it == sessions.end()) return;  // never registered (refused)
  sessions.erase(it);
  if (--per_address[addr] <= 0) per_address.erase(addr);
  cv.notify_all();
}

void Server::Impl::Accept() {
  // A session's handlers must never run at once: with several I/O threads
  // each session gets a strand; with one, the thread itself serialises them
  // and a strand would only add a lock and a dispatch to every operation.
  auto executor = options.threads > 1 ? asio::any_io_executor(asio::make_strand(ioc)) : asio::any_io_executor(ioc.get_executor());
  acceptor.async_accept(executor, [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping.load()) return;
      return Accept();  // e.g. EMFILE: keep serving
    }
    beast::error_code rec;
    const auto ep = socket.remote_endpoint(rec);
    if (rec) return Accept();
    std::string peer = ep.address().to_string();
    std::shared_ptr<SessionBase> s;
    if (options.tls) {
      auto t = std::make_shared<Session<true>>(*this, std::move(socket), peer);
      s = t;
      if (Register(peer, s)) t->Run();
    } else {
      auto t = std::make_shared<Session<false>>(*this, std::move(socket), peer);
      s = t;
      if (Register(peer, s)) t->Run();
    }
    // A refused session is dropped here; its destructor closes the socket.
    if (!stopping.load()) Accept();
  });
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(); }

StatusOr<std::unique_ptr<Server>> Server::Create(Handler& handler, ServerOptions options) {
  auto impl = std::make_unique<Impl>(handler, std::move(options));
  try {
    if (impl->options.tls) {
      if (impl->options.cert_pem.empty() || impl->options.key_pem.empty())
        return InvalidArgument("TLS needs a certificate and a private key (or --insecure-http on loopback)");
      impl->tls_ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                                ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
      beast::error_code ec;
      impl->tls_ctx.use_certificate_chain(asio::buffer(impl->options.cert_pem), ec);
      if (ec) return InvalidArgument("the TLS certificate is not a valid PEM certificate");
      impl->tls_ctx.use_private_key(asio::buffer(impl->options.key_pem.data(), impl->options.key_pem.size()),
                                    ssl::context::pem, ec);
      if (ec) return InvalidArgument("the TLS private key is not a valid PEM key matching the certificate");
    }
    beast::error_code ec;
    const auto addr = asio::ip::make_address(impl->options.address, ec);
    if (ec) return InvalidArgument(StrCat("bad listen address '", impl->options.address, "'"));
    tcp::endpoint ep(addr, impl->options.port);
    impl->acceptor.open(ep.protocol(), ec);
    if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) impl->acceptor.bind(ep, ec);
    if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return IOError(StrCat("cannot listen on ", impl->options.address, ":", impl->options.port, ": ", ec.message()));
  } catch (const std::exception& e) {
    return IOError(StrCat("server setup failed: ", e.what()));
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

uint16_t Server::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void Server::Start() {
  if (impl_->started) return;
  impl_->started = true;
  impl_->work.emplace(impl_->ioc.get_executor());
  if (impl_->options.handler_threads > 0) impl_->pool.emplace(static_cast<size_t>(impl_->options.handler_threads));
  impl_->Accept();
  const int n = std::max(1, impl_->options.threads);
  for (int i = 0; i < n; ++i)
    impl_->threads.emplace_back([this] {
      for (;;) {
        try {
          impl_->ioc.run();
          return;
        } catch (...) {
          // A handler threw (should not happen): keep the thread serving.
        }
      }
    });
}

void Server::Stop() {
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  impl_->stopping.store(true);
  asio::post(impl_->acceptor.get_executor(), [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard lock(impl_->mu);
    for (auto& [p, w] : impl_->sessions)
      if (auto s = w.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) s->OnStop();
  live.clear();
  {
    std::unique_lock lock(impl_->mu);
    impl_->cv.wait_for(lock, impl_->options.shutdown_grace, [this] { return impl_->sessions.empty(); });
    // Reads waiting for their audit sync hold tasks that will be posted to
    // the I/O threads: those must still run (the audit log answers every
    // append, durable or failed, and is closed only after Stop).
    impl_->cv.wait(lock, [this] { return impl_->deferred == 0; });
  }
  if (impl_->pool) impl_->pool->join();  // requests in the pool finish (their writes are posted to ioc)
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace cloison::api
