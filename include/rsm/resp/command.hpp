#pragma once
/// A Redis command as an argument vector, and its RESP encoding (an array of bulk strings).
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace rsm::resp {

class command {
 public:
  command() = default;
  /// `command{"SET", key, value}`. (A variadic constructor rather than an initializer_list:
  /// GCC 12 miscompiles initializer_lists of string literals inside co_await expressions.)
  template <class... A>
  requires(sizeof...(A) > 0 && (std::is_convertible_v<const A&, std::string_view> &&
                                ...)) explicit command(const A&... args) {
    args_.reserve(sizeof...(A));
    (args_.emplace_back(std::string_view(args)), ...);
  }
  explicit command(std::vector<std::string> args) : args_(std::move(args)) {}

  /// Appends one argument.
  command& arg(std::string_view a) {
    args_.emplace_back(a);
    return *this;
  }
  command& arg(long long n) { return arg(std::to_string(n)); }

  const std::vector<std::string>& args() const { return args_; }
  bool empty() const { return args_.empty(); }
  /// The command name, upper-cased ("" for an empty command).
  std::string name() const;

 private:
  std::vector<std::string> args_;
};

/// Appends `*N\r\n$len\r\narg\r\n...` to `out`. Binary-safe.
void encode(const command& cmd, std::string& out);
std::string encode(const command& cmd);

}  // namespace rsm::resp
