#include "rsm/net/runtime.hpp"

#include "rsm/log.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/multiple_exceptions.hpp>
#include <boost/asio/post.hpp>

#include <csignal>
#include <exception>

namespace rsm::net {

runtime::runtime(settings s) : settings_(s), signals_(control_), hard_deadline_(control_) {
  for (std::size_t i = 0; i < settings_.data_threads; ++i) {
    data_.push_back(std::make_unique<asio::io_context>(1));
    data_guards_.push_back(asio::make_work_guard(*data_.back()));
    data_tasks_.push_back(std::make_unique<context_tasks>());
  }
}

runtime::~runtime() {
  for (auto& ctx : data_) ctx->stop();
  control_.stop();
}

void runtime::spawn(std::string name, awaitable<void> task) {
  spawn_on(control_, control_tasks_, std::move(name), std::move(task));
}

void runtime::spawn_data(std::size_t i, std::string name, awaitable<void> task) {
  spawn_on(*data_.at(i), *data_tasks_.at(i), std::move(name), std::move(task));
}

void runtime::spawn_on(asio::io_context& ctx, context_tasks& tasks, std::string name,
                       awaitable<void> task) {
  live_tasks_.fetch_add(1);
  // The slot list is touched only from `ctx`'s thread (or before it runs).
  asio::post(ctx, [this, &ctx, &tasks, name = std::move(name), t = std::move(task)]() mutable {
    if (stopping_.load()) {
      // Spawned after the stop began: never started.
      task_finished();
      return;
    }
    auto& slot = tasks.slots.emplace_back();
    slot.name = name;
    auto it = std::prev(tasks.slots.end());
    asio::co_spawn(
        ctx, std::move(t),
        asio::bind_cancellation_slot(
            slot.signal.slot(), [this, &tasks, it, name](std::exception_ptr e) {
              // Asio ends a cancelled coroutine by throwing operation_aborted from
              // its next co_await: after a stop request, that is a clean end.
              if (e && stopping_.load() && is_cancellation(e)) e = nullptr;
              if (e) {
                try {
                  std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                  log::error("runtime", "task failed", {{"task", name}, {"error", ex.what()}});
                } catch (...) {
                  log::error("runtime", "task failed", {{"task", name}});
                }
                request_stop(1);
              }
              tasks.slots.erase(it);
              task_finished();
            }));
  });
}

bool is_cancellation(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& ex) {
    return ex.code() == asio::error::operation_aborted;
  } catch (const asio::multiple_exceptions& ex) {
    return is_cancellation(ex.first_exception());
  } catch (...) {
    return false;
  }
}

void runtime::task_finished() {
  if (live_tasks_.fetch_sub(1) == 1) {
    // Nothing left to run: let every context wind down. Detached helpers a task left behind
    // (a subscription being torn down, a closing connection) get a moment, not forever.
    asio::post(control_, [this] {
      if (live_tasks_.load() != 0) return;
      error_code ignored;
      signals_.cancel(ignored);
      hard_deadline_.cancel();
      for (auto& g : data_guards_) g.reset();
      wind_down_until_ = std::chrono::steady_clock::now() + k_wind_down;
    });
  }
}

void runtime::request_stop(int exit_code) {
  // The first non-zero code is the reason the run ends; later ones do not replace it.
  int expected = 0;
  if (exit_code != 0) exit_code_.compare_exchange_strong(expected, exit_code);
  if (stopping_.exchange(true)) return;
  asio::post(control_, [this] { begin_stop(); });
}

void runtime::begin_stop() {
  for (auto& hook : stop_hooks_) hook();
  auto cancel_all = [](context_tasks& tasks) {
    for (auto& s : tasks.slots) s.signal.emit(asio::cancellation_type::terminal);
  };
  cancel_all(control_tasks_);
  for (std::size_t i = 0; i < data_.size(); ++i) {
    asio::post(*data_[i], [&tasks = *data_tasks_[i], cancel_all] { cancel_all(tasks); });
  }
  if (live_tasks_.load() == 0) {
    error_code ignored;
    signals_.cancel(ignored);
    for (auto& g : data_guards_) g.reset();
    wind_down_until_ = std::chrono::steady_clock::now() + k_wind_down;
    return;
  }
  hard_deadline_.expires_after(settings_.stop_deadline);
  hard_deadline_.async_wait([this](error_code ec) {
    if (ec) return;
    // The control context's tasks are named (the data contexts' lists belong to their threads).
    std::string names;
    for (const auto& s : control_tasks_.slots) names += (names.empty() ? "" : ",") + s.name;
    log::warn("runtime", "stop deadline passed, abandoning tasks",
              {{"tasks", live_tasks_.load()},
               {"control", names},
               {"deadline", to_string(settings_.stop_deadline)}});
    for (auto& ctx : data_) ctx->stop();
    control_.stop();
  });
}

void runtime::wait_signals() {
  signals_.async_wait([this](error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      log::info("runtime", "SIGHUP: reloading");
      for (auto& hook : reload_hooks_) hook();
      wait_signals();
      return;
    }
    if (stopping_.load()) {
      log::warn("runtime", "second stop signal: stopping now");
      for (auto& ctx : data_) ctx->stop();
      control_.stop();
      return;
    }
    log::info("runtime", "stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    request_stop(0);
    wait_signals();
  });
}

int runtime::run() {
  if (started_) throw std::logic_error("runtime::run called twice");
  started_ = true;
  if (settings_.handle_signals) {
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.add(SIGHUP);
    wait_signals();
  }
  if (live_tasks_.load() == 0) {
    error_code ignored;
    signals_.cancel(ignored);
    for (auto& g : data_guards_) g.reset();
    wind_down_until_ = std::chrono::steady_clock::now() + k_wind_down;
  }
  std::vector<std::thread> threads;
  threads.reserve(data_.size());
  for (auto& ctx : data_) threads.emplace_back([c = ctx.get()] { c->run(); });
  // run_one_for, not run: once every task has ended, leftovers get `k_wind_down`.
  for (;;) {
    control_.run_one_for(std::chrono::milliseconds(100));
    if (control_.stopped()) break;
    if (wind_down_until_ && std::chrono::steady_clock::now() > *wind_down_until_) {
      log::debug("runtime", "every task has ended; abandoning leftover work");
      for (auto& ctx : data_) ctx->stop();
      control_.stop();
      break;
    }
  }
  for (auto& ctx : data_) {
    if (stopping_.load()) ctx->stop();
  }
  for (auto& t : threads) t.join();
  return exit_code_.load();
}

}  // namespace rsm::net
