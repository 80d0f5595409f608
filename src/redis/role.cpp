#include "rsm/redis/role.hpp"

namespace rsm::redis {

std::string_view to_string(role_info::kind k) {
  switch (k) {
    case role_info::kind::master:
      return "master";
    case role_info::kind::replica:
      return "replica";
    case role_info::kind::sentinel:
      return "sentinel";
  }
  return "?";
}

result<role_info> parse_role(const resp::reply& r) {
  auto bad = [&] { return error(errc::unexpected_reply, "ROLE: " + r.to_debug_string()); };
  if (r.is_error()) return error(errc::error_reply, r.str);
  if (!r.is_array() || r.elements.empty() || !r.elements[0].is_text()) return bad();
  const auto& e = r.elements;
  const auto& kind = e[0].str;
  role_info out;
  if (kind == "master") {
    if (e.size() < 3 || !e[2].is_array()) return bad();
    out.type = role_info::kind::master;
    out.offset = e[1].as_integer().value_or(0);
    for (const auto& rep : e[2].elements) {
      if (!rep.is_array() || rep.elements.size() < 3) return bad();
      auto port = rep.elements[1].as_integer();
      if (!port || *port <= 0 || *port > 65535) return bad();
      out.replicas.push_back(
          {address{rep.elements[0].as_text().value_or(""), static_cast<std::uint16_t>(*port)},
           rep.elements[2].as_integer().value_or(0)});
    }
    return out;
  }
  if (kind == "slave" || kind == "replica") {
    if (e.size() < 5) return bad();
    auto port = e[2].as_integer();
    if (!port || *port < 0 || *port > 65535) return bad();
    out.type = role_info::kind::replica;
    out.master = address{e[1].as_text().value_or(""), static_cast<std::uint16_t>(*port)};
    out.link_state = e[3].as_text().value_or("");
    out.offset = e[4].as_integer().value_or(-1);
    return out;
  }
  if (kind == "sentinel") {
    if (e.size() < 2 || !e[1].is_array()) return bad();
    out.type = role_info::kind::sentinel;
    for (const auto& n : e[1].elements) out.master_names.push_back(n.as_text().value_or(""));
    return out;
  }
  return bad();
}

}  // namespace rsm::redis
