#pragma once
// The internal listener (`--rpc-listen`): serves the methods registered on it to
// other nodes' connection pools. Owned by, and run on, one shard.
//
// Each connection has a reader fiber, one fiber per request being handled (at most
// `max_inflight` per connection: the reader stops reading until one finishes, which
// pushes back on the peer through TCP), and a writer that sends the answers in
// gathered writes as they complete, in any order. A frame over the limit, a
// malformed header, or a peer that stalls inside a frame for `read_timeout` closes
// the connection. Between frames a connection may stay open and silent for as long
// as the peer likes: pooled connections are long-lived and an idle one costs no
// timer.
#include "base/iobuf.h"
#include "base/result.h"
#include "rpc/frame.h"
#include "runtime/asio.h"
#include "runtime/gate.h"

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

namespace chronik::rpc {

struct server_limits {
    uint64_t max_frame_bytes = 64ULL << 20;
    uint32_t max_inflight = 256;                      // requests handled at once per connection
    std::chrono::milliseconds read_timeout{ 10'000 }; // longest stall inside a frame
};

// A method's handler: the request payload in, the answer's payload (or an error,
// which the caller sees as remote_error) out.
using handler = std::function<awaitable<result<iobuf>>(byte_slice payload)>;

class server {
public:
    server(asio::any_io_executor ex, server_limits limits);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Before listen(); a method registered twice is a programming error.
    void register_method(uint16_t method, handler h);
    // Binds and starts accepting; returns the bound address (port 0 picks one).
    result<asio::ip::tcp::endpoint> listen(const asio::ip::tcp::endpoint& at);
    // Stops accepting, closes every connection, and waits for their fibers,
    // handlers included: a handler must end by its own deadline.
    awaitable<void> stop();

    size_t connection_count() const noexcept { return _conns.size(); }

private:
    struct conn;
    awaitable<void> accept_loop(runtime::gate::holder);
    awaitable<void> serve(std::shared_ptr<conn> c, runtime::gate::holder);
    awaitable<void> handle(std::shared_ptr<conn> c, frame f, runtime::gate::holder);
    awaitable<void> watch(std::shared_ptr<conn> c, runtime::gate::holder);
    void send(const std::shared_ptr<conn>& c, iobuf frame);

    asio::any_io_executor _ex;
    server_limits _limits;
    asio::ip::tcp::acceptor _acceptor;
    std::unordered_map<uint16_t, handler> _methods;
    std::vector<std::weak_ptr<conn>> _conns;
    runtime::gate _gate;
};

} // namespace chronik::rpc
