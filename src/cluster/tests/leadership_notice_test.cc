#include "base/endian.h"
#include "cluster/errc.h"
#include "cluster/leadership_notice.h"
#include "cluster/topic_table.h"

#include <gtest/gtest.h>

namespace chronik::cluster {
namespace {

TEST(leadership_notice, round_trips) {
    std::vector<leadership_notice> ns = { { random_topic_id(), 0, 2, 5, { 2, 3 } },
                                          { random_topic_id(), 7, -1, -1, {} } };
    auto frame = encode_notices(ns);
    auto back = decode_notices(frame);
    ASSERT_TRUE(back);
    EXPECT_EQ(back.value(), ns);
    auto empty = decode_notices(encode_notices(std::span<const leadership_notice>()));
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty.value().empty());
}

// A peer's bytes are checked: every cut, and counts the frame cannot hold, are
// refused without reading past the frame or reserving what the count claims.
TEST(leadership_notice, malformed_frames_are_refused) {
    std::vector<leadership_notice> one = { { random_topic_id(), 1, 1, 3, { 1, 2, 3 } } };
    auto frame = encode_notices(one);
    for (size_t n = 0; n < frame.size(); ++n) {
        EXPECT_FALSE(decode_notices(std::span(frame).first(n))) << n;
    }
    bytes trailing = frame;
    trailing.push_back(0);
    EXPECT_FALSE(decode_notices(trailing));
    bytes huge = frame;
    store_be<int32_t>(huge.data(), INT32_MAX);
    EXPECT_FALSE(decode_notices(huge));
    bytes isr = frame;
    store_be<int16_t>(isr.data() + 4 + 28, INT16_MAX);
    EXPECT_FALSE(decode_notices(isr));
    bytes negative = frame;
    store_be<int32_t>(negative.data() + 4 + 16, -5);
    auto r = decode_notices(negative);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::invalid_request);
}

} // namespace
} // namespace chronik::cluster
