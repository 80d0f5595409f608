#pragma once
/// File descriptors for client connections, as Redis sizes maxclients: at start the soft
/// RLIMIT_NOFILE is raised to the hard one; when the clients allowed cannot fit in it
/// (`per_client` descriptors each, plus a reserve for shared connections, sentinels, HTTP and
/// logs), a default limit is lowered with a warning, and one the operator set is refused.
#include <cstddef>
#include <string>

namespace rsm::net {

struct fd_budget_input {
  std::size_t soft = 0;  // RLIMIT_NOFILE after raising it
  std::size_t max_clients = 0;
  bool max_clients_explicit = false;
  std::size_t per_client = 1;
  std::size_t reserve = 64;
};

struct fd_budget {
  std::size_t max_clients = 0;  // what to use
  enum class verdict { fits, lowered, refused } what = verdict::fits;
  std::string reason;  // for lowered and refused
};

fd_budget plan_fd_budget(const fd_budget_input& in);

/// Raises the soft RLIMIT_NOFILE to the hard limit (logged when it changes); returns the soft
/// limit now in force.
std::size_t raise_nofile_limit();

}  // namespace rsm::net
