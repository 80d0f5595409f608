#include "rsm/proxy/command_traits.hpp"

#include <string_view>

namespace rsm::proxy {
namespace {

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

}  // namespace

command_traits classify(const resp::short_text& name, const resp::short_text& first_arg,
                        std::size_t argc) {
  command_traits t;
  if (name.truncated()) {  // no command is that long: unknown, as Redis will say
    t.unknown = t.pins = t.sticky = true;
    return t;
  }
  t.info = command_table::builtin().find(name.view(), argc > 1 ? first_arg.view() : "");
  if (t.info == nullptr) {
    // Perhaps a newer server's command, with effects rsm cannot know: a connection of its own.
    t.unknown = t.pins = t.sticky = true;
    return t;
  }
  if (!t.info->arity_ok(argc)) {
    t.bad_arity = true;
    return t;
  }
  const auto& c = *t.info;
  // Never answered: on a shared connection it would hand every later reply to the wrong
  // client. (Refused by default; an operator who allows it gets a connection of its own.)
  if (c.replies == reply_count::none) t.pins = t.unpairs = t.sticky = true;
  if (c.replies == reply_count::stream) t.unpairs = true;
  if (c.how == route::pin) t.pins = true;
  switch (c.what) {
    case effect::sticky:
      t.sticky = true;
      break;
    case effect::multi:
      t.pins = t.starts_multi = true;
      break;
    case effect::watch:
      t.pins = t.watches = true;
      break;
    case effect::exec:
      t.ends_multi = true;
      break;
    case effect::unwatch:
      t.unwatches = true;
      break;
    case effect::select:
      t.selects = true;
      t.db = db_index(first_arg);
      t.pins = t.db != 0;
      break;
    case effect::hello:
    case effect::reset:
      t.pins = t.sticky = true;
      break;
    case effect::setname:
    case effect::getname:
    case effect::id:
      t.local = true;
      break;
    default:
      break;
  }
  return t;
}

}  // namespace rsm::proxy
