#include "rsm/net/tls.hpp"

#include <openssl/ssl.h>

namespace rsm::net {
namespace {

error file_error(std::string_view what, const std::string& path, const error_code& ec) {
  return error(errc::invalid_argument, std::string(what) + " " + path + ": " + ec.message());
}

}  // namespace

std::optional<client_auth> parse_client_auth(std::string_view text) {
  if (text == "no" || text == "false") return client_auth::no;
  if (text == "optional") return client_auth::optional;
  if (text == "yes" || text == "true") return client_auth::yes;
  return std::nullopt;
}

result<std::shared_ptr<ssl::context>> make_tls_context(tls_role role, const tls_files& files) {
  const bool server = role == tls_role::server;
  auto ctx =
      std::make_shared<ssl::context>(server ? ssl::context::tls_server : ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  error_code ec;
  if (server && (files.cert.empty() || files.key.empty())) {
    return error(errc::invalid_argument, "a TLS listener needs a certificate and its key");
  }
  if (files.cert.empty() != files.key.empty()) {
    return error(errc::invalid_argument,
                 "a TLS certificate needs its key, and a key its certificate");
  }
  if (!files.cert.empty()) {
    ctx->use_certificate_chain_file(files.cert, ec);
    if (ec) return file_error("certificate file", files.cert, ec);
    // OpenSSL checks the key against the certificate here ("key values mismatch").
    ctx->use_private_key_file(files.key, ssl::context::pem, ec);
    if (ec) return file_error("key file", files.key, ec);
  }
  const bool verify = !server || files.clients != client_auth::no;
  if (verify) {
    if (!files.ca.empty()) {
      ctx->load_verify_file(files.ca, ec);
      if (ec) return file_error("CA file", files.ca, ec);
    } else if (server) {
      return error(errc::invalid_argument, "verifying clients needs a CA file");
    } else {
      ctx->set_default_verify_paths(ec);
      if (ec) return error(errc::invalid_argument, "the system's CA paths: " + ec.message());
    }
    ssl::verify_mode mode = ssl::verify_peer;
    if (server && files.clients == client_auth::yes) mode |= ssl::verify_fail_if_no_peer_cert;
    ctx->set_verify_mode(mode);
  } else {
    ctx->set_verify_mode(ssl::verify_none);
  }
  if (server) {
    // Session resumption with client certificates needs an id context (OpenSSL refuses the
    // resumed handshake without one).
    static const unsigned char id[] = "rsm";
    SSL_CTX_set_session_id_context(native, id, sizeof id - 1);
  }
  return ctx;
}

result<std::shared_ptr<tls_config>> tls_config::open(tls_role role, tls_files files) {
  auto ctx = make_tls_context(role, files);
  if (!ctx) return ctx.error();
  return std::make_shared<tls_config>(role, std::move(files), std::move(*ctx));
}

std::shared_ptr<ssl::context> tls_config::context() const {
  std::lock_guard lock(mu_);
  return ctx_;
}

result<void> tls_config::reload() {
  auto ctx = make_tls_context(role_, files_);
  if (!ctx) return ctx.error();
  std::lock_guard lock(mu_);
  ctx_ = std::move(*ctx);
  ++reloads_;
  return {};
}

unsigned long tls_config::reloads() const {
  std::lock_guard lock(mu_);
  return reloads_;
}

}  // namespace rsm::net
