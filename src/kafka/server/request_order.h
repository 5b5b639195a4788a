#pragma once
// The order in which one connection's requests take effect. Kafka promises that a
// connection's requests act in the order they were sent: two pipelined Produce
// requests for one partition are appended in that order, a commit after a join
// sees the join. Requests still run concurrently, but each one's *ordered phase*
// (everything that changes or reads state) starts only when the one before it has
// ended its own. A handler ends its phase early where only waiting remains: Produce
// once its batches are appended (the wait for durability overlaps), Fetch before
// its long-poll wait. Otherwise the phase ends with the handler. One per
// connection, on its shard; no lock.
#include "runtime/asio.h"
#include "runtime/event.h"

#include <cstdint>

namespace chronik::kafka {

class request_order {
public:
    explicit request_order(asio::any_io_executor ex) : _advanced(ex) {}

    // Waits until every request before `seq` has ended its ordered phase.
    awaitable<void> wait_turn(uint64_t seq) {
        while (_turn != seq) {
            co_await _advanced.wait();
        }
    }
    // Ends `seq`'s ordered phase; later calls for the same seq do nothing.
    void end(uint64_t seq) {
        if (_turn == seq) {
            ++_turn;
            _advanced.notify_all();
        }
    }

private:
    uint64_t _turn = 0;
    runtime::event _advanced;
};

} // namespace chronik::kafka
