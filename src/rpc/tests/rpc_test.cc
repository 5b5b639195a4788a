// The transport over real loopback sockets: one pooled connection per peer,
// answers matched out of order, every wait bounded, and bad peers closed.
#include "rpc/client.h"
#include "rpc/server.h"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace chronik::rpc {
namespace {

using namespace std::chrono_literals;
using tcp = asio::ip::tcp;

constexpr uint16_t echo = 1;
constexpr uint16_t slow_echo = 2; // answers after the number of ms in the payload's first byte
constexpr uint16_t fails = 3;
constexpr uint16_t never = 4; // answers once the harness releases it (or after 60 s)

const model::node_id peer_id{ 2 };

iobuf text(std::string_view s) {
    iobuf b;
    b.append(s.data(), s.size());
    return b;
}
std::string str(const byte_slice& s) {
    return { reinterpret_cast<const char*>(s.data()), s.size() };
}

// Runs the test body to completion on one io_context, then stops both ends.
struct harness {
    asio::io_context ctx;
    std::optional<server> srv;
    std::optional<connection_pool> pool;
    tcp::endpoint at;
    runtime::event release{ ctx.get_executor() }; // ends the `never` handlers

    explicit harness(server_limits sl = {}, client_limits cl = {}) {
        srv.emplace(ctx.get_executor(), sl);
        srv->register_method(echo, [](byte_slice p) -> awaitable<result<iobuf>> {
            iobuf out;
            out.append(p.span());
            co_return out;
        });
        srv->register_method(slow_echo, [this](byte_slice p) -> awaitable<result<iobuf>> {
            asio::steady_timer t(ctx, std::chrono::milliseconds(p.span()[0]));
            boost::system::error_code ec;
            co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
            iobuf out;
            out.append(p.span());
            co_return out;
        });
        srv->register_method(fails, [](byte_slice) -> awaitable<result<iobuf>> {
            co_return failure(std::make_error_code(std::errc::io_error));
        });
        srv->register_method(never, [this](byte_slice) -> awaitable<result<iobuf>> {
            co_await release.wait_for(60s);
            co_return iobuf{};
        });
        auto bound = srv->listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        EXPECT_TRUE(bound) << bound.error().message();
        at = bound.value();
        pool.emplace(ctx.get_executor(), cl);
        pool->set_peer(peer_id, at);
    }

