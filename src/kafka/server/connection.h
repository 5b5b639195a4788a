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
#include "base/iobuf.h"
#include "kafka/server/request_order.h"
#include "runtime/asio.h"
#include "runtime/event.h"
#include "runtime/gate.h"

#include <boost/asio/ip/tcp.hpp>
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
    request_budget* budget = nullptr; // the shard's; frames wait for room in it
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
};

} // namespace chronik::kafka
