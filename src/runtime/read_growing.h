#pragma once
// Reads a frame body whose size the peer announced into a buffer that grows as the
// bytes actually arrive: to twice its size, or to hold what the kernel has already
// received if that is more. A peer that announces a large frame and sends little
// makes us allocate about twice what it sent; a frame already in the socket buffer
// is copied out of the first `initial` bytes once, not once per doubling. Buffers
// are not zero-filled: every byte handed on was read. Shared by the Kafka listener
// and the internal transport.
#include "runtime/asio.h"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <cstring>
#include <memory>

namespace chronik::runtime {

// The `size` bytes, or null if the socket failed first. `on_read(n)` runs after
// every read that returned n > 0 bytes (deadlines use it).
template<class OnRead>
awaitable<std::shared_ptr<uint8_t[]>> read_growing(asio::ip::tcp::socket& sock, size_t size, size_t initial,
                                                   OnRead on_read) {
    size_t cap = std::min(size, initial);
    auto buf = std::make_shared_for_overwrite<uint8_t[]>(cap);
    size_t have = 0;
    while (have < size) {
        if (have == cap) {
            boost::system::error_code aec;
            size_t ready = sock.available(aec);
            size_t grown = std::min(size, std::max(cap * 2, have + (aec ? 0 : ready)));
            auto bigger = std::make_shared_for_overwrite<uint8_t[]>(grown);
            std::memcpy(bigger.get(), buf.get(), have);
            buf = std::move(bigger);
            cap = grown;
        }
        boost::system::error_code ec;
        size_t n = co_await sock.async_read_some(asio::buffer(buf.get() + have, cap - have),
                                                 asio::redirect_error(use_awaitable, ec));
        if (ec) {
            co_return nullptr;
        }
        on_read(n);
        have += n;
    }
    co_return buf;
}

} // namespace chronik::runtime
