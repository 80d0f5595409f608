#include "rsm/proxy/reply_rewrite.hpp"

#include <strings.h>

#include <array>
#include <charconv>
#include <optional>

namespace rsm::proxy {
namespace {

// "<type>N\r\n" at `pos`: N, with `pos` past the line.
std::optional<long long> header(std::string_view s, std::size_t& pos, char type) {
  if (pos >= s.size() || s[pos] != type) return std::nullopt;
  auto end = s.find("\r\n", pos);
  if (end == std::string_view::npos) return std::nullopt;
  long long n = 0;
  auto [p, ec] = std::from_chars(s.data() + pos + 1, s.data() + end, n);
  if (ec != std::errc() || p != s.data() + end || n < 0) return std::nullopt;
  pos = end + 2;
  return n;
}

// A bulk string at `pos`, with `pos` past it.
std::optional<std::string_view> bulk(std::string_view s, std::size_t& pos) {
  auto n = header(s, pos, '$');
  if (!n || pos + static_cast<std::size_t>(*n) + 2 > s.size()) return std::nullopt;
  auto v = s.substr(pos, static_cast<std::size_t>(*n));
  pos += static_cast<std::size_t>(*n) + 2;
  return v;
}

void append_bulk(std::string& out, std::string_view v) {
  out += '$';
  out += std::to_string(v.size());
  out += "\r\n";
  out += v;
  out += "\r\n";
}

}  // namespace

bool is_secret_parameter(std::string_view name) {
  static constexpr std::array<std::string_view, 4> secrets = {
      "requirepass", "masterauth", "tls-key-file-pass", "tls-client-key-file-pass"};
  for (auto s : secrets) {
    if (name.size() == s.size() && strncasecmp(name.data(), s.data(), s.size()) == 0) return true;
  }
  return false;
}

std::string redact_config_reply(std::string_view reply) {
  std::size_t pos = 0;
  std::size_t values = 0;
  if (!reply.empty() && reply[0] == '%') {
    auto n = header(reply, pos, '%');
    if (!n) return std::string(reply);
    values = static_cast<std::size_t>(*n) * 2;
  } else {
    auto n = header(reply, pos, '*');
    if (!n || *n % 2 != 0) return std::string(reply);
    values = static_cast<std::size_t>(*n);
  }
  std::string out(reply.substr(0, pos));
  for (std::size_t i = 0; i < values; i += 2) {
    auto name = bulk(reply, pos);
    auto value = name ? bulk(reply, pos) : std::nullopt;
    if (!value) return std::string(reply);
    append_bulk(out, *name);
    append_bulk(out, is_secret_parameter(*name) && !value->empty() ? k_redacted : *value);
  }
  if (pos != reply.size()) return std::string(reply);
  return out;
}

std::string hello_with_id(std::string_view reply, std::uint64_t id) {
  constexpr std::string_view key = "$2\r\nid\r\n:";
  if (reply.empty() || (reply[0] != '*' && reply[0] != '%')) return std::string(reply);
  auto at = reply.find(key);
  if (at == std::string_view::npos) return std::string(reply);
  auto value = at + key.size();
  auto end = reply.find("\r\n", value);
  if (end == std::string_view::npos) return std::string(reply);
  std::string out(reply.substr(0, value));
  out += std::to_string(id);
  out += reply.substr(end);
  return out;
}

}  // namespace rsm::proxy
