#include "rsm/proxy/users_file.hpp"

#include "rsm/secret.hpp"

#include <openssl/evp.h>

#include <cctype>

namespace rsm::proxy {

namespace {

std::string digest_hex(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr);
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (unsigned int i = 0; i < n; ++i) {
    out += k_hex[md[i] >> 4];
    out += k_hex[md[i] & 15];
  }
  return out;
}

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

std::string sha256_hex(std::string_view s) {
  return digest_hex(s);
}

result<user_table> user_table::parse(std::string_view text) {
  user_table t;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
      line.remove_suffix(1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
      line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    auto sp = line.find_first_of(" \t");
    auto bad = [line_no](std::string why) {
      return error(errc::invalid_argument, "line " + std::to_string(line_no) + ": " + why);
    };
    if (sp == std::string_view::npos) return bad("want NAME SHA256HEX");
    auto name = line.substr(0, sp);
    auto hash = line.substr(line.find_first_not_of(" \t", sp));
    if (!is_hex64(hash))
      return bad("the hash must be 64 hex digits (printf %s PASSWORD | sha256sum)");
    if (name == "default") return bad("the default user's password is --requirepass");
    std::string h(hash);
    for (auto& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!t.users_.emplace(std::string(name), std::move(h)).second)
      return bad("user " + std::string(name) + " twice");
  }
  return t;
}

bool user_table::check(std::string_view user, std::string_view password) const {
  auto it = users_.find(user);
  // An unknown user costs the same hashing as a known one.
  auto candidate = digest_hex(password);
  if (it == users_.end()) {
    same_secret(candidate, candidate);
    return false;
  }
  return same_secret(candidate, it->second);
}

}  // namespace rsm::proxy
