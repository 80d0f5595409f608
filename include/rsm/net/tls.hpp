#pragma once
/// TLS contexts (OpenSSL through boost::asio::ssl) made from certificate files, and remade from
/// them on reload (SIGHUP): new connections get the new context, open ones keep theirs.
///
/// Option names follow Redis's: a server presents --tls-cert-file/--tls-key-file and, with
/// --tls-auth-clients, verifies clients against --tls-ca-cert-file; a client verifies servers
/// against --tls-ca-cert-file (the system's CAs when empty) and presents
/// --tls-client-cert-file/--tls-client-key-file for mutual TLS. As Redis's own replication and
/// Sentinel links do, a client checks the chain, not the host name: rsm reaches nodes by the
/// addresses the sentinels announce, which are rarely the names in a certificate.
#include "rsm/error.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace rsm::net {

namespace ssl = boost::asio::ssl;

/// Whether a TLS listener asks for a client certificate (Redis's tls-auth-clients).
enum class client_auth { no, optional, yes };

enum class tls_role { client, server };

struct tls_files {
  std::string cert;  ///< PEM certificate chain shown to the peer (a client's: mutual TLS)
  std::string key;   ///< its private key (PEM)
  std::string ca;    ///< PEM CA bundle the peer's certificate is verified against
  client_auth clients = client_auth::no;  ///< a server's demand on its clients
};

/// "no" | "optional" | "yes" (also "false"/"true"), else nothing.
std::optional<client_auth> parse_client_auth(std::string_view text);

/// A context for `role` from `files`, or an error naming the file and OpenSSL's reason.
/// TLS 1.2 and newer only.
result<std::shared_ptr<ssl::context>> make_tls_context(tls_role role, const tls_files& files);

/// The context of one side (the proxy's listener, or every outgoing connection of a command),
/// remade from the same files by reload(). Thread safe: data threads take context() for each
/// new connection while the control thread reloads.
class tls_config {
 public:
  static result<std::shared_ptr<tls_config>> open(tls_role role, tls_files files);

  std::shared_ptr<ssl::context> context() const;
  /// Reads the files again; on failure the old context stays and the error says why.
  result<void> reload();
  /// How many reloads succeeded (a metric).
  unsigned long reloads() const;
  tls_role role() const { return role_; }

  tls_config(tls_role role, tls_files files, std::shared_ptr<ssl::context> ctx)
      : role_(role), files_(std::move(files)), ctx_(std::move(ctx)) {}

 private:
  tls_role role_;
  tls_files files_;
  mutable std::mutex mu_;
  std::shared_ptr<ssl::context> ctx_;
  unsigned long reloads_ = 0;
};

}  // namespace rsm::net
