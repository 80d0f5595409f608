#pragma once
/// `rsm proxy --auth local --users-file FILE`: users clients AUTH to the proxy with, besides
/// `default` (--requirepass). One user a line, `NAME SHA256HEX` (the SHA-256 of the password in
/// hex, as Redis's ACL `#<hash>` and `printf %s PASSWORD | sha256sum` write it); blank lines
/// and lines starting with `#` are skipped. Only hashes are held; a password is checked by
/// hashing it and comparing the digests in constant time.
#include "rsm/error.hpp"

#include <map>
#include <string>
#include <string_view>

namespace rsm::proxy {

class user_table {
 public:
  /// The table of `text` (a file's content); an error names the first bad line.
  static result<user_table> parse(std::string_view text);
  /// Whether `user` is in the table with `password`.
  bool check(std::string_view user, std::string_view password) const;
  bool empty() const { return users_.empty(); }
  std::size_t size() const { return users_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> users_;  // name -> 32-byte digest
};

/// The SHA-256 of `s`, as 64 lowercase hex digits.
std::string sha256_hex(std::string_view s);

}  // namespace rsm::proxy
