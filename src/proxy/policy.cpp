#include "rsm/proxy/policy.hpp"

#include "rsm/proxy/command_table.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace rsm::proxy {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::vector<std::string> parse_command_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = trim(text.substr(0, comma));
    if (!item.empty()) out.push_back(upper(item));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

policy::policy(const std::vector<std::string>& allow, const std::vector<std::string>& deny) {
  // The defaults: what the command table marks refused (a container's row covers its
  // subcommands: "CLUSTER").
  for (const auto& c : command_table::builtin().all()) {
    if (c->how != route::refuse) continue;
    auto bar = c->name.find('|');
    if (bar != std::string::npos) {
      auto* parent = command_table::builtin().find(c->name.substr(0, bar), "");
      if (parent != nullptr && parent->how == route::refuse) continue;
    }
    refused_.insert(c->display_name());
  }
  for (const auto& a : allow) {
    auto name = upper(a);
    if (name.find(' ') == std::string::npos) {
      // A whole command: every entry starting with it.
      for (auto it = refused_.begin(); it != refused_.end();) {
        if (*it == name || it->rfind(name + " ", 0) == 0) {
          it = refused_.erase(it);
        } else {
          ++it;
        }
      }
    } else {
      refused_.erase(name);
    }
  }
  for (const auto& d : deny) refused_.insert(upper(d));
  for (const auto& r : refused_) {
    auto space = r.find(' ');
    if (space != std::string::npos) two_word_.insert(r.substr(0, space));
    auto name_size = std::min<std::size_t>(space == std::string::npos ? r.size() : space, 63);
    if (name_size > 0) names_[static_cast<unsigned char>(r[0])] |= std::uint64_t{1} << name_size;
  }
}

std::optional<std::string> policy::refusal(std::string_view name,
                                           std::string_view first_arg) const {
  // Most commands: no refused name has this first letter and length.
  if (name.empty()) return std::nullopt;
  auto first = static_cast<unsigned char>(std::toupper(static_cast<unsigned char>(name[0])));
  if (((names_[first] >> std::min<std::size_t>(name.size(), 63)) & 1) == 0) return std::nullopt;
  // Upper-cased into a buffer on the stack: "NAME" or "NAME ARG".
  constexpr std::size_t cap = 128;
  if (name.size() + 1 + first_arg.size() > cap)
    return std::nullopt;  // no refused entry is that long
  std::array<char, cap> buf;
  std::size_t n = 0;
  for (char c : name) buf[n++] = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string_view upper_name(buf.data(), n);
  std::string_view shown;
  if (refused_.find(upper_name) != refused_.end()) {
    shown = upper_name;
  } else if (!first_arg.empty() && two_word_.find(upper_name) != two_word_.end()) {
    buf[n++] = ' ';
    for (char c : first_arg)
      buf[n++] = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string_view both(buf.data(), n);
    if (refused_.find(both) == refused_.end()) return std::nullopt;
    shown = both;
  } else {
    return std::nullopt;
  }
  return "ERR command '" + std::string(shown) +
         "' is refused by the rsm proxy: it would change the group that rsm and Sentinel "
         "manage, or reach beyond this client's own connection (allow it with --allow-command)";
}
}  // namespace rsm::proxy
