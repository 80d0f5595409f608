#pragma once
/// Durations as the user writes them: a number and a unit, "500ms", "10s", "2m", "1h"
/// ("0" alone is allowed and means zero/off).
#include "rsm/error.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace rsm {

using duration = std::chrono::milliseconds;

/// Parses "<n>ms", "<n>s", "<n>m", "<n>h" (n a non-negative integer) or "0".
result<duration> parse_duration(std::string_view s);
/// The shortest exact form: 1500ms, 10s, 2m, 1h.
std::string to_string(duration d);

}  // namespace rsm
