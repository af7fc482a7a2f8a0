// The only file that includes cpprestsdk. Every exception it throws stops here.
#include <cpprest/http_client.h>
#include <pplx/threadpool.h>
#include <strings.h>

#include <algorithm>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <vector>

#include "common/log.h"
#include "kube/body_stream.h"
#include "kube/config.h"
#include "kube/http.h"

namespace certguard::kube {
namespace {

namespace http = web::http;
namespace client = web::http::client;

struct TlsMaterial {
  std::string ca_pem, cert_pem, key_pem;
};

// The system bundle DeferSystemTrust took out of OpenSSL's defaults; empty
// when it was not called. Written once, before any thread.
std::string& DeferredSystemBundle() {
  static std::string path;
  return path;
}

// Trust only the cluster CA (when given), present the client certificate.
void ConfigureTls(const TlsMaterial& m, boost::asio::ssl::context& ctx) {
  if (!m.ca_pem.empty()) {
    // A fresh store: the default one may trust the system's CAs.
    SSL_CTX_set_cert_store(ctx.native_handle(), X509_STORE_new());
    ctx.add_certificate_authority(boost::asio::buffer(m.ca_pem));
  } else if (const std::string& bundle = DeferredSystemBundle(); !bundle.empty()) {
    // As OpenSSL's default paths would: a missing or unreadable file trusts nothing more.
    (void)SSL_CTX_load_verify_locations(ctx.native_handle(), bundle.c_str(), nullptr);
    ERR_clear_error();
  }
  if (!m.cert_pem.empty()) {
    ctx.use_certificate_chain(boost::asio::buffer(m.cert_pem));
    ctx.use_private_key(boost::asio::buffer(m.key_pem), boost::asio::ssl::context::pem);
  }
}

Status FromException(const std::exception& e, const std::string& what) {
  if (auto* he = dynamic_cast<const http::http_exception*>(&e)) {
    if (he->error_code() == std::errc::timed_out) {
      return Status(Code::kDeadlineExceeded, what + ": timed out");
    }
  }
  return Unavailable(what + ": " + e.what());
}

// cpprest completes a response on its thread pool after the body's last byte is
// read (it closes the body stream, then marks the response done). Waiting for
// that here means no continuation of a request outlives the call that made it:
// none is left behind at shutdown (where it would be destroyed unrun, leaking
// what it holds) and a cancelled watch's connection is really gone.
void AwaitCompletion(http::http_response& resp) {
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  try {
    resp.content_ready().then([done](pplx::task<http::http_response> t) {
      try {
        t.wait();
      } catch (...) {  // a cancelled or failed body: completed all the same
      }
      done->set_value();
    });
  } catch (...) {
    return;
  }
  // Bounded: a completion that never comes must not hold a shutdown.
  if (finished.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    log::Debug("http: a response did not complete within 5s of its end");
  }
}

// cpprest runs every socket operation and every task continuation on one
// shared pool, 40 threads unless told otherwise. Nothing on it blocks (callers
// wait on their own threads), so a thread per core is enough; with 40, each
// posted handler woke an idle thread of its own: a context switch per step of
// every request. Set once, before the first request; if the pool already
// exists (a program that used cpprest first), it is left as it is.
void SizeThreadPool() {
  static std::once_flag once;
  std::call_once(once, [] {
    (void)SetHttpIoThreads(std::clamp<size_t>(std::thread::hardware_concurrency(), 2, 4));
  });
}

class CpprestTransport : public HttpTransport, public BodyStreamer {
 public:
  CpprestTransport(const ClientConfig& c, std::shared_ptr<TokenSource> token)
      : server_(c.server),
        tls_{c.ca_pem, c.client_cert_pem, c.client_key_pem},
        insecure_(c.insecure_skip_tls_verify),
        token_(std::move(token)) {}

  Result<HttpResponse> Do(const HttpRequest& request) override {
    for (int attempt = 0;; ++attempt) {
      auto resp = DoOnce(request);
      // A rotated token: read it again and retry once.
      if (resp.ok() && resp->status == 401 && attempt == 0 && token_) {
        token_->Invalidate();
        continue;
      }
      return resp;
    }
  }

