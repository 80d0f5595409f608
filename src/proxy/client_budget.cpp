#include "rsm/proxy/client_budget.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <numeric>

namespace rsm::proxy {

std::optional<memory_setting> parse_memory_setting(std::string_view text) {
  if (text == "auto") return memory_setting{true, 0};
  std::size_t i = 0;
  unsigned long long n = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (n > std::numeric_limits<unsigned long long>::max() / 10 - 10) return std::nullopt;
    n = n * 10 + static_cast<unsigned long long>(text[i] - '0');
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string unit;
  for (char c : text.substr(i))
    unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  unsigned long long mul = 1;
  if (unit == "k")
    mul = 1000ULL;
  else if (unit == "kb")
    mul = 1024ULL;
  else if (unit == "m")
    mul = 1000ULL * 1000;
  else if (unit == "mb")
    mul = 1024ULL * 1024;
  else if (unit == "g")
    mul = 1000ULL * 1000 * 1000;
  else if (unit == "gb")
    mul = 1024ULL * 1024 * 1024;
  else if (!unit.empty() && unit != "b")
    return std::nullopt;
  if (n > std::numeric_limits<std::size_t>::max() / mul) return std::nullopt;
  return memory_setting{false, static_cast<std::size_t>(n * mul)};
}

std::size_t auto_client_budget(std::optional<std::size_t> cgroup_limit) {
  if (cgroup_limit && *cgroup_limit > 0) return *cgroup_limit / 2;
  return std::size_t{1} << 30;
}

std::optional<std::size_t> cgroup_memory_limit() {
  for (const char* path :
       {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream f(path);
    std::string v;
    if (!(f >> v)) continue;
    if (v == "max") return std::nullopt;
    auto parsed = parse_memory_setting(v);
    // cgroup v1 says "no limit" with a number near the largest page-aligned value.
    if (!parsed || parsed->bytes == 0 || parsed->bytes >= (std::size_t{1} << 60))
      return std::nullopt;
    return parsed->bytes;
  }
  return std::nullopt;
}

std::vector<std::size_t> clients_to_shed(const std::vector<std::size_t>& sizes,
                                         std::size_t thread_total, std::size_t global_total,
                                         std::size_t budget, std::size_t floor) {
  std::vector<std::size_t> out;
  if (budget == 0 || global_total <= budget || thread_total == 0) return out;
  // This thread's share of the excess, rounded up (at least one byte: something goes).
  const long double excess = static_cast<long double>(global_total - budget);
  auto share = static_cast<std::size_t>(excess * static_cast<long double>(thread_total) /
                                        static_cast<long double>(global_total));
  share = std::max<std::size_t>(share, 1);
  std::vector<std::size_t> order(sizes.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&sizes](std::size_t a, std::size_t b) { return sizes[a] > sizes[b]; });
  std::size_t freed = 0;
  for (auto i : order) {
    if (freed >= share || sizes[i] <= floor) break;
    out.push_back(i);
    freed += sizes[i];
  }
  return out;
}

}  // namespace rsm::proxy
