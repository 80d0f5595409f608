#include "rsm/address.hpp"

#include <charconv>

namespace rsm {

std::string address::to_string() const {
  std::string out;
  if (host.find(':') != std::string::npos) {
    out = "[" + host + "]";
  } else {
    out = host;
  }
  out += ':';
  out += std::to_string(port);
  return out;
}

result<address> parse_address(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return error(errc::invalid_argument, "address '" + std::string(s) + "': " + std::string(why) +
                                             " (want HOST:PORT or :PORT)");
  };
  std::string_view host, port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    host = s.substr(1, close - 1);
    auto rest = s.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return bad("missing port");
    port = rest.substr(1);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return bad("missing port");
    host = s.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return bad("IPv6 hosts need [brackets]");
    port = s.substr(colon + 1);
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value == 0 ||
      value > 65535) {
    return bad("port must be a number from 1 to 65535");
  }
  return address{std::string(host), static_cast<std::uint16_t>(value)};
}

result<std::vector<address>> parse_address_list(std::string_view s) {
  std::vector<address> out;
  while (!s.empty()) {
    auto comma = s.find(',');
    auto item = s.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      auto a = parse_address(item);
      if (!a) return a.error();
      out.push_back(std::move(*a));
    }
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

std::string to_string(const std::vector<address>& list) {
  std::string out;
  for (const auto& a : list) {
    if (!out.empty()) out += ',';
    out += a.to_string();
  }
  return out;
}

}  // namespace rsm