  Result<HttpResponse> Stream(const HttpRequest& request, const ChunkFn& on_chunk,
                              CancelToken& cancel) override {
    std::string what = request.method + " " + request.path.substr(0, request.path.find('?'));
    auto cts = std::make_shared<pplx::cancellation_token_source>();
    cancel.SetCallback([cts] { cts->cancel(); });
    // On every way out, the watch is ended: a stream the caller stopped reading
    // would otherwise keep its connection open, buffering events nobody reads.
    std::optional<http::http_response> open;
    struct End {
      CancelToken& c;
      std::shared_ptr<pplx::cancellation_token_source> cts;
      std::optional<http::http_response>& resp;
      ~End() {
        c.ClearCallback();
        cts->cancel();
        if (resp) AwaitCompletion(*resp);
      }
    } end{cancel, cts, open};
    try {
      auto cl = NewClient(request.timeout);  // a watch gets its own connection
      http::http_request req = Build(request);
      http::http_response resp = cl->request(req, cts->get_token()).get();
      open = resp;
      HttpResponse out;
      out.status = resp.status_code();
      for (const auto& [k, v] : resp.headers()) out.headers.emplace_back(k, v);
      if (out.status < 200 || out.status >= 300) {
        auto bytes = resp.extract_vector().get();
        out.body.assign(bytes.begin(), bytes.end());
        return out;
      }
      auto buf = resp.body().streambuf();
      using traits = concurrency::streams::streambuf<uint8_t>::traits;
      std::string chunk;
      for (;;) {
        if (cancel.cancelled()) return Unavailable(what + ": cancelled");
        auto c = buf.bumpc().get();  // waits for the next byte
        if (c == traits::eof()) break;
        chunk.assign(1, static_cast<char>(c));
        size_t avail = buf.in_avail();
        if (avail > 0) {
          chunk.resize(1 + avail);
          size_t n = buf.getn(reinterpret_cast<uint8_t*>(&chunk[1]), avail).get();
          chunk.resize(1 + n);
        }
        if (!on_chunk(chunk)) break;
      }
      return out;
    } catch (const pplx::task_canceled&) {
      return Unavailable(what + ": cancelled");
    } catch (const std::exception& e) {
      if (cancel.cancelled()) return Unavailable(what + ": cancelled");
      return FromException(e, what);
    }
  }

 private:
  http::http_request Build(const HttpRequest& r) {
    http::http_request req(r.method);
    req.set_request_uri(web::uri(r.path));
    std::string content_type;
    for (const auto& [k, v] : r.headers) {
      if (strcasecmp(k.c_str(), "Content-Type") == 0) {
        content_type = v;
      } else {
        req.headers().add(k, v);
      }
    }
    if (token_) {
      std::string t = token_->Token();
      if (!t.empty()) req.headers().add("Authorization", "Bearer " + t);
    }
    if (!r.body.empty() || !content_type.empty()) {
      // As bytes: cpprest's std::string overloads read a streambuf<char> through a
      // streambuf<unsigned char> (undefined behaviour that UBSan's vptr check reports).
      std::vector<uint8_t> bytes(r.body.begin(), r.body.end());
      size_t size = bytes.size();
      req.set_body(concurrency::streams::bytestream::open_istream(std::move(bytes)), size,
                   content_type.empty() ? "application/json" : content_type);
    }
    return req;
  }

  std::shared_ptr<client::http_client> NewClient(std::chrono::milliseconds timeout) {
    client::http_client_config cfg;
    cfg.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
    cfg.set_validate_certificates(!insecure_);
    TlsMaterial m = tls_;
    cfg.set_ssl_context_callback([m](boost::asio::ssl::context& ctx) { ConfigureTls(m, ctx); });
    return std::make_shared<client::http_client>(web::uri(server_), cfg);
  }

  // Clients (and their connection pools) are reused per timeout value.
  std::shared_ptr<client::http_client> ClientFor(std::chrono::milliseconds timeout) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& c = clients_[timeout.count()];
    if (!c) c = NewClient(timeout);
    return c;
  }

  Result<HttpResponse> DoOnce(const HttpRequest& request) {
    std::string what = request.method + " " + request.path.substr(0, request.path.find('?'));
    try {
      auto cl = ClientFor(request.timeout);
      // A write's answer (one object) or a body known to be small is awaited
      // whole on cpprest's pool: this thread wakes once per request, then
      // reads what is already there. A GET's body of unknown size (a list
      // page) is read as it comes instead, so that it is never held twice.
      const bool whole_write = request.method != "GET";
      bool whole = false;
      http::http_response resp =
          cl->request(Build(request))
              .then([whole_write, &whole](http::http_response r) {
                whole = whole_write || SmallBody(r);
                return whole ? r.content_ready() : pplx::task_from_result(r);
              })
              .get();
      HttpResponse out;
      out.status = resp.status_code();
      for (const auto& [k, v] : resp.headers()) out.headers.emplace_back(k, v);
      out.body = ReadBody(resp);
      if (!whole) AwaitCompletion(resp);  // content_ready has already completed it
      return out;
    } catch (const std::exception& e) {
      return FromException(e, what);
    }
  }

 public:
  Result<HttpResponse> DoStreaming(const HttpRequest& request, const ChunkFn& on_chunk) override {
    for (int attempt = 0;; ++attempt) {
      auto resp = DoStreamingOnce(request, on_chunk);
      // As Do: a rotated token is read again, once (a 401 delivered no chunk).
      if (resp.ok() && resp->status == 401 && attempt == 0 && token_) {
        token_->Invalidate();
        continue;
      }
      return resp;
    }
  }

