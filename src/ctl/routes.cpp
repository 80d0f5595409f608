#include "rsm/ctl/routes.hpp"

#include <string>

namespace rsm::ctl {

void add_routes(net::http_server& http, controller& c) {
  http.route("/status", [&c](const net::http_request_info&) {
    return net::http_reply{200, "application/json", c.status_json()};
  });
  http.route("/metrics", [&c](const net::http_request_info&) {
    metrics::exposition e;
    c.add_metrics(e);
    return net::http_reply{200, "text/plain; version=0.0.4; charset=utf-8", e.text()};
  });
  http.route("/pause", [&c](const net::http_request_info& r) {
    if (r.method != "POST") return net::http_reply{405, "text/plain", "use POST\n"};
    auto q = net::parse_query(r.query);
    std::optional<duration> d;
    if (auto it = q.find("for"); it != q.end()) {
      auto parsed = parse_duration(it->second);
      if (!parsed) return net::http_reply{400, "text/plain", parsed.error().detail + "\n"};
      d = *parsed;
    }
    c.pause(d);
    return net::http_reply{200, "text/plain",
                           d ? "paused for " + rsm::to_string(*d) + "\n" : "paused\n"};
  });
  http.route("/choose-master", [&c](const net::http_request_info& r) {
    if (r.method != "POST") return net::http_reply{405, "text/plain", "use POST\n"};
    auto q = net::parse_query(r.query);
    auto it = q.find("addr");
    if (it == q.end()) return net::http_reply{400, "text/plain", "give ?addr=HOST:PORT\n"};
    auto a = parse_address(it->second);
    if (!a) return net::http_reply{400, "text/plain", a.error().detail + "\n"};
    c.choose_master(*a);
    return net::http_reply{200, "text/plain",
                           "master for the fresh group: " + a->to_string() + "\n"};
  });
  http.route("/resume", [&c](const net::http_request_info& r) {
    if (r.method != "POST") return net::http_reply{405, "text/plain", "use POST\n"};
    c.resume();
    return net::http_reply{200, "text/plain", "resumed\n"};
  });
}

}  // namespace rsm::ctl
