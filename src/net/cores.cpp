#include "rsm/net/cores.hpp"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace rsm::net {
namespace {

std::optional<long long> number(std::string_view s) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::size_t> whole_cores(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  return static_cast<std::size_t>(std::max(1LL, (quota + period - 1) / period));
}

std::string read_all(const char* path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::size_t> cores_from_cpu_max(std::string_view text) {
  text = trimmed(text);
  auto space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto quota = text.substr(0, space);
  if (quota == "max") return std::nullopt;
  auto q = number(quota);
  auto p = number(text.substr(space + 1));
  if (!q || !p) return std::nullopt;
  return whole_cores(*q, *p);
}

std::size_t available_cores() {
  std::size_t cores = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    cores = static_cast<std::size_t>(CPU_COUNT(&set));
  if (cores == 0) cores = 1;
  std::optional<std::size_t> quota = cores_from_cpu_max(read_all("/sys/fs/cgroup/cpu.max"));
  if (!quota) {
    auto q = number(trimmed(read_all("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")));
    auto p = number(trimmed(read_all("/sys/fs/cgroup/cpu/cpu.cfs_period_us")));
    if (q && p) quota = whole_cores(*q, *p);
  }
  if (quota) cores = std::min(cores, *quota);
  return std::max<std::size_t>(1, cores);
}

std::size_t default_data_threads(std::size_t cores) {
  return std::clamp<std::size_t>(cores / 4, 1, 4);
}

}  // namespace rsm::net
