#pragma once
/// `rsm <command> [options]`: the dispatcher and the table of commands.
#include "rsm/cli/options.hpp"
#include "rsm/discovery/source.hpp"
#include "rsm/metrics/prometheus.hpp"
#include "rsm/net/http_server.hpp"
#include "rsm/net/runtime.hpp"
#include "rsm/net/tls.hpp"
#include "rsm/redis/options.hpp"

#include <functional>
#include <memory>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace rsm::cli {

struct command_entry {
  std::string_view name;
  std::string_view summary;
  option_set (*options)();
  /// Runs the command with parsed options; returns the exit code.
  int (*run)(const values& v, std::ostream& out, std::ostream& err);
};

/// Every command, in the order `rsm --help` lists them.
const std::vector<command_entry>& commands();

/// The whole program: `args` are argv[1..]. Exit codes: 0 success, 2 usage error (one line on
/// `err` with a hint); commands define the rest.
int run(const std::vector<std::string>& args, const env_lookup& env, std::ostream& out,
        std::ostream& err);

/// Options every discovery-based command shares (lainlet, static topology, auth, TLS, master
/// name).
void add_discovery_options(option_set& set);

/// --tls, --tls-ca-cert-file, --tls-client-cert-file, --tls-client-key-file: how rsm's own
/// connections to the nodes and sentinels use TLS (part of the discovery options).
void add_tls_client_options(option_set& set);
/// The client TLS config those options give (null without --tls). Throws usage_error for a
/// file that cannot be read or a key that does not match its certificate.
std::shared_ptr<net::tls_config> tls_client_of(const values& v);

/// How rsm reaches the nodes and the sentinels: --username/--password,
/// --sentinel-username/--sentinel-password, and the TLS options.
struct backend_access {
  redis::credentials redis;
  redis::credentials sentinel;
};
backend_access access_of(const values& v);

/// On SIGHUP, `tls` re-reads its files (a failure is logged and keeps the old certificates).
/// Nothing when null.
void reload_tls_on_sighup(net::runtime& rt, std::shared_ptr<net::tls_config> tls, std::string what);
/// The discovery the options name: --redis/--sentinels (static lists), --topology FILE
/// (procwatcher JSON, static), or else lainlet (--lainlet, --app, --redis-proc, ...).
/// Throws usage_error for bad values or an unreadable topology file.
std::unique_ptr<discovery::source> make_discovery(const values& v);

/// --http-max-connections and --http-header-timeout, for a command with an HTTP listener.
void add_http_options(option_set& set);
/// The limits those options give.
net::http_limits http_limits_of(const values& v);

/// An HTTP server on `listen` (on the control context), or null after one line on `err`:
/// "rsm <command>: cannot listen on <addr>: <why>".
std::unique_ptr<net::http_server> open_http(net::runtime& rt, const address& listen,
                                            std::string_view command, std::ostream& err,
                                            net::http_limits limits = {});
/// Routes GET /metrics to a Prometheus exposition that `fill` writes at each request (and the
/// listener's own rsm_http_* series).
void serve_metrics(net::http_server& http, std::function<void(metrics::exposition&)> fill);

/// Applies --log-level and --log-format.
void apply_logging(const values& v);

}  // namespace rsm::cli
