#pragma once
/// The shared runtime: rsm's threading model, stop and reload, in one place.
///
/// Threading model
/// ---------------
/// - One **control** io_context, run by the main thread. Everything that is not the proxy's
///   data path lives here: discovery (lainlet watch), Sentinel tracking, the controller, watch
///   and status, HTTP endpoints, signal handling. It is single threaded, so control-plane
///   objects need no locks; they are used from this context only.
/// - N **data** io_contexts (the proxy's `--threads`), each run by one thread of its own. A
///   client session lives on one data context from accept to close, together with the shared
///   backend connections of that thread; nothing on the data path takes a lock. News from the
///   control plane (a new master) reaches a data context by `asio::post`.
///
/// Stop: SIGINT/SIGTERM (or `request_stop`) emits a terminal cancellation on every task spawned
/// through the runtime; tasks end by cancellation. Whatever is still running after
/// `stop_deadline` is abandoned: the io_contexts are stopped (the hard deadline).
/// Reload: SIGHUP calls the reload hooks on the control context.
#include "rsm/duration.hpp"
#include "rsm/net/asio.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/signal_set.hpp>

#include <atomic>
#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace rsm::net {

/// True for the exceptions Asio uses to end a cancelled coroutine: operation_aborted, also
/// inside awaitable operators' multiple_exceptions.
bool is_cancellation(std::exception_ptr e);

class runtime {
 public:
  struct settings {
    /// Data io_contexts, each with its own thread (0: none, control only).
    std::size_t data_threads = 0;
    /// How long tasks get to finish after a stop request.
    duration stop_deadline{std::chrono::seconds(5)};
    /// Handle SIGINT/SIGTERM/SIGHUP (off for embedding in tests that share a process).
    bool handle_signals = true;
  };

  explicit runtime(settings s);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  asio::io_context& control() { return control_; }
  std::size_t data_count() const { return data_.size(); }
  asio::io_context& data(std::size_t i) { return *data_[i]; }

  /// Spawns a task on the control context, cancelled on stop. A task that throws is logged
  /// and stops the runtime with exit code 1. May be called before or during `run`.
  void spawn(std::string name, awaitable<void> task);
  /// The same on data context `i`.
  void spawn_data(std::size_t i, std::string name, awaitable<void> task);

  /// Hooks run on the control context: on SIGHUP, and once when a stop begins.
  void on_reload(std::function<void()> f) { reload_hooks_.push_back(std::move(f)); }
  void on_stop(std::function<void()> f) { stop_hooks_.push_back(std::move(f)); }

  /// Begins a stop (thread-safe, idempotent): cancels every task; `run` returns `exit_code`.
  void request_stop(int exit_code = 0);
  bool stopping() const { return stopping_.load(); }

  /// Runs the data threads and the control context until every task has ended, or the hard
  /// deadline after a stop request. Returns the exit code.
  int run();

 private:
  struct task_slot {
    asio::cancellation_signal signal;
    std::string name;
    bool done = false;
  };
  struct context_tasks {
    std::list<task_slot> slots;
  };

  void spawn_on(asio::io_context& ctx, context_tasks& tasks, std::string name,
                awaitable<void> task);
  void task_finished();
  void begin_stop();
  void wait_signals();

  settings settings_;
  asio::io_context control_;
  std::vector<std::unique_ptr<asio::io_context>> data_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> data_guards_;
  context_tasks control_tasks_;
  std::vector<std::unique_ptr<context_tasks>> data_tasks_;
  asio::signal_set signals_;
  asio::steady_timer hard_deadline_;
  std::vector<std::function<void()>> reload_hooks_;
  std::vector<std::function<void()>> stop_hooks_;
  std::atomic<int> live_tasks_{0};
  /// Set (on the control thread) when the last task has ended.
  std::optional<std::chrono::steady_clock::time_point> wind_down_until_;
  static constexpr std::chrono::milliseconds k_wind_down{1000};
  std::atomic<bool> stopping_{false};
  std::atomic<int> exit_code_{0};
  bool started_ = false;
};

}  // namespace rsm::net
