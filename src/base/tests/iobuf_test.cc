#include "base/iobuf.h"

#include <gtest/gtest.h>

namespace chronik {

TEST(iobuf, small_appends_are_copied_into_one_fragment) {
    iobuf b;
    b.append_byte(1);
    uint8_t xs[] = { 2, 3 };
    b.append(xs, 2);
    int frags = 0;
    b.for_each_fragment([&](auto) { ++frags; });
    EXPECT_EQ(frags, 1);
    EXPECT_EQ(b.linearize(), (bytes{ 1, 2, 3 }));
}

TEST(iobuf, large_slices_are_linked_and_placeholders_patch_in_place) {
    iobuf b;
    auto ph = b.reserve(4);
    auto big = byte_slice::from(bytes(1000, 7));
    b.append(big);
    b.append_byte(9);
    b.at(ph)[0] = 42;
    int frags = 0;
    b.for_each_fragment([&](std::span<const uint8_t> s) {
        if (frags == 1) {
            EXPECT_EQ(s.data(), big.data()); // linked, not copied
        }
        ++frags;
    });
    EXPECT_EQ(frags, 3);
    auto flat = b.linearize();
    ASSERT_EQ(flat.size(), 1005u);
    EXPECT_EQ(flat[0], 42);
    EXPECT_EQ(flat[4], 7);
    EXPECT_EQ(flat[1004], 9);
}

TEST(byte_slice, sub_slices_keep_the_owner_alive) {
    byte_slice sub;
    {
        auto whole = byte_slice::from(bytes{ 1, 2, 3, 4 });
        sub = whole.sub(1, 2);
    }
    EXPECT_EQ(sub.size(), 2u);
    EXPECT_EQ(sub[0], 2);
    EXPECT_EQ(sub[1], 3);
}

} // namespace chronik
