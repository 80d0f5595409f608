#pragma once
/// What a command does to its connection (sans-io): whether it needs a backend connection of
/// its own, and how it changes the session's connection-scoped state.
///
/// On a shared backend connection, replies pair one-to-one with requests and the connection
/// carries no state of any one client. A command that would break either property pins its
/// session to a connection of its own:
/// - MULTI and WATCH (a transaction's state lives on the connection);
/// - SUBSCRIBE and friends (and their UNSUBSCRIBEs: they answer once per channel);
/// - blocking commands (they would freeze everyone on the connection): BLPOP, BRPOP,
///   BRPOPLPUSH, BLMOVE, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP, WAIT, WAITAOF, and XREAD and
///   XREADGROUP (always: whether they block depends on a later argument);
/// - SELECT to a db other than 0 (shared connections stay in db 0);
/// - CLIENT (SETNAME, TRACKING, REPLY, ...), HELLO (RESP3), MONITOR, RESET.
#include "rsm/resp/frame_parser.hpp"

namespace rsm::proxy {

struct command_traits {
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
  /// SELECT's argument when it is a plain non-negative number, else -1.
  long long db = -1;
};

/// Classifies a request by its name and first argument (case-insensitive). No allocation.
command_traits classify(const resp::short_text& name, const resp::short_text& first_arg);

}  // namespace rsm::proxy
