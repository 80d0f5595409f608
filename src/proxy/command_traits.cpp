#include "rsm/proxy/command_traits.hpp"

#include "rsm/proxy/client_state.hpp"

#include <limits>

#include <string_view>

namespace rsm::proxy {
namespace {

// SELECT's argument as Redis reads it (getIntFromObjectOrReply): an int, or -1 for anything
// Redis refuses before it changes anything (not an integer, out of an int's range, negative).
long long db_index(const resp::short_text& arg) {
  if (arg.truncated()) return -1;
  auto v = redis_integer(arg.view());
  if (!v || *v < 0 || *v > std::numeric_limits<int>::max()) return -1;
  return *v;
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
    t.unknown = true;
    auto* top = argc > 1 ? command_table::builtin().find(name.view(), "") : nullptr;
    if (top != nullptr && top->container) t.container = top;
    if (t.container != nullptr && t.container->name == "client") {
      // A CLIENT subcommand rsm does not know (a newer server's: MAINT_NOTIFICATIONS, ...)
      // would set state on a connection the proxy owns: answered as Redis 7.0 answers it.
      t.local = true;
      return t;
    }
    // Perhaps a newer server's command, with effects rsm cannot know: a connection of its own.
    t.pins = t.sticky = true;
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
      break;
    case effect::hello:
      t.hello = true;
      break;
    case effect::reset:
      t.resets = true;
      break;
    case effect::secrets:
      t.redacts = true;
      break;
    case effect::setname:
    case effect::getname:
    case effect::id:
    case effect::info:
      t.local = true;
      break;
    default:
      break;
  }
  return t;
}

}  // namespace rsm::proxy
