#include "rsm/redis/subscriber.hpp"

#include "rsm/redis/link.hpp"

namespace rsm::redis {
namespace {

result<message> to_message(const resp::reply& r) {
  auto bad = [&] { return error(errc::unexpected_reply, "push: " + r.to_debug_string()); };
  if (r.is_error()) return error(errc::error_reply, r.str);
  if (!r.is_array() || r.elements.size() < 2) return bad();
  const auto& e = r.elements;
  for (const auto& x : e) {
    if (!x.is_text() && !x.is_integer() && !x.is_nil()) return bad();
  }
  auto kind = e[0].as_text().value_or("");
  message m;
  auto text = [&](std::size_t i) { return e[i].as_text().value_or(""); };
  if (kind == "message" && e.size() == 3) {
    m.type = message::kind::message;
    m.channel = text(1);
    m.payload = text(2);
  } else if (kind == "pmessage" && e.size() == 4) {
    m.type = message::kind::pmessage;
    m.pattern = text(1);
    m.channel = text(2);
    m.payload = text(3);
  } else if ((kind == "subscribe" || kind == "unsubscribe") && e.size() == 3) {
    m.type = kind == "subscribe" ? message::kind::subscribe : message::kind::unsubscribe;
    m.channel = text(1);
    m.count = e[2].as_integer().value_or(0);
  } else if ((kind == "psubscribe" || kind == "punsubscribe") && e.size() == 3) {
    m.type = kind == "psubscribe" ? message::kind::psubscribe : message::kind::punsubscribe;
    m.pattern = text(1);
    m.count = e[2].as_integer().value_or(0);
  } else if (kind == "pong") {
    m.type = message::kind::pong;
    m.payload = text(1);
  } else {
    return bad();
  }
  return m;
}

std::vector<resp::command> with_name(std::string_view name, const std::vector<std::string>& args) {
  resp::command c{name};
  for (const auto& a : args) c.arg(a);
  return {std::move(c)};
}

}  // namespace

subscriber::subscriber(std::shared_ptr<detail::link> l) : link_(std::move(l)) {}
subscriber::subscriber(subscriber&&) noexcept = default;
subscriber& subscriber::operator=(subscriber&& other) noexcept {
  if (this != &other) {
    close();
    link_ = std::move(other.link_);
  }
  return *this;
}
subscriber::~subscriber() {
  close();
}

awaitable<result<subscriber>> subscriber::async_connect(options opts) {
  auto o = co_await async_open(opts);
  if (!o) co_return o.error();
  auto l = std::make_shared<detail::link>(std::move(*o), std::move(opts), true);
  l->start();
  co_return subscriber(std::move(l));
}

void subscriber::subscribe(const std::vector<std::string>& channels) {
  if (link_ && !channels.empty()) link_->send(with_name("SUBSCRIBE", channels));
}

void subscriber::psubscribe(const std::vector<std::string>& patterns) {
  if (link_ && !patterns.empty()) link_->send(with_name("PSUBSCRIBE", patterns));
}

void subscriber::ping() {
  if (link_) link_->send({resp::command{"PING"}});
}

awaitable<result<message>> subscriber::async_receive(duration timeout) {
  if (!link_) co_return error(errc::not_connected);
  auto l = link_;
  auto r = co_await l->async_receive(timeout);
  if (!r) co_return r.error();
  co_return to_message(*r);
}

bool subscriber::is_open() const {
  return link_ && link_->is_open();
}

void subscriber::close() {
  if (link_) link_->fail(error(errc::not_connected, "subscriber closed"));
}

}  // namespace rsm::redis
