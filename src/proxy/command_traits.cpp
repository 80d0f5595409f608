#include "rsm/proxy/command_traits.hpp"

#include <array>
#include <string_view>

namespace rsm::proxy {
namespace {

// `upper` must be upper-case; `t` is compared case-insensitively.
bool is(const resp::short_text& t, std::string_view upper) {
  return t.equals_upper(upper);
}

long long db_index(const resp::short_text& arg) {
  auto v = arg.view();
  if (v.empty() || v.size() > 9 || arg.truncated()) return -1;
  long long n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

bool is_blocking(const resp::short_text& n) {
  switch (n.view().size()) {
    case 4:
      return is(n, "WAIT");
    case 5:
      return is(n, "BLPOP") || is(n, "BRPOP") || is(n, "XREAD");
    case 6:
      return is(n, "BLMOVE") || is(n, "BLMPOP") || is(n, "BZMPOP");
    case 7:
      return is(n, "WAITAOF");
    case 8:
      return is(n, "BZPOPMIN") || is(n, "BZPOPMAX");
    case 10:
      return is(n, "BRPOPLPUSH") || is(n, "XREADGROUP");
    default:
      return false;
  }
}

bool is_subscription(const resp::short_text& n) {
  return is(n, "SUBSCRIBE") || is(n, "PSUBSCRIBE") || is(n, "SSUBSCRIBE") || is(n, "UNSUBSCRIBE") ||
         is(n, "PUNSUBSCRIBE") || is(n, "SUNSUBSCRIBE");
}

}  // namespace

command_traits classify(const resp::short_text& name, const resp::short_text& first_arg) {
  command_traits t;
  const auto size = name.view().size();
  if (size < 4 || size > 12) return t;  // every name below is 4..12 characters long
  if (is_blocking(name)) {
    t.pins = true;
  } else if (is_subscription(name)) {
    t.pins = t.unpairs = t.sticky = true;
  } else if (is(name, "MULTI")) {
    t.pins = t.starts_multi = true;
  } else if (is(name, "WATCH")) {
    t.pins = t.watches = true;
  } else if (is(name, "EXEC") || is(name, "DISCARD")) {
    t.ends_multi = true;
  } else if (is(name, "UNWATCH")) {
    t.unwatches = true;
  } else if (is(name, "SELECT")) {
    t.selects = true;
    t.db = db_index(first_arg);
    t.pins = t.db != 0;
  } else if (is(name, "CLIENT")) {
    t.pins = t.sticky = true;
    t.unpairs = is(first_arg, "REPLY");
  } else if (is(name, "MONITOR")) {
    t.pins = t.unpairs = t.sticky = true;
  } else if (is(name, "HELLO") || is(name, "RESET")) {
    t.pins = t.sticky = true;
  }
  return t;
}

}  // namespace rsm::proxy
