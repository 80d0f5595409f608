#pragma once
/// A network address as the user writes it: `HOST:PORT`, `:PORT` (all interfaces), or
/// `[IPV6]:PORT`. Lists are comma-separated.
#include "rsm/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rsm {

struct address {
  /// Empty for ":PORT" (meaning every interface when listening).
  std::string host;
  std::uint16_t port = 0;

  /// "host:port", with brackets around an IPv6 host.
  std::string to_string() const;
  friend bool operator==(const address&, const address&) = default;
  friend auto operator<=>(const address&, const address&) = default;
};

/// Parses "HOST:PORT", ":PORT" or "[V6]:PORT". The port must be 1..65535.
result<address> parse_address(std::string_view s);
/// Parses a comma-separated list; empty items are skipped, so "" is an empty list.
result<std::vector<address>> parse_address_list(std::string_view s);
std::string to_string(const std::vector<address>& list);

}  // namespace rsm
