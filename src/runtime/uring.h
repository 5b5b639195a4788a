#pragma once
// One shard's io_uring, for the group commit's fdatasyncs (DESIGN.md principle 3).
//
// A sync handed to the I/O worker costs two thread hand-offs: a futex wake of the
// worker, then a post back that wakes the shard. Through the ring the shard
// submits the syncs itself (one io_uring_enter for a whole round) and the kernel
// signals an eventfd that the shard's reactor watches when they complete; nothing
// in user space runs off the shard. Measured on the project VM: the hand-offs were
// ~100 us of a ~300 us group-commit round.
//
// Used only from its own shard's thread (no lock). Bounded: at most `entries`
// syncs in flight; beyond that a call fails at once with -EAGAIN, which the
// caller retries as it does a full I/O worker queue. If the kernel refuses
// io_uring (disabled by sysctl or seccomp), create() returns null and the caller
// keeps using the I/O worker.
#include "runtime/asio.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include <liburing.h>

namespace chronik::runtime {

class uring {
public:
    // Null if this kernel or sandbox refuses io_uring (the reason is logged once).
    static std::unique_ptr<uring> create(asio::any_io_executor ex, unsigned entries = 256);
    ~uring();
    uring(const uring&) = delete;
    uring& operator=(const uring&) = delete;

    // fdatasync of every fd, all submitted at once and run concurrently by the
    // kernel; one result per fd: 0 or -errno (-EAGAIN for those that found the
    // ring full). Resumes on this shard when the last one completes.
    awaitable<std::vector<int>> fdatasync(std::vector<int> fds);

    size_t in_flight() const noexcept { return _in_flight; }
    // Syncs completed so far (a test proves the group commit uses the ring).
    uint64_t completed() const noexcept { return _completed; }

private:
    // One fdatasync() call: the coroutine waits on `wake` until pending is 0.
    struct op {
        explicit op(asio::any_io_executor ex) : wake(ex, std::chrono::steady_clock::time_point::max()) {}
        std::vector<int> results;
        size_t pending = 0;
        asio::steady_timer wake;
    };
    // A submitted sync's user_data; owns its share of the op, so an op outlives a
    // coroutine destroyed while its syncs are still in the kernel.
    struct tag {
        std::shared_ptr<op> o;
        size_t index;
    };

    uring(asio::any_io_executor ex, io_uring ring, int efd); // takes the eventfd
    // Hands queued entries to the kernel, retrying on a timer if it is short of resources.
    void submit();
    // Starts the eventfd wait if syncs are in flight and none is pending.
    void arm();
    // Completes every finished sync.
    void reap();
    void finish(tag* t, int res);

    asio::any_io_executor _ex;
    io_uring _ring;
    asio::posix::stream_descriptor _event;
    asio::steady_timer _retry;
    bool _retry_armed = false;
    size_t _capacity;
    uint64_t _signals = 0; // the eventfd's count, read into and ignored
    size_t _in_flight = 0;
    uint64_t _completed = 0;
    bool _armed = false;
    std::shared_ptr<bool> _alive = std::make_shared<bool>(true); // false once destroyed
};

} // namespace chronik::runtime
