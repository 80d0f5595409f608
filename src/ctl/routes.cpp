#include "rsm/ctl/routes.hpp"

#include <string>

namespace rsm::ctl {

namespace {
/// The longest pause POST /pause grants: a forgotten pause must end by itself.
constexpr duration k_max_pause = std::chrono::hours(24);
}  // namespace

void add_routes(net::http_server& http, controller& c) {
  http.route("/status", [&c](const net::http_request_info&) {
    return net::http_reply{200, "application/json", c.status_json()};
  });
  http.route("/metrics", [&c, &http](const net::http_request_info&) {
    metrics::exposition e;
    c.add_metrics(e);
    http.add_metrics(e);
    return net::http_reply{200, "text/plain; version=0.0.4; charset=utf-8", e.text()};
  });
  // State-changing routes: POST with the admin token (net/http_server.hpp).
  http.route(
      "/pause",
      [&c](const net::http_request_info& r) {
        if (r.method != "POST") return net::http_reply{405, "text/plain", "use POST\n"};
        auto q = net::parse_query(r.query);
        auto it = q.find("for");
        if (it == q.end()) {
          return net::http_reply{400, "text/plain",
                                 "give ?for=DURATION (at most " + rsm::to_string(k_max_pause) +
                                     "): a pause always ends\n"};
        }
        auto d = parse_duration(it->second);
        if (!d) return net::http_reply{400, "text/plain", d.error().detail + "\n"};
        if (d->count() <= 0 || *d > k_max_pause) {
          return net::http_reply{
              400, "text/plain",
              "a pause lasts more than 0 and at most " + rsm::to_string(k_max_pause) + "\n"};
        }
        c.pause(*d);
        return net::http_reply{200, "text/plain", "paused for " + rsm::to_string(*d) + "\n"};
      },
      net::http_access::admin);
  http.route(
      "/choose-master",
      [&c](const net::http_request_info& r) {
        if (r.method != "POST") return net::http_reply{405, "text/plain", "use POST\n"};
        auto q = net::parse_query(r.query);
        auto it = q.find("addr");
        if (it == q.end()) return net::http_reply{400, "text/plain", "give ?addr=HOST:PORT\n"};
        auto a = parse_address(it->second);
        if (!a) return net::http_reply{400, "text/plain", a.error().detail + "\n"};
        c.choose_master(*a);
        return net::http_reply{200, "text/plain",
                               "master for the fresh group: " + a->to_string() + "\n"};
      },
      net::http_access::admin);
  http.route(
      "/resume",
      [&c](const net::http_request_info& r) {
        if (r.method != "POST") return net::http_reply{405, "text/plain", "use POST\n"};
        c.resume();
        return net::http_reply{200, "text/plain", "resumed\n"};
      },
      net::http_access::admin);
}

}  // namespace rsm::ctl
