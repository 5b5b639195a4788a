#pragma once
// Runs a coroutine to completion on an io_context on the test's own thread: the
// loop turns until the coroutine is done (background timers may remain), with a
// work guard so waiting for the I/O worker does not end it early.
#include "runtime/asio.h"

#include <exception>
#include <optional>

namespace chronik::storage::testing {

template<class T>
T run(asio::io_context& ctx, awaitable<T> aw) {
    std::optional<T> out;
    asio::co_spawn(ctx, std::move(aw), [&](std::exception_ptr e, T v) {
        if (e) {
            std::rethrow_exception(e);
        }
        out = std::move(v);
    });
    auto guard = asio::make_work_guard(ctx);
    ctx.restart();
    while (!out) {
        ctx.run_one();
    }
    return std::move(*out);
}

} // namespace chronik::storage::testing
