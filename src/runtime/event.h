#pragma once
// A level-less wake-up for coroutines on one shard: wait() suspends until the next
// notify(). Callers re-check their condition in a loop, as with a condition
// variable. Owned by, and used on, exactly one shard; no lock.
#include "runtime/asio.h"

#include <chrono>

namespace chronik::runtime {

class event {
public:
    explicit event(asio::any_io_executor ex) : _timer(ex, std::chrono::steady_clock::time_point::max()) {}

    awaitable<void> wait() {
        boost::system::error_code ec;
        co_await _timer.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    // Waits at most `d`; returns false if the deadline passed first.
    awaitable<bool> wait_for(std::chrono::steady_clock::duration d) {
        asio::steady_timer deadline(_timer.get_executor(), d);
        bool timed_out = false;
        deadline.async_wait([this, &timed_out](boost::system::error_code ec) {
            if (!ec) {
                timed_out = true;
                _timer.cancel();
            }
        });
        boost::system::error_code ec;
        co_await _timer.async_wait(asio::redirect_error(use_awaitable, ec));
        deadline.cancel();
        co_return !timed_out;
    }
    void notify_all() { _timer.cancel(); }
    void notify_one() { _timer.cancel_one(); }

private:
    asio::steady_timer _timer;
};

} // namespace chronik::runtime
