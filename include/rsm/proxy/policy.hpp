#pragma once
/// Which commands the proxy refuses (sans-io). By default, those that would break the group
/// the controller and Sentinel manage when sent through a portal: REPLICAOF, SLAVEOF, SHUTDOWN,
/// FAILOVER, DEBUG, CONFIG SET/REWRITE/RESETSTAT, CLUSTER, SYNC, PSYNC, MODULE, ACL changes
/// (SETUSER, DELUSER, LOAD, SAVE), SENTINEL. `--allow-command` removes entries ("CONFIG SET" or
/// a whole command, "CONFIG"); `--deny-command` adds some.
#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace rsm::proxy {

class policy {
 public:
  /// The default refusals adjusted by the operator's lists (names are case-insensitive).
  policy(const std::vector<std::string>& allow, const std::vector<std::string>& deny);
  policy() : policy({}, {}) {}

  /// The error to answer (without '-' and CRLF) when the command is refused, else nothing.
  /// Allocates only for a refusal (it runs on every request).
  std::optional<std::string> refusal(std::string_view name, std::string_view first_arg) const;

 private:
  std::set<std::string, std::less<>> refused_;   // "CONFIG SET", "SHUTDOWN", ...
  std::set<std::string, std::less<>> two_word_;  // "CONFIG", "ACL": names with refused subcommands
  /// By upper-cased first letter, the lengths of the refused names (bit n: n characters, bit 63:
  /// 63 or more): most commands are passed over without a lookup.
  std::array<std::uint64_t, 256> names_{};
};

/// Splits "CONFIG SET,shutdown" into upper-cased entries.
std::vector<std::string> parse_command_list(std::string_view text);

}  // namespace rsm::proxy
