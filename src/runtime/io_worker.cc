#include "runtime/io_worker.h"

#include <algorithm>

namespace chronik::runtime {

io_worker::io_worker(size_t capacity, unsigned threads) : _capacity(capacity) {
    for (unsigned i = 0; i < std::max(threads, 1u); ++i) {
        _threads.emplace_back([this] { loop(); });
    }
}

io_worker::~io_worker() {
    {
        std::lock_guard lk(_mu); // lock-ok: shutdown
        _stop = true;
    }
    _ready.notify_all();
    for (auto& t : _threads) {
        t.join();
    }
}

bool io_worker::try_submit(std::unique_ptr<job>& j) {
    std::unique_lock lk(_mu); // lock-ok: short queue critical section, no co_await inside
    if (_jobs.size() >= _capacity || _stop) {
        return false;
    }
    _jobs.push_back(std::move(j));
    lk.unlock();
    _ready.notify_one();
    return true;
}

void io_worker::loop() {
    for (;;) {
        std::unique_ptr<job> next;
        {
            std::unique_lock lk(_mu); // lock-ok: worker side of the queue
            _ready.wait(lk, [&] { return !_jobs.empty() || _stop; });
            if (_jobs.empty()) {
                return;
            }
            next = std::move(_jobs.front());
            _jobs.pop_front();
        }
        (*next)(true);
    }
}

} // namespace chronik::runtime