 private:
  Result<HttpResponse> DoStreamingOnce(const HttpRequest& request, const ChunkFn& on_chunk) {
    std::string what = request.method + " " + request.path.substr(0, request.path.find('?'));
    pplx::cancellation_token_source cts;
    std::optional<http::http_response> open;
    try {
      auto cl = ClientFor(request.timeout);
      http::http_response resp = cl->request(Build(request), cts.get_token()).get();
      open = resp;
      HttpResponse out;
      out.status = resp.status_code();
      for (const auto& [k, v] : resp.headers()) out.headers.emplace_back(k, v);
      if (out.status < 200 || out.status >= 300) {
        out.body = ReadBody(resp);
      } else if (!ReadChunks(resp, on_chunk)) {
        cts.cancel();  // the rest is not wanted: drop the connection rather than drain it
      }
      AwaitCompletion(resp);
      return out;
    } catch (const std::exception& e) {
      cts.cancel();
      if (open) AwaitCompletion(*open);
      return FromException(e, what);
    }
  }

  static bool SmallBody(http::http_response& resp) {
    constexpr size_t kSmall = 256 * 1024;
    size_t len = resp.headers().content_length();
    return len > 0 && len <= kSmall;
  }

  // The body straight into the string the JSON parser reads: a list page is
  // copied once (cpprest's buffer to here), not twice through a vector.
  static std::string ReadBody(http::http_response& resp) {
    constexpr size_t kChunk = 64 * 1024;
    std::string body;
    if (auto len = resp.headers().content_length(); len > 0 && len < (size_t{1} << 31)) {
      body.reserve(len + kChunk);
    }
    auto buf = resp.body().streambuf();
    using traits = concurrency::streams::streambuf<uint8_t>::traits;
    for (;;) {
      size_t old = body.size();
      body.resize(old + kChunk);
      size_t n = buf.getn(reinterpret_cast<uint8_t*>(&body[old]), kChunk).get();
      body.resize(old + n);
      if (n > 0) continue;
      auto c = buf.bumpc().get();  // nothing ready: wait for a byte or the end
      if (c == traits::eof()) break;
      body.push_back(static_cast<char>(c));
    }
    return body;
  }

  // The body to `on_chunk` in pieces of what has arrived (at most 64 KiB each);
  // false when on_chunk said stop.
  static bool ReadChunks(http::http_response& resp, const ChunkFn& on_chunk) {
    constexpr size_t kChunk = 64 * 1024;
    std::string chunk(kChunk, '\0');
    auto* at = reinterpret_cast<uint8_t*>(chunk.data());
    auto buf = resp.body().streambuf();
    using traits = concurrency::streams::streambuf<uint8_t>::traits;
    for (;;) {
      size_t n = buf.getn(at, kChunk).get();
      if (n == 0) {
        auto c = buf.bumpc().get();  // nothing ready: wait for a byte or the end
        if (c == traits::eof()) return true;
        chunk[0] = static_cast<char>(c);
        n = 1 + buf.getn(at + 1, kChunk - 1).get();
      }
      if (!on_chunk(std::string_view(chunk.data(), n))) return false;
    }
  }

  std::string server_;
  TlsMaterial tls_;
  bool insecure_;
  std::shared_ptr<TokenSource> token_;
  std::mutex mu_;
  std::map<long long, std::shared_ptr<client::http_client>> clients_;
};

}  // namespace

void DeferSystemTrust() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv(X509_get_default_cert_file_env());
    DeferredSystemBundle() = env != nullptr ? env : X509_get_default_cert_file();
    setenv(X509_get_default_cert_file_env(), "/dev/null", 1);
  });
}

bool SetHttpIoThreads(size_t threads) {
  try {
    crossplat::threadpool::initialize_with_threads(threads);
    return true;
  } catch (const std::exception&) {  // already made
    return false;
  }
}

Result<std::shared_ptr<HttpTransport>> NewHttpsTransport(const ClientConfig& config) {
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    return InvalidArgument("server \"" + config.server + "\" is not an http(s) URL");
  }
  try {
    web::uri check(config.server);
    (void)check;
  } catch (const std::exception& e) {
    return InvalidArgument("server \"" + config.server + "\": " + e.what());
  }
  // Check the key material now rather than on the first handshake.
  try {
    boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_client);
    ConfigureTls({config.ca_pem, config.client_cert_pem, config.client_key_pem}, ctx);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("TLS material (CA, client certificate or key): ") +
                           e.what());
  }
  if (!config.tls_server_name.empty()) {
    log::Warn("tls-server-name is not supported; the server URL's host is verified",
              {{"tls_server_name", config.tls_server_name}});
  }
  SizeThreadPool();
  std::shared_ptr<TokenSource> token;
  if (!config.token_file.empty()) {
    token = std::make_shared<TokenSource>(config.token_file, config.bearer_token);
  } else if (!config.bearer_token.empty()) {
    token = std::make_shared<TokenSource>(config.bearer_token);
  }
  return std::shared_ptr<HttpTransport>(std::make_shared<CpprestTransport>(config, token));
}

}  // namespace certguard::kube
