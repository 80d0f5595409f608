#include "rsm/proxy/client_state.hpp"

#include <strings.h>

#include <limits>

namespace rsm::proxy {

std::optional<long long> redis_integer(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  if (s == "0") return 0;
  bool negative = s[0] == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty() || s[0] < '1' || s[0] > '9') return std::nullopt;
  unsigned long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    auto d = static_cast<unsigned long long>(c - '0');
    if (v > (std::numeric_limits<unsigned long long>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  constexpr auto max = static_cast<unsigned long long>(std::numeric_limits<long long>::max());
  if (negative) {
    if (v > max + 1) return std::nullopt;
    return v == max + 1 ? std::numeric_limits<long long>::min() : -static_cast<long long>(v);
  }
  if (v > max) return std::nullopt;
  return static_cast<long long>(v);
}

std::optional<std::string> client_name_error(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~')
      return "ERR Client names cannot contain spaces, newlines or special characters.";
  }
  return std::nullopt;
}

hello_request parse_hello(const std::vector<std::string>& args) {
  hello_request h;
  std::size_t next = 1;
  if (args.size() >= 2) {
    auto v = redis_integer(args[1]);
    if (!v) {
      h.error = "ERR Protocol version is not an integer or out of range";
      return h;
    }
    if (*v < 2 || *v > 3) {
      h.error = "NOPROTO unsupported protocol version";
      return h;
    }
    h.protocol = static_cast<int>(*v);
    next = 2;
  }
  for (std::size_t j = next; j < args.size(); ++j) {
    auto more = args.size() - 1 - j;
    const auto& opt = args[j];
    if (strcasecmp(opt.c_str(), "AUTH") == 0 && more >= 2) {
      h.auth = true;
      h.username = args[j + 1];
      h.password = args[j + 2];
      j += 2;
    } else if (strcasecmp(opt.c_str(), "SETNAME") == 0 && more >= 1) {
      if (auto e = client_name_error(args[j + 1])) {
        h.error = *e;
        return h;
      }
      h.setname = args[j + 1];
      j += 1;
    } else {
      // Redis formats the option with %s: the name up to its first NUL byte.
      h.error = "ERR Syntax error in HELLO option '" + std::string(opt.c_str()) + "'";
      return h;
    }
  }
  return h;
}

namespace {

// printf's "%.*s" of a byte string: at most `n` bytes, up to the first NUL.
std::string_view c_prefix(std::string_view s, std::size_t n) {
  s = s.substr(0, n);
  return s.substr(0, s.find('\0'));
}

// rejectCommandFormat: no CR or LF may reach the reply.
std::string one_line(std::string s) {
  for (auto& c : s) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return s;
}

}  // namespace

std::string unknown_command_error(const std::vector<std::string>& args) {
  std::string list;
  for (std::size_t i = 1; i < args.size() && list.size() < 128; ++i) {
    auto room = 128 - list.size();
    list += '\'';
    list += c_prefix(args[i], room);
    list += "' ";
  }
  std::string name = args.empty() ? std::string() : std::string(c_prefix(args[0], 128));
  return one_line("ERR unknown command '" + name + "', with args beginning with: " + list);
}

std::string unknown_subcommand_error(std::string_view container, std::string_view sub) {
  return one_line("ERR unknown subcommand '" + std::string(c_prefix(sub, 128)) + "'. Try " +
                  std::string(container) + " HELP.");
}

}  // namespace rsm::proxy
