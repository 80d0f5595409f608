#include "rsm/resp/reply.hpp"

#include <charconv>

namespace rsm::resp {

std::optional<std::string> reply::as_text() const {
  if (is_text()) return str;
  if (is_integer()) return std::to_string(integer);
  return std::nullopt;
}

std::optional<long long> reply::as_integer() const {
  if (is_integer()) return integer;
  if (!is_text() || str.empty()) return std::nullopt;
  long long n = 0;
  auto [p, ec] = std::from_chars(str.data(), str.data() + str.size(), n);
  if (ec != std::errc() || p != str.data() + str.size()) return std::nullopt;
  return n;
}

std::string reply::to_debug_string() const {
  switch (type) {
    case kind::nil:
      return "nil";
    case kind::integer:
      return std::to_string(integer);
    case kind::status:
      return "+" + str;
    case kind::error:
      return "-" + str;
    case kind::string: {
      std::string out = "\"";
      for (unsigned char c : str) {
        if (c == '"' || c == '\\') {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f) {
          static const char* hex = "0123456789abcdef";
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
      }
      return out + "\"";
    }
    case kind::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < elements.size(); ++i) {
        if (i) out += ',';
        out += elements[i].to_debug_string();
      }
      return out + "]";
    }
  }
  return "?";
}

}  // namespace rsm::resp
