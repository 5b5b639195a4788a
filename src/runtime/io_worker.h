#pragma once
// Runs blocking file-system calls (fsync, rename, open, unlink) off the shard
// threads (DESIGN.md principle 3). A job is queued to the worker thread and the
// awaiting coroutine resumes on its own shard with the result. The queue is
// bounded, and a shard never waits for room: a job offered to a full queue fails
// at once with io_worker::queue_full, which the caller turns into an error value.
#include "runtime/asio.h"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace chronik::runtime {

class io_worker {
public:
    struct queue_full : std::runtime_error {
        queue_full() : std::runtime_error("I/O worker queue full") {}
    };

    // `threads` > 1 runs that many jobs at once (a shard's group-commit rounds
    // overlap); jobs then may finish out of the order they were queued in.
    explicit io_worker(size_t capacity = 1024, unsigned threads = 1);
    ~io_worker();
    io_worker(const io_worker&) = delete;
    io_worker& operator=(const io_worker&) = delete;

    // Runs fn() on the worker thread; the caller resumes on its executor with the result.
    template<class F>
    awaitable<std::invoke_result_t<F&>> run(F fn) {
        using R = std::invoke_result_t<F&>;
        auto ex = co_await asio::this_coro::executor;
        // The initiation is a named local, not a temporary in the co_await: GCC 12
        // destroys such temporaries wrongly (seen as a bad free under ASan).
        auto initiation = [this, ex, fn = std::move(fn)](auto handler) mutable {
            // job(true) runs fn on the worker; job(false) reports a full queue.
            auto job = make_job([ex, fn = std::move(fn), h = std::move(handler)](bool run) mutable {
                std::exception_ptr err;
                R value{};
                if (!run) {
                    err = std::make_exception_ptr(queue_full());
                } else {
                    try {
                        value = fn();
                    } catch (...) {
                        err = std::current_exception();
                    }
                }
                asio::post(ex, [h = std::move(h), err, value = std::move(value)]() mutable {
                    std::move(h)(err, std::move(value));
                });
            });
            if (!try_submit(job)) {
                (*job)(false);
            }
        };
        co_return co_await asio::async_initiate<decltype(use_awaitable), void(std::exception_ptr, R)>(
          std::move(initiation), use_awaitable);
    }

private:
    // A move-only job (its completion handler cannot be copied).
    struct job {
        virtual ~job() = default;
        virtual void operator()(bool run) = 0;
    };
    template<class L>
    struct job_impl final : job {
        explicit job_impl(L&& l) : _l(std::move(l)) {}
        void operator()(bool run) override { _l(run); }
        L _l;
    };
    template<class L>
    static std::unique_ptr<job> make_job(L&& l) {
        return std::make_unique<job_impl<std::decay_t<L>>>(std::forward<L>(l));
    }
    // Moves the job into the queue and returns true, or leaves it and returns false.
    bool try_submit(std::unique_ptr<job>& j);
    void loop();

    size_t _capacity;
    // Guards the job queue between shard threads and the worker; never held across a co_await.
    std::mutex _mu; // lock-ok: job queue shared with the worker thread
    std::condition_variable _ready;
    std::deque<std::unique_ptr<job>> _jobs;
    bool _stop = false;
    std::vector<std::thread> _threads;
};

} // namespace chronik::runtime
