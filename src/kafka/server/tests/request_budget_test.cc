// The per-shard request budget: readers wait while the shard holds too many request
// bytes, and a release lets the next one in.
#include "kafka/server/request_budget.h"

#include <boost/asio/io_context.hpp>
#include <vector>

#include <gtest/gtest.h>

using namespace chronik;

namespace {
awaitable<void> take(kafka::request_budget& b, uint64_t n, std::vector<uint64_t>& order) {
    co_await b.acquire(n);
    order.push_back(n);
}
} // namespace

TEST(request_budget, readers_wait_until_bytes_are_released) {
    asio::io_context io;
    kafka::request_budget b(io.get_executor(), 100);
    std::vector<uint64_t> order;
    asio::co_spawn(io, take(b, 60, order), asio::detached);
    asio::co_spawn(io, take(b, 50, order), asio::detached); // 110 > 100: waits
    io.run_for(std::chrono::milliseconds(20));
    io.restart();
    EXPECT_EQ(order, std::vector<uint64_t>({ 60 }));
    EXPECT_EQ(b.used(), 60u);
    EXPECT_EQ(b.waits(), 1u);
    b.release(60);
    io.run_for(std::chrono::milliseconds(20));
    io.restart();
    EXPECT_EQ(order, std::vector<uint64_t>({ 60, 50 }));
    EXPECT_EQ(b.used(), 50u);
}

TEST(request_budget, a_frame_larger_than_the_budget_goes_alone) {
    asio::io_context io;
    kafka::request_budget b(io.get_executor(), 100);
    std::vector<uint64_t> order;
    asio::co_spawn(io, take(b, 10, order), asio::detached);
    asio::co_spawn(io, take(b, 500, order), asio::detached);
    io.run_for(std::chrono::milliseconds(20));
    io.restart();
    EXPECT_EQ(order, std::vector<uint64_t>({ 10 }));
    b.release(10);
    io.run_for(std::chrono::milliseconds(20));
    EXPECT_EQ(order, std::vector<uint64_t>({ 10, 500 }));
    EXPECT_EQ(b.used(), 500u);
}
