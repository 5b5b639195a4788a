#pragma once
// Thread-per-core shards (DESIGN.md principle 1). Each shard is one thread running
// one io_context; every mutable object has exactly one owner shard and is touched
// only there. Work for another shard is sent to it with invoke_on and awaited.
#include "runtime/asio.h"
#include "runtime/stall_detector.h"

#include <boost/asio/executor_work_guard.hpp>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

namespace chronik::runtime {

class shard_group;

class shard {
public:
    unsigned id() const noexcept { return _id; }
    asio::io_context& context() noexcept { return _ctx; }
    asio::any_io_executor executor() noexcept { return _ctx.get_executor(); }
    bool is_current() const noexcept;

private:
    friend class shard_group;
    explicit shard(unsigned id) : _id(id), _ctx(1) {}
    unsigned _id;
    asio::io_context _ctx;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> _guard;
    std::thread _thread;
};

// The shard the calling thread runs, or nullptr on a non-shard thread.
shard* this_shard() noexcept;
unsigned this_shard_id() noexcept;

namespace detail {
template<class T>
struct is_awaitable : std::false_type {};
template<class T, class E>
struct is_awaitable<asio::awaitable<T, E>> : std::true_type {};

template<class F>
using invoke_result_t = std::invoke_result_t<F&>;

template<class F>
struct invoke_value {
    using type = invoke_result_t<F>;
};
template<class T, class E>
struct invoke_value_of {
    using type = T;
};
template<class F>
requires is_awaitable<invoke_result_t<F>>::value struct invoke_value<F> {
    using type = typename invoke_result_t<F>::value_type;
};

// Runs fn on the shard this coroutine was spawned on. A named coroutine, not a
// capturing lambda, so fn lives in this frame for as long as it runs.
template<class F>
awaitable<typename invoke_value<F>::type> call(F fn) {
    if constexpr (is_awaitable<invoke_result_t<F>>::value) {
        // A named local, not `co_await fn()`: GCC 12 may destroy that temporary
        // awaitable (and with it the suspended coroutine's frame) at the suspension.
        auto aw = fn();
        co_return co_await std::move(aw);
    } else if constexpr (std::is_void_v<invoke_result_t<F>>) {
        fn();
        co_return;
    } else {
        co_return fn();
    }
}
} // namespace detail

class shard_group {
public:
    // Starts `count` shard threads; the stall detector (if given) watches them all.
    explicit shard_group(unsigned count, stall_detector* detector = nullptr);
    ~shard_group();
    shard_group(const shard_group&) = delete;
    shard_group& operator=(const shard_group&) = delete;

    unsigned size() const noexcept { return unsigned(_shards.size()); }
    shard& at(unsigned id) noexcept { return *_shards[id]; }

    // Runs fn on shard `target` and resumes the caller on its own shard with the
    // result (or the exception fn threw). fn may return a value or an awaitable.
    template<class F>
    awaitable<typename detail::invoke_value<F>::type> invoke_on(unsigned target, F fn) {
        // Awaitables are named locals, not temporaries in the co_await (GCC 12; see call).
        auto work = detail::call(std::move(fn));
        if (this_shard_id() == target) {
            co_return co_await std::move(work);
        }
        auto done = asio::co_spawn(at(target).executor(), std::move(work), use_awaitable);
        co_return co_await std::move(done);
    }

    // Spawns a detached coroutine on a shard; for start-up and background fibers
    // whose lifetime is tracked elsewhere (a gate).
    template<class A>
    void spawn_on(unsigned target, A&& aw) {
        asio::co_spawn(at(target).executor(), std::forward<A>(aw), asio::detached);
    }

    // Stops every loop and joins the threads. Callers drain their work first (close
    // gates, finish in-flight requests); what is still queued here is dropped. Idempotent.
    void stop();

private:
    std::vector<std::unique_ptr<shard>> _shards;
    bool _stopped = false;
};

} // namespace chronik::runtime
