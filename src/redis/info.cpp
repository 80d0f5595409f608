#include "rsm/redis/info.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>

namespace rsm::redis {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

bool info::has_section(std::string_view s) const {
  return sections_.find(lower(s)) != sections_.end();
}

info::fields& info::section(std::string_view name) {
  auto key = lower(name);
  auto it = sections_.find(key);
  if (it == sections_.end()) it = sections_.emplace(key, fields{}).first;
  return it->second;
}

void info::erase_section(std::string_view name) {
  if (auto it = sections_.find(lower(name)); it != sections_.end()) sections_.erase(it);
}

std::optional<std::string_view> info::get(std::string_view section, std::string_view field) const {
  if (section.empty()) {
    for (const auto& [name, f] : sections_) {
      if (auto it = f.find(field); it != f.end()) return std::string_view(it->second);
    }
    return std::nullopt;
  }
  auto s = sections_.find(lower(section));
  if (s == sections_.end()) return std::nullopt;
  auto it = s->second.find(field);
  if (it == s->second.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<long long> info::get_int(std::string_view section, std::string_view field) const {
  auto v = get(section, field);
  if (!v || v->empty()) return std::nullopt;
  long long n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size()) return std::nullopt;
  return n;
}

std::optional<double> info::get_double(std::string_view section, std::string_view field) const {
  auto v = get(section, field);
  if (!v || v->empty()) return std::nullopt;
  std::string s(*v);
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return d;
}

long long info::total_keys() const {
  auto s = sections_.find("keyspace");
  if (s == sections_.end()) return 0;
  long long total = 0;
  for (const auto& [db, value] : s->second) {
    auto pairs = parse_info_pairs(value);
    auto k = pairs.find("keys");
    if (k == pairs.end()) continue;
    // A count that is not a whole non-negative number is ignored; the sum saturates (found by
    // the fuzzer: atoll's clamped values overflowed the sum).
    long long n = 0;
    const auto& text = k->second;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || p != text.data() + text.size() || n < 0) continue;
    total = n > std::numeric_limits<long long>::max() - total
                ? std::numeric_limits<long long>::max()
                : total + n;
  }
  return total;
}

info parse_info(std::string_view text) {
  info out;
  info::fields* current = &out.section("default");
  bool used_default = false;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) continue;
    if (line.front() == '#') {
      auto name = trim(line.substr(1));
      if (!name.empty()) current = &out.section(name);
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    (*current)[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 1));
    if (current == &out.section("default")) used_default = true;
  }
  if (!used_default) {
    // Only keep the pseudo-section when some field really had no header.
    out.erase_section("default");
  }
  return out;
}

std::map<std::string, std::string, std::less<>> parse_info_pairs(std::string_view value) {
  std::map<std::string, std::string, std::less<>> out;
  while (!value.empty()) {
    auto comma = value.find(',');
    auto item = value.substr(0, comma);
    auto eq = item.find('=');
    if (eq != std::string_view::npos) {
      out[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace rsm::redis
