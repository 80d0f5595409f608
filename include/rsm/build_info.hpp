#pragma once
/// What `rsm version` reports about this build.
#include <string>
#include <string_view>

namespace rsm {

/// The project version, e.g. "0.1.0".
std::string_view build_version();
/// The git commit the binary was configured from, or "unknown".
std::string_view build_commit();
/// The CMake build type (Release, Debug, ...).
std::string_view build_type();
/// Versions of the libraries linked in: "boost 1.81.0, hiredis 0.14.1".
std::string library_versions();

}  // namespace rsm
