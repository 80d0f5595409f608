#pragma once
/// What a command does to its connection (sans-io), read from the command table
/// (command_table.hpp): whether it needs a backend connection of its own, and how it changes
/// the session's connection-scoped state.
///
/// On a shared backend connection, replies pair one-to-one with requests and the connection
/// carries no state of any one client. A command that would break either property pins its
/// session to a connection of its own: server-side connection state (MULTI, WATCH,
/// subscriptions, MONITOR, CLIENT TRACKING/REPLY/CACHING/NO-EVICT), commands that block, and
/// commands rsm does not know (they may be either). A command with the wrong number of
/// arguments stays shared whatever it is: Redis refuses it before it does anything.
#include "rsm/proxy/command_table.hpp"
#include "rsm/resp/frame_parser.hpp"

namespace rsm::proxy {

struct command_traits {
  /// The table's entry (null: a command rsm does not know).
  const command_info* info = nullptr;
  /// For a subcommand rsm does not know, its container's entry (CLIENT, CONFIG, ...).
  const command_info* container = nullptr;
  /// Needs a backend connection of its own.
  bool pins = false;
  /// After it, replies stop pairing with requests (subscribed, MONITOR, CLIENT REPLY).
  bool unpairs = false;
  /// Leaves state on the connection that a new connection could not re-create.
  bool sticky = false;
  bool starts_multi = false;  // MULTI
  bool watches = false;       // WATCH
  bool ends_multi = false;    // EXEC, DISCARD (also drop every WATCH)
  bool unwatches = false;     // UNWATCH
  bool selects = false;       // SELECT: see `db`
  /// SELECT's argument when Redis may accept it (an int, not negative), else -1 (Redis
  /// refuses it and nothing changes).
  long long db = -1;
  bool hello = false;    // HELLO: parsed by the proxy (client_state.hpp)
  bool resets = false;   // RESET
  bool redacts = false;  // CONFIG GET: its reply is rewritten (reply_rewrite.hpp)
  /// The proxy answers it itself (CLIENT SETNAME/GETNAME/ID: see `info->what`; a CLIENT
  /// subcommand rsm does not know when `info` is null).
  bool local = false;
  /// Unknown to rsm (counted), or with an arity Redis refuses.
  bool unknown = false;
  bool bad_arity = false;
};

/// Classifies a request by its name, first argument (case-insensitive) and argument count (the
/// name included). No allocation.
command_traits classify(const resp::short_text& name, const resp::short_text& first_arg,
                        std::size_t argc);

}  // namespace rsm::proxy
