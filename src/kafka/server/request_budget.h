#pragma once
// The bytes of request frames one shard holds between reading them and answering
// them (Kafka's queued.max.request.bytes). A connection about to read a frame's
// body waits here until the shard is under budget, so the memory requests take is
// bounded by configuration, not by how many clients send at once. One per shard,
// used only there; no lock.
#include "runtime/asio.h"
#include "runtime/event.h"

#include <algorithm>
#include <cstdint>

namespace chronik::kafka {

class request_budget {
public:
    request_budget(asio::any_io_executor ex, uint64_t capacity) : _capacity(capacity), _freed(ex) {}

    // Waits until `n` more bytes fit. A frame larger than the whole budget waits
    // until it is alone, so no frame the size limit admits can wait forever.
    awaitable<void> acquire(uint64_t n) {
        while (!fits(n)) {
            ++_waits;
            co_await _freed.wait();
        }
        _used += n;
    }
    // Whether acquire(n) would return without waiting.
    bool fits(uint64_t n) const noexcept { return _used == 0 || _used + n <= _capacity; }
    void release(uint64_t n) {
        _used -= std::min(n, _used);
        _freed.notify_all();
    }

    uint64_t used() const noexcept { return _used; }
    uint64_t capacity() const noexcept { return _capacity; }
    uint64_t waits() const noexcept { return _waits; } // times a reader had to wait

private:
    uint64_t _capacity;
    uint64_t _used = 0;
    uint64_t _waits = 0;
    runtime::event _freed;
};

} // namespace chronik::kafka
