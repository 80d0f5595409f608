#pragma once
/// The controller's HTTP endpoints (`rsm ctl --http-listen`, and `rsm up`):
///
///   GET  /status             the controller's state (JSON, docs/ctl.md)
///   GET  /metrics            Prometheus exposition of the group and the controller
/// and, with the admin token (`Authorization: Bearer`, `--admin-token-file`):
///   POST /pause?for=5m       passes observe and plan but do not act (until /resume or `for`,
///                            at most 24 h)
///   POST /resume
///   POST /choose-master?addr=HOST:PORT   the master of a fresh group whose data is in more
///                                         than one replication history (plan rule b)
#include "rsm/ctl/controller.hpp"
#include "rsm/net/http_server.hpp"

namespace rsm::ctl {

/// Routes `http` to `c`; both must outlive the server's run.
void add_routes(net::http_server& http, controller& c);

}  // namespace rsm::ctl