    template<class F>
    void run(F body) {
        bool done = false;
        asio::co_spawn(
          ctx,
          [&]() -> awaitable<void> {
              auto aw = body();
              co_await std::move(aw);
              co_await pool->stop();
              release.notify_all();
              if (srv) {
                  co_await srv->stop();
              }
              done = true;
          },
          [](std::exception_ptr e) {
              if (e) {
                  std::rethrow_exception(e);
              }
          });
        ctx.run();
        EXPECT_TRUE(done);
    }
};

TEST(rpc, calls_share_one_connection_and_answers_match_out_of_order) {
    harness h;
    h.run([&]() -> awaitable<void> {
        // 20 calls at once, the early ones answered last: each gets its own answer.
        std::vector<std::string> got(20);
        size_t finished = 0;
        runtime::event all(h.ctx.get_executor());
        for (int i = 0; i < 20; ++i) {
            asio::co_spawn(
              h.ctx,
              [&, i]() -> awaitable<void> {
                  std::string body(1, char(40 - 2 * i));
                  body += std::to_string(i);
                  auto r = co_await h.pool->call(peer_id, slow_echo, text(body), 5s);
                  got[size_t(i)] = r ? str(r.value()).substr(1) : r.error().message();
                  if (++finished == got.size()) {
                      all.notify_all();
                  }
              },
              asio::detached);
        }
        while (finished < got.size()) {
            co_await all.wait();
        }
        for (int i = 0; i < 20; ++i) {
            EXPECT_EQ(got[size_t(i)], std::to_string(i));
        }
        EXPECT_EQ(h.pool->connects(), 1U);
        EXPECT_EQ(h.srv->connection_count(), 1U);
        EXPECT_EQ(h.pool->pending(peer_id), 0U);
        // A large payload crosses in one frame.
        std::string big(3 << 20, 'x');
        auto r = co_await h.pool->call(peer_id, echo, text(big), 5s);
        EXPECT_TRUE(r && str(r.value()) == big);
    });
}

TEST(rpc, errors_are_values) {
    harness h;
    h.run([&]() -> awaitable<void> {
        auto r = co_await h.pool->call(peer_id, 99, text("x"), 1s);
        EXPECT_EQ(r.error(), errc::unknown_method);
        r = co_await h.pool->call(peer_id, fails, text("x"), 1s);
        EXPECT_EQ(r.error(), errc::remote_error);
        r = co_await h.pool->call(model::node_id{ 7 }, echo, text("x"), 1s);
        EXPECT_EQ(r.error(), errc::unknown_peer);
        // The connection is still good after errors.
        r = co_await h.pool->call(peer_id, echo, text("ok"), 1s);
        EXPECT_TRUE(r && str(r.value()) == "ok");
        EXPECT_EQ(h.pool->connects(), 1U);
    });
}

TEST(rpc, a_call_ends_at_its_deadline_and_leaves_nothing_pending) {
    harness h;
    h.run([&]() -> awaitable<void> {
        auto t0 = std::chrono::steady_clock::now();
        auto r = co_await h.pool->call(peer_id, never, text("x"), 100ms);
        EXPECT_EQ(r.error(), errc::timed_out);
        EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
        EXPECT_EQ(h.pool->pending(peer_id), 0U);
        r = co_await h.pool->call(peer_id, echo, text("after"), 1s);
        EXPECT_TRUE(r && str(r.value()) == "after");
        // An answer that arrives after its call gave up is dropped, and the
        // connection carries on.
        r = co_await h.pool->call(peer_id, slow_echo, text(std::string(1, char(100))), 30ms);
        EXPECT_EQ(r.error(), errc::timed_out);
        asio::steady_timer t(h.ctx, 150ms);
        co_await t.async_wait(use_awaitable);
        r = co_await h.pool->call(peer_id, echo, text("still"), 1s);
        EXPECT_TRUE(r && str(r.value()) == "still");
        EXPECT_EQ(h.pool->connects(), 1U);
    });
}

TEST(rpc, unanswered_calls_per_peer_are_bounded) {
    client_limits cl;
    cl.max_pending = 4;
    harness h({}, cl);
    h.run([&]() -> awaitable<void> {
        size_t ended = 0;
        for (int i = 0; i < 4; ++i) {
            asio::co_spawn(
              h.ctx,
              [&]() -> awaitable<void> {
                  auto r = co_await h.pool->call(peer_id, never, text("x"), 300ms);
                  EXPECT_EQ(r.error(), errc::timed_out);
                  ++ended;
              },
              asio::detached);
        }
        asio::steady_timer t(h.ctx, 20ms);
        co_await t.async_wait(use_awaitable);
        EXPECT_EQ(h.pool->pending(peer_id), 4U);
        auto r = co_await h.pool->call(peer_id, echo, text("one more"), 1s);
        EXPECT_EQ(r.error(), errc::overloaded);
        while (ended < 4) {
            t.expires_after(20ms);
            co_await t.async_wait(use_awaitable);
        }
        r = co_await h.pool->call(peer_id, echo, text("room again"), 1s);
        EXPECT_TRUE(r.has_value());
    });
}

TEST(rpc, a_lost_connection_fails_waiting_calls_and_the_next_call_reconnects) {
    client_limits cl;
    cl.reconnect_backoff = 300ms;
    harness h({}, cl);
    h.run([&]() -> awaitable<void> {
        auto r = co_await h.pool->call(peer_id, echo, text("first"), 1s);
        EXPECT_TRUE(r.has_value());
        // The server goes away while a call waits: the call ends now, not at its deadline.
        bool ended = false;
        asio::co_spawn(
          h.ctx,
          [&]() -> awaitable<void> {
              auto w = co_await h.pool->call(peer_id, never, text("x"), 30s);
              EXPECT_EQ(w.error(), errc::disconnected);
              ended = true;
          },
          asio::detached);
        asio::steady_timer t(h.ctx, 20ms);
        co_await t.async_wait(use_awaitable);
        h.release.notify_all(); // the handler ends after stop() has closed the connection
        co_await h.srv->stop();
        while (!ended) {
            t.expires_after(5ms);
            co_await t.async_wait(use_awaitable);
        }
        // Nobody listens: refused, then refused without a new attempt within the back-off.
        t.expires_after(350ms);
        co_await t.async_wait(use_awaitable);
        r = co_await h.pool->call(peer_id, echo, text("x"), 1s);
        EXPECT_EQ(r.error(), errc::disconnected);
        const auto attempts = h.pool->connects();
        r = co_await h.pool->call(peer_id, echo, text("x"), 1s);
        EXPECT_EQ(r.error(), errc::disconnected);
        EXPECT_EQ(h.pool->connects(), attempts);
        // A server on the same port again: after the back-off the next call connects.
        h.srv.emplace(h.ctx.get_executor(), server_limits{});
        h.srv->register_method(echo, [](byte_slice p) -> awaitable<result<iobuf>> {
            iobuf out;
            out.append(p.span());
            co_return out;
        });
        EXPECT_TRUE(h.srv->listen(h.at));
        t.expires_after(350ms);
        co_await t.async_wait(use_awaitable);
        r = co_await h.pool->call(peer_id, echo, text("back"), 1s);
        EXPECT_TRUE(r && str(r.value()) == "back");
        EXPECT_EQ(h.pool->connects(), attempts + 1);
    });
}

TEST(rpc, a_request_over_the_frame_limit_is_refused_before_it_is_sent) {
    client_limits cl;
    cl.max_frame_bytes = 1024;
    harness h({}, cl);
    h.run([&]() -> awaitable<void> {
        auto r = co_await h.pool->call(peer_id, echo, text(std::string(2000, 'x')), 1s);
        EXPECT_EQ(r.error(), errc::frame_too_large);
        EXPECT_EQ(h.pool->connects(), 0U);
    });
}

// A raw socket to the server; returns whether the server closed it within `wait`.
awaitable<bool> closed_by_server(tcp::socket& s, std::chrono::milliseconds wait) {
    asio::steady_timer t(s.get_executor(), wait);
    bool timed_out = false;
    t.async_wait([&](boost::system::error_code ec) {
        if (!ec) {
            timed_out = true;
            boost::system::error_code ignored;
            s.close(ignored);
        }
    });
    uint8_t b[64];
    boost::system::error_code ec;
    while (!ec) {
        co_await s.async_read_some(asio::buffer(b), asio::redirect_error(use_awaitable, ec));
    }
    t.cancel();
    co_return !timed_out;
}

TEST(rpc, the_server_closes_bad_frames_and_stalled_ones) {
    server_limits sl;
    sl.max_frame_bytes = 1024;
    sl.read_timeout = 200ms;
    harness h(sl);
    h.run([&]() -> awaitable<void> {
        {
            tcp::socket s(h.ctx);
            co_await s.async_connect(h.at, use_awaitable);
            const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff }; // 4 GiB announced
            co_await asio::async_write(s, asio::buffer(huge), use_awaitable);
            EXPECT_TRUE(co_await closed_by_server(s, 2s));
        }
        {
            tcp::socket s(h.ctx);
            co_await s.async_connect(h.at, use_awaitable);
            const uint8_t tiny[] = { 0, 0, 0, 3, 1, 2, 3 }; // shorter than a header
            co_await asio::async_write(s, asio::buffer(tiny), use_awaitable);
            EXPECT_TRUE(co_await closed_by_server(s, 2s));
        }
        {
            // Half a frame, then nothing: closed after read_timeout.
            tcp::socket s(h.ctx);
            co_await s.async_connect(h.at, use_awaitable);
            const uint8_t half[] = { 0, 0, 0, 100, 0, 0 };
            co_await asio::async_write(s, asio::buffer(half), use_awaitable);
            auto t0 = std::chrono::steady_clock::now();
            EXPECT_TRUE(co_await closed_by_server(s, 3s));
            EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
        }
        {
            // Silent between frames: a pooled connection stays open.
            tcp::socket s(h.ctx);
            co_await s.async_connect(h.at, use_awaitable);
            EXPECT_FALSE(co_await closed_by_server(s, 500ms));
        }
    });
}

} // namespace
} // namespace chronik::rpc
