#include "rsm/secret.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

namespace rsm {

bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (b.empty() ? 0 : b[i % b.size()]));
  }
  return diff == 0;
}

result<std::string> read_secret_file(const std::string& path, bool* world_readable) {
  constexpr std::size_t k_max = 4096;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return error(errc::invalid_argument, "cannot read " + path);
  if (!S_ISREG(st.st_mode)) return error(errc::invalid_argument, path + " is not a file");
  if (st.st_size > static_cast<off_t>(k_max))
    return error(errc::invalid_argument, path + " is larger than 4 KiB: not a secret");
  if (world_readable) *world_readable = (st.st_mode & S_IROTH) != 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(errc::invalid_argument, "cannot read " + path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  if (s.empty()) return error(errc::invalid_argument, path + " is empty");
  return s;
}

result<std::string> write_new_token_file(const std::string& path) {
  unsigned char raw[32];
  std::size_t got = 0;
  while (got < sizeof raw) {
    auto n = ::getrandom(raw + got, sizeof raw - got, 0);
    if (n < 0) return error(errc::invalid_argument, "no random bytes from the OS");
    got += static_cast<std::size_t>(n);
  }
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : raw) {
    token += k_hex[b >> 4];
    token += k_hex[b & 15];
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return error(errc::invalid_argument, "cannot write " + path);
  bool ok = ::fchmod(fd, 0600) == 0;
  std::string line = token + "\n";
  ok = ok && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = ::close(fd) == 0 && ok;
  if (!ok) return error(errc::invalid_argument, "cannot write " + path);
  return token;
}

}  // namespace rsm
