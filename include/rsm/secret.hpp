#pragma once
/// Secrets: compared in constant time, read from files so that none need be on a command line
/// (where /proc shows it).
#include "rsm/error.hpp"

#include <string>
#include <string_view>

namespace rsm {

/// Equal, in a time that depends only on the length of `a` (the candidate), never on where
/// the first difference is.
bool same_secret(std::string_view a, std::string_view b);

/// The file's content without trailing whitespace (a newline from `echo`). Errors: missing or
/// unreadable, empty, or larger than 4 KiB. `world_readable` is set when other users may read
/// it (the caller warns: a secret file should be mode 0600 or 0640).
result<std::string> read_secret_file(const std::string& path, bool* world_readable = nullptr);

/// A fresh random token (32 bytes from the OS, as 64 hex digits) written to `path` with mode
/// 0600 (replacing the file); returns it.
result<std::string> write_new_token_file(const std::string& path);

}  // namespace rsm
