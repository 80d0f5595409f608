#include "rsm/discovery/source.hpp"

namespace rsm::discovery {
namespace {

class static_source final : public source {
 public:
  static_source(topology::group g, std::string d)
      : group_(std::move(g)), description_(std::move(d)) {}

  awaitable<result<update>> async_next() override {
    if (!delivered_) {
      delivered_ = true;
      co_return update{group_, topology::diff({}, group_)};
    }
    // Nothing ever changes: wait until cancelled.
    asio::steady_timer forever(co_await asio::this_coro::executor,
                               asio::steady_timer::time_point::max());
    co_await forever.async_wait(use_nothrow);
    co_return error(errc::cancelled);
  }

  std::optional<topology::group> current() const override {
    if (!delivered_) return std::nullopt;
    return group_;
  }

  health status() const override { return {delivered_, true, {}, 0}; }
  std::string describe() const override { return description_; }

 private:
  topology::group group_;
  std::string description_;
  bool delivered_ = false;
};

}  // namespace

std::unique_ptr<source> make_static(topology::group g, std::string description) {
  return std::make_unique<static_source>(std::move(g), std::move(description));
}

}  // namespace rsm::discovery
