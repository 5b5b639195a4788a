#pragma once
// The internal transport's framing, shared by both ends of a connection.
//
//   u32 size         bytes after this field: the rest of the header and the payload
//   u32 correlation  chosen by the caller, echoed in the answer
//   u16 method       what to run (requests), or the method answered (responses)
//   u8  kind         0 request, 1 response
//   u8  status       responses: 0 ok, else an rpc::errc
//   payload
//
// Big-endian, like Kafka's. A size outside [header, max_frame_bytes] closes the
// connection. Answers may come in any order; the correlation matches them.
#include "base/bytes.h"
#include "base/iobuf.h"
#include "rpc/errc.h"
#include "runtime/asio.h"
#include "runtime/event.h"

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

namespace chronik::rpc {

enum class frame_kind : uint8_t { request = 0, response = 1 };

struct frame_header {
    uint32_t correlation = 0;
    uint16_t method = 0;
    frame_kind kind = frame_kind::request;
    uint8_t status = 0;
};

inline constexpr size_t header_bytes = 8; // after the size prefix

struct frame {
    frame_header header;
    byte_slice payload; // a slice of the frame's own buffer
};

// The frame's bytes ready to send: the size prefix and header, then the payload's
// fragments linked without a copy. The payload must be in memory (no file extents).
iobuf encode_frame(const frame_header& h, const iobuf& payload);

// Reads one frame. Returns nothing when the peer closed, the socket failed, or the
// size is outside the limit (the caller then closes). `progress` is set to now on
// every read that returns bytes, so a watchdog can close a peer that stalls inside
// a frame; `in_frame` is true from a frame's first byte to its last.
// A watchdog that sleeps while no frame is being read sets `watcher_idle` and
// waits on `wake`; a frame's first byte wakes it, so an idle connection has no timer.
struct read_state {
    std::chrono::steady_clock::time_point progress{};
    bool in_frame = false;
    bool watcher_idle = false;
    runtime::event* wake = nullptr;
};
awaitable<std::optional<frame>> read_frame(asio::ip::tcp::socket& sock, uint64_t max_frame_bytes,
                                           read_state& st);

// Writes every frame queued in `out` (and those queued while it writes) in gathered
// writes until `out` is empty. Returns false if the socket failed.
awaitable<bool> write_queued(asio::ip::tcp::socket& sock, std::deque<iobuf>& out);

} // namespace chronik::rpc
