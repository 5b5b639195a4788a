#pragma once
// A gate tracks the fibers working on an object so stop() can wait for them: every
// background fiber holds a gate::holder; close() refuses new holders and completes
// when the last one is gone. Owned by, and used on, exactly one shard.
#include "runtime/asio.h"

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <optional>

namespace chronik::runtime {

class gate {
public:
    class holder {
    public:
        holder() = default;
        explicit holder(gate* g) noexcept : _g(g) { ++_g->_count; }
        holder(holder&& o) noexcept : _g(std::exchange(o._g, nullptr)) {}
        holder& operator=(holder&& o) noexcept {
            release();
            _g = std::exchange(o._g, nullptr);
            return *this;
        }
        ~holder() { release(); }

    private:
        void release() noexcept {
            if (_g != nullptr && --_g->_count == 0 && _g->_drained) {
                _g->_drained->cancel();
            }
            _g = nullptr;
        }
        gate* _g = nullptr;
    };

    bool is_closed() const noexcept { return _closing; }
    size_t count() const noexcept { return _count; }

    // A holder, or nothing once the gate is closing.
    std::optional<holder> try_enter() {
        if (_closing) {
            return std::nullopt;
        }
        return holder(this);
    }

    awaitable<void> close() {
        _closing = true;
        if (_count == 0) {
            co_return;
        }
        auto ex = co_await asio::this_coro::executor;
        _drained.emplace(ex, std::chrono::steady_clock::time_point::max());
        boost::system::error_code ec;
        co_await _drained->async_wait(asio::redirect_error(use_awaitable, ec));
        _drained.reset();
    }

private:
    size_t _count = 0;
    bool _closing = false;
    std::optional<asio::steady_timer> _drained;
};

} // namespace chronik::runtime
