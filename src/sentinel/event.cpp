#include "rsm/sentinel/event.hpp"

#include <charconv>
#include <vector>

namespace rsm::sentinel {
namespace {

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    auto start = s.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    s.remove_prefix(start);
    auto end = s.find(' ');
    out.push_back(s.substr(0, end));
    if (end == std::string_view::npos) break;
    s.remove_prefix(end);
  }
  return out;
}

std::optional<address> to_address(std::string_view ip, std::string_view port) {
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535) {
    return std::nullopt;
  }
  return address{std::string(ip), static_cast<std::uint16_t>(p)};
}

}  // namespace

event parse_event(std::string_view channel, std::string_view payload) {
  event e;
  e.type = std::string(channel);
  e.payload = std::string(payload);
  auto w = words(payload);
  if (channel == "+switch-master") {
    if (w.size() >= 5) {
      e.master_name = std::string(w[0]);
      e.old_master = to_address(w[1], w[2]);
      e.master_addr = to_address(w[3], w[4]);
    }
    return e;
  }
  if (w.size() >= 4 && (w[0] == "master" || w[0] == "slave" || w[0] == "sentinel")) {
    e.instance_type = std::string(w[0]);
    e.instance_name = std::string(w[1]);
    e.instance_addr = to_address(w[2], w[3]);
    if (w[0] == "master") {
      e.master_name = e.instance_name;
      e.master_addr = e.instance_addr;
    } else if (w.size() >= 8 && w[4] == "@") {
      e.master_name = std::string(w[5]);
      e.master_addr = to_address(w[6], w[7]);
    }
  }
  return e;
}

}  // namespace rsm::sentinel
