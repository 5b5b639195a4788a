#pragma once
// Errors as values (DESIGN.md principle 8): every fallible hot-path function
// returns result<T>; exceptions are for programming errors and start-up only.
#include <boost/outcome/std_result.hpp>
#include <boost/outcome/try.hpp>
#include <system_error>

namespace chronik {

namespace outcome = boost::outcome_v2;

template<class T>
using result = outcome::std_result<T>;

using outcome::failure;
using outcome::success;

} // namespace chronik

// Propagates a failed result<T> to the caller, binding the value on success.
#define CHRONIK_TRY(...) BOOST_OUTCOME_TRY(__VA_ARGS__)
