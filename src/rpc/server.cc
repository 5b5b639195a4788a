#include "rpc/server.h"

#include "base/assert.h"
#include "base/logger.h"
#include "runtime/event.h"

#include <algorithm>
#include <deque>

namespace chronik::rpc {

namespace {
logger log{ "rpc" };
} // namespace

struct server::conn {
    explicit conn(asio::ip::tcp::socket s)
      : sock(std::move(s)), slot_freed(sock.get_executor()), frame_started(sock.get_executor()),
        watchdog(sock.get_executor()) {
        reading.wake = &frame_started;
    }
    asio::ip::tcp::socket sock;
    read_state reading;
    std::deque<iobuf> out;
    bool writing = false;
    uint32_t inflight = 0;
    runtime::event slot_freed;
    runtime::event frame_started; // wakes the stall watchdog
    asio::steady_timer watchdog;

    bool closed() const { return !sock.is_open(); }
    void close() {
        if (!closed()) {
            boost::system::error_code ec;
            sock.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
            sock.close(ec);
            slot_freed.notify_all();
            frame_started.notify_all();
            watchdog.cancel();
        }
    }
};

server::server(asio::any_io_executor ex, server_limits limits) : _ex(ex), _limits(limits), _acceptor(ex) {}

server::~server() {
    CHRONIK_ASSERT(_gate.count() == 0, "rpc::server destroyed with fibers running: stop() first");
}

void server::register_method(uint16_t method, handler h) {
    CHRONIK_ASSERT(!_methods.contains(method), "rpc method registered twice");
    _methods.emplace(method, std::move(h));
}

result<asio::ip::tcp::endpoint> server::listen(const asio::ip::tcp::endpoint& at) {
    boost::system::error_code ec;
    _acceptor.open(at.protocol(), ec);
    if (!ec) {
        _acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        _acceptor.bind(at, ec);
    }
    if (!ec) {
        _acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        boost::system::error_code ignored;
        _acceptor.close(ignored);
        return failure(std::error_code(ec.value(), std::system_category()));
    }
    auto bound = _acceptor.local_endpoint(ec);
    asio::co_spawn(_ex, accept_loop(runtime::gate::holder(&_gate)), asio::detached);
    return bound;
}

awaitable<void> server::stop() {
    boost::system::error_code ec;
    _acceptor.close(ec);
    for (auto& w : _conns) {
        if (auto c = w.lock()) {
            c->close();
        }
    }
    co_await _gate.close();
    _conns.clear();
}

awaitable<void> server::accept_loop(runtime::gate::holder h) {
    while (!_gate.is_closed()) {
        boost::system::error_code ec;
        auto sock = co_await _acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
        if (ec) {
            if (ec == asio::error::operation_aborted || !_acceptor.is_open()) {
                break;
            }
            // Out of descriptors and the like: wait a moment rather than spin.
            log.warn("rpc accept failed: {}", ec.message());
            asio::steady_timer t(_ex, std::chrono::milliseconds(100));
            co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
            continue;
        }
        sock.set_option(asio::ip::tcp::no_delay(true), ec);
        auto c = std::make_shared<conn>(std::move(sock));
        std::erase_if(_conns, [](const std::weak_ptr<conn>& w) { return w.expired(); });
        _conns.push_back(c);
        asio::co_spawn(_ex, serve(c, runtime::gate::holder(&_gate)), asio::detached);
    }
    (void)h;
}

awaitable<void> server::serve(std::shared_ptr<conn> c, runtime::gate::holder h) {
    asio::co_spawn(_ex, watch(c, runtime::gate::holder(&_gate)), asio::detached);
    while (!c->closed()) {
        while (c->inflight >= _limits.max_inflight && !c->closed()) {
            co_await c->slot_freed.wait();
        }
        auto f = co_await read_frame(c->sock, _limits.max_frame_bytes, c->reading);
        if (!f) {
            break;
        }
        if (f->header.kind != frame_kind::request) {
            log.debug("closing rpc connection: a response frame sent to the server");
            break;
        }
        ++c->inflight;
        asio::co_spawn(_ex, handle(c, std::move(*f), runtime::gate::holder(&_gate)), asio::detached);
    }
    c->close();
    (void)h;
}

awaitable<void> server::watch(std::shared_ptr<conn> c, runtime::gate::holder h) {
    // Closes the connection if a frame started and made no progress for
    // read_timeout. Sleeps without a timer while no frame is being read (a frame's
    // first byte wakes it), so an idle pooled connection costs nothing.
    auto& t = c->watchdog;
    while (!c->closed()) {
        if (!c->reading.in_frame) {
            c->reading.watcher_idle = true;
            co_await c->frame_started.wait();
            continue;
        }
        t.expires_at(c->reading.progress + _limits.read_timeout);
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
        if (!c->closed() && c->reading.in_frame &&
            std::chrono::steady_clock::now() - c->reading.progress >= _limits.read_timeout) {
            log.debug("closing rpc connection: a frame stalled for {} ms", _limits.read_timeout.count());
            c->close();
        }
    }
    (void)h;
}

awaitable<void> server::handle(std::shared_ptr<conn> c, frame f, runtime::gate::holder h) {
    frame_header answer{ f.header.correlation, f.header.method, frame_kind::response, 0 };
    iobuf payload;
    auto it = _methods.find(f.header.method);
    if (it == _methods.end()) {
        answer.status = uint8_t(errc::unknown_method);
    } else {
        // A named local before co_await (GCC 12, runtime/README.md).
        auto call = it->second(std::move(f.payload));
        result<iobuf> r = co_await std::move(call);
        if (r) {
            payload = std::move(r).value();
        } else {
            answer.status = uint8_t(errc::remote_error);
        }
    }
    if (header_bytes + payload.size() > _limits.max_frame_bytes) {
        payload.clear();
        answer.status = uint8_t(errc::frame_too_large);
    }
    --c->inflight;
    c->slot_freed.notify_all();
    send(c, encode_frame(answer, payload));
    (void)h;
}

void server::send(const std::shared_ptr<conn>& c, iobuf frame) {
    if (c->closed()) {
        return;
    }
    c->out.push_back(std::move(frame));
    if (c->writing) {
        return; // the running writer takes it in its next gathered write
    }
    c->writing = true;
    asio::co_spawn(
      _ex,
      [](std::shared_ptr<conn> c, runtime::gate::holder) -> awaitable<void> {
          if (!co_await write_queued(c->sock, c->out)) {
              c->close();
          }
          c->writing = false;
      }(c, runtime::gate::holder(&_gate)),
      asio::detached);
}

} // namespace chronik::rpc
