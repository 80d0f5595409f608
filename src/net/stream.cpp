#include "rsm/net/stream.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace rsm::net {

awaitable<result<void>> stream::async_handshake(ssl::stream_base::handshake_type side,
                                                std::string server_name) {
  if (!tls_) co_return result<void>{};
  if (side == ssl::stream_base::client && !server_name.empty()) {
    SSL_set_tlsext_host_name(tls_->native_handle(), server_name.c_str());
  }
  auto [ec] = co_await tls_->async_handshake(side, use_nothrow);
  if (ec) {
    std::string why = ec.message();
    if (long v = SSL_get_verify_result(tls_->native_handle()); v != X509_V_OK) {
      why += std::string(" (") + X509_verify_cert_error_string(v) + ")";
    }
    co_return error(ec, "TLS handshake: " + why);
  }
  co_return result<void>{};
}

std::string stream::peer_subject() const {
  if (!tls_) return {};
  X509* cert = SSL_get1_peer_certificate(tls_->native_handle());
  if (!cert) return {};
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  X509_free(cert);
  return buf;
}

}  // namespace rsm::net
