#include "base/result.h"

#include <gtest/gtest.h>

namespace chronik {
namespace {

result<int> parse_positive(int v) {
    if (v <= 0) {
        return std::make_error_code(std::errc::invalid_argument);
    }
    return v;
}

result<int> doubled(int v) {
    CHRONIK_TRY(auto x, parse_positive(v));
    return x * 2;
}

} // namespace

TEST(result, try_propagates_errors_and_values) {
    ASSERT_TRUE(doubled(4).has_value());
    EXPECT_EQ(doubled(4).value(), 8);
    auto r = doubled(-1);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error(), std::make_error_code(std::errc::invalid_argument));
}

} // namespace chronik
