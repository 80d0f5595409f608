#pragma once
/// How Catch2 prints rsm values in failed assertions.
#include "rsm/error.hpp"

#include <catch2/catch.hpp>

namespace Catch {

template <class T>
struct StringMaker<boost::system::result<T, rsm::error>> {
  static std::string convert(const boost::system::result<T, rsm::error>& r) {
    return r ? std::string("{value}") : "{error: " + r.error().message() + "}";
  }
};

}  // namespace Catch
