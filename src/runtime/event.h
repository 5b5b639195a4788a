#pragma once
// A level-less wake-up for coroutines on one shard: wait() suspends until the next
// notify(). Callers re-check their condition in a loop, as with a condition
// variable. Owned by, and used on, exactly one shard; no lock.
#include "runtime/asio.h"

#include <chrono>
#include <memory>

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
        // The deadline's handler may already be queued when the event wakes us, so
        // cancel() cannot stop it: it must touch nothing in this frame, only state it
        // shares (and the event, which outlives its waiters). Its wake-up of the other
        // waiters is a spurious one, which they tolerate.
        struct deadline_state {
            explicit deadline_state(asio::any_io_executor ex, std::chrono::steady_clock::duration d)
              : timer(ex, d) {}
            asio::steady_timer timer;
            bool fired = false;
            bool waiting = true;
        };
        auto state = std::make_shared<deadline_state>(_timer.get_executor(), d);
        state->timer.async_wait([this, state](boost::system::error_code ec) {
            if (!ec && state->waiting) {
                state->fired = true;
                _timer.cancel();
            }
        });
        boost::system::error_code ec;
        co_await _timer.async_wait(asio::redirect_error(use_awaitable, ec));
        state->waiting = false;
        state->timer.cancel();
        co_return !state->fired;
    }
    void notify_all() { _timer.cancel(); }
    void notify_one() { _timer.cancel_one(); }

private:
    asio::steady_timer _timer;
};

} // namespace chronik::runtime
