#include "rsm/redis/connection.hpp"

#include "rsm/redis/link.hpp"
#include "rsm/redis/transport.hpp"

namespace rsm::redis {

connection::connection(std::shared_ptr<detail::link> l) : link_(std::move(l)) {}
connection::connection(connection&&) noexcept = default;
connection& connection::operator=(connection&& other) noexcept {
  if (this != &other) {
    close();
    link_ = std::move(other.link_);
  }
  return *this;
}
connection::~connection() {
  close();
}

awaitable<result<connection>> connection::async_connect(options opts) {
  auto o = co_await async_open(opts);
  if (!o) co_return o.error();
  auto l = std::make_shared<detail::link>(std::move(*o), std::move(opts), false);
  l->start();
  co_return connection(std::move(l));
}

awaitable<result<resp::reply>> connection::async_exec(resp::command cmd) {
  std::vector<resp::command> cmds;
  cmds.push_back(std::move(cmd));
  auto r = co_await async_exec(std::move(cmds));
  if (!r) co_return r.error();
  co_return std::move(r->front());
}

awaitable<result<std::vector<resp::reply>>> connection::async_exec(
    std::vector<resp::command> cmds) {
  if (!link_) co_return error(errc::not_connected);
  auto l = link_;  // the connection handle may move while we wait
  co_return co_await l->async_exec(std::move(cmds));
}

bool connection::is_open() const {
  return link_ && link_->is_open();
}

void connection::close() {
  if (link_) link_->fail(error(errc::not_connected, "connection closed"));
}

const options& connection::opts() const {
  return link_->opts();
}

}  // namespace rsm::redis
