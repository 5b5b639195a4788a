#include "base/varint.h"

#include <limits>

#include <gtest/gtest.h>

namespace chronik {

TEST(varint, round_trips_signed_and_unsigned_extremes) {
    for (int64_t v : { int64_t(0), int64_t(-1), int64_t(1), int64_t(63), int64_t(-64), int64_t(300),
                       std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max() }) {
        uint8_t buf[varint::max_len64];
        size_t n = varint::encode_signed64(v, buf);
        EXPECT_EQ(n, varint::size_signed64(v));
        auto d = varint::decode_unsigned64({ buf, n });
        ASSERT_TRUE(d);
        EXPECT_EQ(d->len, n);
        EXPECT_EQ(varint::unzigzag64(d->value), v);
    }
}

TEST(varint, rejects_truncated_and_overlong_input) {
    uint8_t truncated[] = { 0x80, 0x80 };
    EXPECT_FALSE(varint::decode_unsigned32(truncated));
    uint8_t overlong32[] = { 0xff, 0xff, 0xff, 0xff, 0x1f };
    EXPECT_FALSE(varint::decode_unsigned32(overlong32));
    uint8_t max32[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
    ASSERT_TRUE(varint::decode_unsigned32(max32));
    EXPECT_EQ(varint::decode_unsigned32(max32)->value, 0xffffffffu);
    uint8_t overlong64[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
    EXPECT_FALSE(varint::decode_unsigned64(overlong64));
}

} // namespace chronik
