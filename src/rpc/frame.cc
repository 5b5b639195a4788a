#include "rpc/frame.h"

#include "base/assert.h"
#include "runtime/read_growing.h"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <vector>

namespace chronik::rpc {

namespace {
// A frame's buffer starts at this size and grows as its bytes arrive
// (runtime/read_growing.h).
constexpr size_t initial_alloc = 64 * 1024;
} // namespace

iobuf encode_frame(const frame_header& h, const iobuf& payload) {
    iobuf out;
    const uint64_t size = header_bytes + payload.size();
    CHRONIK_ASSERT(size <= UINT32_MAX, "rpc frame larger than 4 GiB");
    uint8_t hdr[4 + header_bytes];
    const auto put32 = [](uint8_t* p, uint32_t v) {
        p[0] = uint8_t(v >> 24);
        p[1] = uint8_t(v >> 16);
        p[2] = uint8_t(v >> 8);
        p[3] = uint8_t(v);
    };
    put32(hdr, uint32_t(size));
    put32(hdr + 4, h.correlation);
    hdr[8] = uint8_t(h.method >> 8);
    hdr[9] = uint8_t(h.method);
    hdr[10] = uint8_t(h.kind);
    hdr[11] = h.status;
    out.append(hdr, sizeof hdr);
    out.append(payload);
    return out;
}

awaitable<std::optional<frame>> read_frame(asio::ip::tcp::socket& sock, uint64_t max_frame_bytes,
                                           read_state& st) {
    uint8_t prefix[4];
    size_t got = 0;
    boost::system::error_code ec;
    st.in_frame = false;
    while (got < sizeof prefix) {
        size_t n = co_await sock.async_read_some(asio::buffer(prefix + got, sizeof prefix - got),
                                                 asio::redirect_error(use_awaitable, ec));
        if (ec) {
            co_return std::nullopt;
        }
        st.in_frame = true;
        st.progress = std::chrono::steady_clock::now();
        if (st.watcher_idle && st.wake != nullptr) {
            st.watcher_idle = false;
            st.wake->notify_all();
        }
        got += n;
    }
    const uint32_t size =
      uint32_t(prefix[0]) << 24 | uint32_t(prefix[1]) << 16 | uint32_t(prefix[2]) << 8 | uint32_t(prefix[3]);
    if (size < header_bytes || size > max_frame_bytes) {
        co_return std::nullopt;
    }
    auto on_read = [&st](size_t) { st.progress = std::chrono::steady_clock::now(); };
    auto reading = runtime::read_growing(sock, size, initial_alloc, on_read);
    auto buf = co_await std::move(reading);
    if (!buf) {
        co_return std::nullopt;
    }
    st.in_frame = false;
    const uint8_t* p = buf.get();
    frame f;
    f.header.correlation = uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
    f.header.method = uint16_t(uint16_t(p[4]) << 8 | p[5]);
    if (p[6] > uint8_t(frame_kind::response)) {
        co_return std::nullopt;
    }
    f.header.kind = frame_kind(p[6]);
    f.header.status = p[7];
    f.payload = byte_slice(buf, std::span<const uint8_t>(p + header_bytes, size - header_bytes));
    co_return f;
}

awaitable<bool> write_queued(asio::ip::tcp::socket& sock, std::deque<iobuf>& out) {
    std::vector<asio::const_buffer> bufs;
    while (!out.empty()) {
        // Everything queued goes in one gathered write: frames queued while it is
        // in the kernel go in the next one.
        std::deque<iobuf> batch;
        batch.swap(out);
        bufs.clear();
        for (const auto& b : batch) {
            b.for_each_piece([&](std::span<const uint8_t> s) { bufs.emplace_back(s.data(), s.size()); },
                             [](const byte_slice&) { CHRONIK_ASSERT(false, "rpc payloads are in memory"); });
        }
        boost::system::error_code ec;
        co_await asio::async_write(sock, bufs, asio::redirect_error(use_awaitable, ec));
        if (ec) {
            co_return false;
        }
    }
    co_return true;
}

} // namespace chronik::rpc
