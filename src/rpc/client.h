#pragma once
// A shard's connections to other nodes: one pooled TCP connection per peer, reused
// for every call to it and never opened per request. Owned by, and used on, one
// shard.
//
// `call()` queues the request on the peer's connection (opening it if needed) and
// waits for the answer or the call's deadline, whichever comes first. Requests
// queued together leave in one gathered write. At most `max_pending` calls to one
// peer wait for answers; one more is refused at once (`overloaded`), so a slow or
// dead peer cannot make the caller's memory grow. When the connection fails every
// waiting call ends with `disconnected`; the next call reconnects, at most once per
// `reconnect_backoff`, and only while calls are waiting: a pool with nothing to
// send has no timer and no connection attempt (an idle cluster stays quiet).
#include "base/iobuf.h"
#include "base/result.h"
#include "model/model.h"
#include "rpc/frame.h"
#include "runtime/asio.h"
#include "runtime/gate.h"

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>

namespace chronik::rpc {

struct client_limits {
    uint64_t max_frame_bytes = 64ULL << 20;
    uint32_t max_pending = 1024; // unanswered calls per peer
    std::chrono::milliseconds connect_timeout{ 2'000 };
    std::chrono::milliseconds reconnect_backoff{ 100 };
};

class connection_pool {
public:
    connection_pool(asio::any_io_executor ex, client_limits limits);
    ~connection_pool();
    connection_pool(const connection_pool&) = delete;
    connection_pool& operator=(const connection_pool&) = delete;

    // Where `node` listens. A changed address closes the connection to the old one
    // (its waiting calls end with `disconnected`).
    void set_peer(model::node_id node, asio::ip::tcp::endpoint at);
    void remove_peer(model::node_id node);

    // The answer's payload, or why there is none. `timeout` bounds the whole call:
    // connecting, queueing, the peer's handling and the answer.
    awaitable<result<byte_slice>> call(model::node_id node, uint16_t method, iobuf payload,
                                       std::chrono::milliseconds timeout);

    // Ends every waiting call with `shutting_down`, closes the connections and waits
    // for their fibers. Calls after stop() fail at once.
    awaitable<void> stop();

    // For tests and metrics: connections opened so far (each reconnect counts).
    uint64_t connects() const noexcept { return _connects; }
    size_t pending(model::node_id node) const;

private:
    struct waiter;
    struct link;
    struct peer;
    void start_connect(const std::shared_ptr<peer>& p);
    awaitable<void> connect(std::shared_ptr<peer> p, std::shared_ptr<asio::ip::tcp::socket> sock,
                            runtime::gate::holder);
    awaitable<void> read_answers(std::shared_ptr<peer> p, std::shared_ptr<link> l, runtime::gate::holder);
    void start_writer(const std::shared_ptr<peer>& p);
    void fail_all(peer& p, errc why);
    void drop_connection(peer& p, errc why);

    asio::any_io_executor _ex;
    client_limits _limits;
    std::map<model::node_id, std::shared_ptr<peer>> _peers;
    runtime::gate _gate;
    uint64_t _connects = 0;
};

} // namespace chronik::rpc
