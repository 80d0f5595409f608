#include "rsm/resp/command.hpp"

#include <cctype>

namespace rsm::resp {

std::string command::name() const {
  if (args_.empty()) return {};
  std::string n = args_.front();
  for (auto& c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return n;
}

void encode(const command& cmd, std::string& out) {
  const auto& args = cmd.args();
  std::size_t need = 16;
  for (const auto& a : args) need += a.size() + 16;
  out.reserve(out.size() + need);
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto& a : args) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out += a;
    out += "\r\n";
  }
}

std::string encode(const command& cmd) {
  std::string out;
  encode(cmd, out);
  return out;
}

}  // namespace rsm::resp
