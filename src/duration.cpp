#include "rsm/duration.hpp"

#include <charconv>
#include <limits>

namespace rsm {

result<duration> parse_duration(std::string_view s) {
  auto bad = [&] {
    return error(errc::invalid_argument, "duration '" + std::string(s) +
                                             "': want a number and a unit (500ms, 10s, 2m, 1h)");
  };
  if (s == "0") return duration{0};
  std::size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits == 0) return bad();
  long long n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + digits, n);
  if (ec != std::errc() || ptr != s.data() + digits) return bad();
  auto unit = s.substr(digits);
  long long scale = 0;
  if (unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60 * 1000;
  } else if (unit == "h") {
    scale = 3600 * 1000;
  } else {
    return bad();
  }
  if (n > std::numeric_limits<long long>::max() / scale) return bad();
  return duration{n * scale};
}

std::string to_string(duration d) {
  auto ms = d.count();
  if (ms == 0) return "0";
  if (ms % (3600 * 1000) == 0) return std::to_string(ms / (3600 * 1000)) + "h";
  if (ms % (60 * 1000) == 0) return std::to_string(ms / (60 * 1000)) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace rsm
