#include "base/iobuf.h"

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

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

namespace chronik {

TEST(iobuf, file_extents_are_linked_whatever_their_size_and_read_only_by_linearize) {
    char path[] = "/tmp/chronik-iobuf-XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    const char text[] = "0123456789";
    ASSERT_EQ(::write(fd, text, 10), 10);
    auto keep = std::make_shared<int>(fd);
    auto file = byte_slice::in_file(keep, fd, 2, 5);
    EXPECT_TRUE(file.file_backed());
    EXPECT_EQ(file.size(), 5u);
    EXPECT_EQ(file.data(), nullptr);
    EXPECT_EQ(file.sub(1, 2).file_offset(), 3u);
    iobuf b;
    b.append_byte('<');
    b.append(file); // small, but never copied: there are no bytes to copy
    b.append_byte('>');
    int memory = 0, files = 0;
    b.for_each_piece([&](std::span<const uint8_t>) { ++memory; },
                     [&](const byte_slice& s) {
                         ++files;
                         EXPECT_EQ(s.file_offset(), 2u);
                     });
    EXPECT_EQ(memory, 2);
    EXPECT_EQ(files, 1);
    EXPECT_EQ(b.size(), 7u);
    auto flat = b.linearize();
    EXPECT_EQ(std::string(flat.begin(), flat.end()), "<23456>");
    // Appending a buffer keeps its extents linked.
    iobuf outer;
    outer.append(b);
    EXPECT_EQ(outer.size(), 7u);
    auto again = outer.linearize();
    EXPECT_EQ(std::string(again.begin(), again.end()), "<23456>");
    ::close(fd);
    ::unlink(path);
}

} // namespace chronik
