#include "rsm/net/fd_budget.hpp"

#include "rsm/log.hpp"

#include <sys/resource.h>

namespace rsm::net {

fd_budget plan_fd_budget(const fd_budget_input& in) {
  fd_budget out;
  out.max_clients = in.max_clients;
  const std::size_t per = in.per_client == 0 ? 1 : in.per_client;
  const std::size_t need = in.max_clients * per + in.reserve;
  if (need <= in.soft) return out;
  const std::size_t fit = in.soft > in.reserve ? (in.soft - in.reserve) / per : 0;
  const std::string why = "--max-clients " + std::to_string(in.max_clients) + " needs " +
                          std::to_string(need) + " file descriptors (" + std::to_string(per) +
                          " per client + " + std::to_string(in.reserve) +
                          " reserved), the limit is " + std::to_string(in.soft);
  if (in.max_clients_explicit || fit == 0) {
    out.what = fd_budget::verdict::refused;
    out.reason = why + (fit == 0 ? ""
                                 : "; raise the limit (ulimit -n, LimitNOFILE=) or lower "
                                   "--max-clients to " +
                                       std::to_string(fit));
    return out;
  }
  out.what = fd_budget::verdict::lowered;
  out.max_clients = fit;
  out.reason =
      why + ": lowered to " + std::to_string(fit) + " (raise the limit: ulimit -n, LimitNOFILE=)";
  return out;
}

std::size_t raise_nofile_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return 1024;
  if (r.rlim_cur < r.rlim_max) {
    rlimit want = r;
    want.rlim_cur = r.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0) {
      log::info("limits", "raised the open-file limit to the hard limit",
                {{"from", std::to_string(r.rlim_cur)}, {"to", std::to_string(r.rlim_max)}});
      r = want;
    }
  }
  return r.rlim_cur == RLIM_INFINITY ? static_cast<std::size_t>(1) << 30
                                     : static_cast<std::size_t>(r.rlim_cur);
}

}  // namespace rsm::net
