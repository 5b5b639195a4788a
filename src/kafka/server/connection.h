#pragma once
// One client connection, owned by the shard that accepted it.
//
// A reader fiber reads frames and starts one processing fiber per request, up to
// `max_inflight` ahead of the responses; the requests take effect in the order
// they were read (request_order.h), and a writer fiber sends the responses in that
// order too (Kafka clients pipeline and match responses by order). A size
// prefix larger than the frame limit, or a malformed header, closes the connection.
// A frame's buffer grows as its bytes actually arrive, so a peer that announces
// 100 MiB and sends 10 bytes costs 64 KiB, not 100 MiB.
//
// Two deadlines close connections that hold resources without using them:
//  - A partial request (from the first byte of its size prefix until its last
//    byte) must keep arriving. It has `read_timeout` from its first byte, and
//    every byte that arrives earns 1/`min_read_rate` s more, but the deadline is
//    never further than `read_timeout` past the latest arrival. So a frame of any
//    size completes if it arrives at `min_read_rate` or faster (after a head start
//    of `read_timeout`), no frame can stall for longer than `read_timeout`, and a
//    peer trickling a byte a second is closed `read_timeout` after it starts,
//    whatever size it announced. A fixed deadline for the whole frame could not
//    tell a 100 MiB frame on a slow link from a slow loris; a pure "no stall"
//    deadline would never close the loris, which does make progress. Time spent
//    waiting for the shard's request budget is ours, not the peer's: it does not
//    count.
//  - An idle connection (no request being read, none in flight, no response
//    being written) is closed after connections.max.idle.ms, as Kafka does. A
//    long-poll Fetch or a JoinGroup waiting for its group is in flight, so its
//    connection is not idle.
// Both use one timer per connection whose expiry is only pushed forward on the
// read path (a store, no timer call); when it fires it looks at the current
// expiry and re-arms itself if that is later. A connection with nothing to time
// leaves the timer unarmed, so an idle broker has no wake-ups but the idle
// deadline of each open connection.
#include "base/iobuf.h"
#include "kafka/server/request_order.h"
#include "runtime/asio.h"
#include "runtime/event.h"
#include "runtime/gate.h"

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

namespace chronik::kafka {

class broker;

class request_budget;

struct connection_limits {
    uint64_t max_frame_bytes;
    uint32_t max_inflight;
    request_budget* budget = nullptr;                 // the shard's; frames wait for room in it
    std::chrono::milliseconds read_timeout{ 30'000 }; // a partial request's head start and longest stall
    uint64_t min_read_rate = 64 * 1024;               // bytes/s that earn a partial request more time
};

class connection : public std::enable_shared_from_this<connection> {
public:
    connection(asio::ip::tcp::socket sock, broker& b, connection_limits limits);

    // Serves the connection until the peer closes, an error, or shutdown().
    awaitable<void> run();
    // Stops reading new requests; in-flight ones are answered, then the socket closes.
    void shutdown();
    // Closes the socket now; pending reads and writes fail and the fibers end.
    void force_close() { close_socket(); }

private:
    using clock = std::chrono::steady_clock;
    enum class deadline_kind { none, idle, partial };

    struct slot {
        uint64_t seq;
        bool done = false;
        bool respond = false;
        iobuf frame;
    };

    awaitable<bool> read_frame(byte_slice& out);
    awaitable<void> process(std::shared_ptr<connection> self, uint64_t seq, byte_slice frame);
    awaitable<void> write_responses();
    awaitable<bool> send_file(const byte_slice& file);
    slot* find_slot(uint64_t seq);
    void close_socket();
    // Sets what the connection is timed for, and until when (ignored for none).
    void set_deadline(deadline_kind kind, clock::time_point at);
    // A partial request received `n` more bytes: it earns more time (see above).
    void credit_partial(size_t n);
    // The reader is waiting for the first byte of a frame: idle if nothing is in flight.
    void await_frame_start();
    void on_deadline(boost::system::error_code ec);

    asio::ip::tcp::socket _sock;
    broker& _broker;
    connection_limits _limits;
    std::string _peer;
    std::string _client_host;
    std::deque<slot> _slots; // requests read and not yet answered, in order
    uint64_t _next_seq = 0;
    bool _reading = true;
    bool _failed = false;
    runtime::event _progress; // a slot finished or the reader stopped
    runtime::event _space;    // a response was written
    request_order _order;     // requests take effect in the order they were read
    asio::steady_timer _deadline;
    clock::time_point _armed = clock::time_point::max(); // the timer's expiry; max: not armed
    clock::time_point _expiry;                           // the deadline, at or after _armed
    deadline_kind _kind = deadline_kind::none;
    std::optional<clock::duration> _max_idle; // connections.max.idle.ms; none if negative
    uint64_t _waiter_key;         // this connection's fetch long-polls wait under it (broker::fetch_waiter)
    bool _awaiting_frame = false; // the reader waits for a frame's first byte
    bool _writing = false;        // the writer is sending a response
    bool _closed = false;         // run() has ended: the timer stays unarmed
};

} // namespace chronik::kafka
