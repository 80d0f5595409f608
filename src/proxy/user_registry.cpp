#include "user_registry.hpp"

namespace rsm::proxy {

std::uint32_t user_registry::accepted(std::string_view name, std::string_view password) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < users_.size(); ++i) {
    if (users_[i].username == name) {
      if (users_[i].password != password) users_[i].password = std::string(password);
      return static_cast<std::uint32_t>(i + 1);
    }
  }
  users_.push_back(redis::credentials{std::string(name), std::string(password), nullptr});
  return static_cast<std::uint32_t>(users_.size());
}

redis::credentials user_registry::credentials(std::uint32_t id) const {
  std::lock_guard lock(mutex_);
  if (id == 0 || id > users_.size()) return {};
  return users_[id - 1];
}

std::size_t user_registry::size() const {
  std::lock_guard lock(mutex_);
  return users_.size();
}

}  // namespace rsm::proxy
