#include "runtime/uring.h"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace chronik::runtime {
namespace {

awaitable<void> sync_into(uring& r, std::vector<int> fds, std::vector<int>& out) {
    out = co_await r.fdatasync(std::move(fds));
}

// Runs the call to its end: the ring's eventfd read is the loop's only work
// while syncs are in flight, and none is left once they complete.
std::vector<int> run_sync(asio::io_context& ctx, uring& ring, std::vector<int> fds) {
    std::vector<int> out;
    asio::co_spawn(ctx, sync_into(ring, std::move(fds), out), asio::detached);
    ctx.restart();
    ctx.run();
    return out;
}

struct temp_files {
    explicit temp_files(int n) {
        char tmpl[] = "/tmp/chronik-uring-XXXXXX";
        dir = ::mkdtemp(tmpl);
        for (int i = 0; i < n; ++i) {
            int fd = ::open((dir + "/" + std::to_string(i)).c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
            EXPECT_GE(fd, 0);
            EXPECT_EQ(::pwrite(fd, "data", 4, 0), 4);
            fds.push_back(fd);
        }
    }
    ~temp_files() {
        for (int fd : fds) {
            ::close(fd);
        }
        std::filesystem::remove_all(dir);
    }
    std::string dir;
    std::vector<int> fds;
};

TEST(uring, syncs_every_file_and_reports_each_result) {
    asio::io_context ctx;
    auto ring = uring::create(ctx.get_executor());
    if (!ring) {
        GTEST_SKIP() << "io_uring is not available here";
    }
    temp_files f(3);
    auto fds = f.fds;
    fds.push_back(987654); // not open
    auto rcs = run_sync(ctx, *ring, fds);
    EXPECT_EQ(rcs, (std::vector<int>{ 0, 0, 0, -EBADF }));
    EXPECT_EQ(ring->completed(), 4u);
    EXPECT_EQ(ring->in_flight(), 0u);
    // Again, now that the eventfd has been read once.
    EXPECT_EQ(run_sync(ctx, *ring, f.fds), (std::vector<int>{ 0, 0, 0 }));
}

// At most `entries` syncs are in flight: the rest fail at once with -EAGAIN,
// rather than queueing without bound.
TEST(uring, a_full_ring_refuses_the_excess_with_eagain) {
    asio::io_context ctx;
    auto ring = uring::create(ctx.get_executor(), 4);
    if (!ring) {
        GTEST_SKIP() << "io_uring is not available here";
    }
    temp_files f(6);
    auto rcs = run_sync(ctx, *ring, f.fds);
    EXPECT_EQ(rcs, (std::vector<int>{ 0, 0, 0, 0, -EAGAIN, -EAGAIN }));
}

// Two callers at once: each resumes with its own results.
TEST(uring, concurrent_calls_complete_independently) {
    asio::io_context ctx;
    auto ring = uring::create(ctx.get_executor());
    if (!ring) {
        GTEST_SKIP() << "io_uring is not available here";
    }
    temp_files f(2);
    std::vector<int> a, b;
    asio::co_spawn(ctx, sync_into(*ring, { f.fds[0], -1 }, a), asio::detached);
    asio::co_spawn(ctx, sync_into(*ring, { f.fds[1] }, b), asio::detached);
    ctx.run();
    EXPECT_EQ(a, (std::vector<int>{ 0, -EBADF }));
    EXPECT_EQ(b, (std::vector<int>{ 0 }));
}

// Destroyed with syncs in the kernel and their coroutine never resumed (a shard
// stopped mid-round): the ring waits for them and frees everything (ASan checks).
TEST(uring, destroyed_with_syncs_in_flight) {
    temp_files f(2);
    asio::io_context ctx;
    {
        auto ring = uring::create(ctx.get_executor());
        if (!ring) {
            GTEST_SKIP() << "io_uring is not available here";
        }
        asio::co_spawn(ctx, ring->fdatasync(f.fds), asio::detached);
        ctx.poll_one(); // submits, then waits on the eventfd
        EXPECT_EQ(ring->in_flight(), 2u);
    }
}

} // namespace
} // namespace chronik::runtime
