#include "rsm/error.hpp"

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

namespace rsm {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "rsm"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok:
        return "success";
      case errc::connect_timeout:
        return "connect timed out";
      case errc::timed_out:
        return "timed out waiting for a reply";
      case errc::protocol_error:
        return "protocol error";
      case errc::error_reply:
        return "error reply";
      case errc::unexpected_reply:
        return "unexpected reply";
      case errc::not_connected:
        return "not connected";
      case errc::cancelled:
        return "cancelled";
      case errc::handshake_failed:
        return "handshake (AUTH/SELECT) failed";
      case errc::buffer_full:
        return "buffer limit reached";
      case errc::resolve_failed:
        return "host name not resolved";
      case errc::invalid_argument:
        return "invalid argument";
    }
    return "unknown rsm error";
  }
};

}  // namespace

const boost::system::error_category& rsm_category() noexcept {
  static const category c;
  return c;
}

std::string error::message() const {
  std::string m = code.message();
  if (!detail.empty()) {
    m += ": ";
    m += detail;
  }
  return m;
}

void throw_exception_from_error(const error& e, const boost::source_location& loc) {
  boost::throw_exception(boost::system::system_error(e.code, e.detail), loc);
}

}  // namespace rsm
