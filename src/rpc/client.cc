#include "rpc/client.h"

#include "base/assert.h"
#include "base/logger.h"

#include <deque>
#include <optional>
#include <unordered_map>

namespace chronik::rpc {

namespace {
logger log{ "rpc" };
using clock = std::chrono::steady_clock;
using socket_ptr = std::shared_ptr<asio::ip::tcp::socket>;
} // namespace

struct connection_pool::waiter {
    explicit waiter(asio::any_io_executor ex) : timer(ex) {}
    asio::steady_timer timer; // the call's deadline; cancelled when the outcome is set
    std::optional<result<byte_slice>> outcome;
};

// One open connection: its own send queue, so frames queued for a later connection
// never go out on a dying one.
struct connection_pool::link {
    socket_ptr sock;
    std::deque<iobuf> out;
    bool writing = false;
};

struct connection_pool::peer {
    // Up while `conn` is set, connecting while `connecting` is, down otherwise. A
    // fiber whose socket is no longer the one held here is stale and stops.
    asio::ip::tcp::endpoint at;
    std::shared_ptr<link> conn;
    std::deque<iobuf> backlog; // frames queued while connecting
    std::unordered_map<uint32_t, std::shared_ptr<waiter>> waiting;
    uint32_t next_correlation = 0;
    std::optional<clock::time_point> last_attempt;
    socket_ptr connecting; // the socket of a connect in progress: a drop closes it
};

connection_pool::connection_pool(asio::any_io_executor ex, client_limits limits) : _ex(ex), _limits(limits) {}

connection_pool::~connection_pool() {
    CHRONIK_ASSERT(_gate.count() == 0, "rpc::connection_pool destroyed with calls running: stop() first");
}

void connection_pool::set_peer(model::node_id node, asio::ip::tcp::endpoint at) {
    auto it = _peers.find(node);
    if (it == _peers.end()) {
        auto p = std::make_shared<peer>();
        p->at = at;
        _peers.emplace(node, std::move(p));
        return;
    }
    if (it->second->at != at) {
        drop_connection(*it->second, errc::disconnected);
        it->second->at = at;
        it->second->last_attempt.reset(); // a new address is tried at once
    }
}

void connection_pool::remove_peer(model::node_id node) {
    auto it = _peers.find(node);
    if (it != _peers.end()) {
        drop_connection(*it->second, errc::unknown_peer);
        _peers.erase(it);
    }
}

size_t connection_pool::pending(model::node_id node) const {
    auto it = _peers.find(node);
    return it == _peers.end() ? 0 : it->second->waiting.size();
}

awaitable<result<byte_slice>> connection_pool::call(model::node_id node, uint16_t method, iobuf payload,
                                                    std::chrono::milliseconds timeout) {
    auto h = _gate.try_enter();
    if (!h) {
        co_return failure(errc::shutting_down);
    }
    auto it = _peers.find(node);
    if (it == _peers.end()) {
        co_return failure(errc::unknown_peer);
    }
    std::shared_ptr<peer> p = it->second;
    if (header_bytes + payload.size() > _limits.max_frame_bytes) {
        co_return failure(errc::frame_too_large);
    }
    if (p->waiting.size() >= _limits.max_pending) {
        co_return failure(errc::overloaded);
    }
    if (!p->conn && !p->connecting && p->last_attempt &&
        clock::now() - *p->last_attempt < _limits.reconnect_backoff) {
        co_return failure(errc::disconnected); // it failed a moment ago: no retry storm
    }
    uint32_t corr = ++p->next_correlation;
    while (p->waiting.contains(corr)) {
        corr = ++p->next_correlation; // after a wrap; at most max_pending steps
    }
    auto w = std::make_shared<waiter>(_ex);
    w->timer.expires_after(timeout);
    p->waiting.emplace(corr, w);
    auto frame = encode_frame({ corr, method, frame_kind::request, 0 }, payload);
    if (p->conn) {
        p->conn->out.push_back(std::move(frame));
        start_writer(p);
    } else {
        p->backlog.push_back(std::move(frame));
        if (!p->connecting) {
            start_connect(p);
        }
    }
    boost::system::error_code ec;
    co_await w->timer.async_wait(asio::redirect_error(use_awaitable, ec));
    if (w->outcome) {
        co_return std::move(*w->outcome);
    }
    // The deadline passed. A late answer finds no waiter and is dropped.
    auto wit = p->waiting.find(corr);
    if (wit != p->waiting.end() && wit->second == w) {
        p->waiting.erase(wit);
    }
    co_return failure(errc::timed_out);
}

void connection_pool::start_connect(const std::shared_ptr<peer>& p) {
    p->last_attempt = clock::now();
    ++_connects;
    p->connecting = std::make_shared<asio::ip::tcp::socket>(_ex);
    asio::co_spawn(_ex, connect(p, p->connecting, runtime::gate::holder(&_gate)), asio::detached);
}

awaitable<void> connection_pool::connect(std::shared_ptr<peer> p, socket_ptr sock, runtime::gate::holder h) {
    asio::steady_timer deadline(_ex);
    deadline.expires_after(_limits.connect_timeout);
    deadline.async_wait([sock](boost::system::error_code ec) {
        if (!ec) {
            boost::system::error_code ignored;
            sock->close(ignored); // the pending connect fails
        }
    });
    boost::system::error_code ec;
    co_await sock->async_connect(p->at, asio::redirect_error(use_awaitable, ec));
    deadline.cancel();
    if (p->connecting != sock) {
        boost::system::error_code ignored;
        sock->close(ignored); // dropped, re-addressed or stopped meanwhile
        co_return;
    }
    p->connecting.reset();
    if (ec || !sock->is_open()) {
        log.debug("rpc connect to {}:{} failed: {}", p->at.address().to_string(), p->at.port(),
                  ec ? ec.message() : "timed out");
        fail_all(*p, errc::disconnected);
        co_return;
    }
    sock->set_option(asio::ip::tcp::no_delay(true), ec);
    p->conn = std::make_shared<link>();
    p->conn->sock = sock;
    p->conn->out.swap(p->backlog);
    asio::co_spawn(_ex, read_answers(p, p->conn, runtime::gate::holder(&_gate)), asio::detached);
    start_writer(p);
    (void)h;
}

awaitable<void> connection_pool::read_answers(std::shared_ptr<peer> p, std::shared_ptr<link> l,
                                              runtime::gate::holder h) {
    read_state st;
    while (true) {
        auto f = co_await read_frame(*l->sock, _limits.max_frame_bytes, st);
        if (!f || p->conn != l) {
            break;
        }
        if (f->header.kind != frame_kind::response) {
            log.debug("closing rpc connection to {}: a request frame from the server", p->at.port());
            break;
        }
        auto it = p->waiting.find(f->header.correlation);
        if (it == p->waiting.end()) {
            continue; // its call timed out
        }
        auto w = std::move(it->second);
        p->waiting.erase(it);
        const uint8_t s = f->header.status;
        if (s == 0) {
            w->outcome = success(std::move(f->payload));
        } else if (s <= uint8_t(errc::frame_too_large)) {
            w->outcome = failure(errc(s));
        } else {
            w->outcome = failure(errc::remote_error);
        }
        w->timer.cancel();
    }
    if (p->conn == l) {
        drop_connection(*p, errc::disconnected);
    }
    (void)h;
}

void connection_pool::start_writer(const std::shared_ptr<peer>& p) {
    auto l = p->conn;
    if (!l || l->writing || l->out.empty()) {
        return;
    }
    l->writing = true;
    asio::co_spawn(
      _ex,
      [](connection_pool* self, std::shared_ptr<peer> p, std::shared_ptr<link> l,
         runtime::gate::holder) -> awaitable<void> {
          const bool ok = co_await write_queued(*l->sock, l->out);
          l->writing = false;
          if (!ok && p->conn == l) {
              self->drop_connection(*p, errc::disconnected);
          }
      }(this, p, l, runtime::gate::holder(&_gate)),
      asio::detached);
}

void connection_pool::fail_all(peer& p, errc why) {
    auto waiting = std::move(p.waiting);
    p.waiting.clear();
    p.backlog.clear();
    for (auto& [corr, w] : waiting) {
        w->outcome = failure(why);
        w->timer.cancel();
    }
}

void connection_pool::drop_connection(peer& p, errc why) {
    if (p.connecting) {
        boost::system::error_code ec;
        p.connecting->close(ec); // its connect fails now, not at connect_timeout
        p.connecting.reset();
    }
    if (p.conn) {
        boost::system::error_code ec;
        p.conn->sock->shutdown(asio::ip::tcp::socket::shutdown_both, ec);
        p.conn->sock->close(ec);
        p.conn.reset();
    }
    fail_all(p, why);
}

awaitable<void> connection_pool::stop() {
    for (auto& [node, p] : _peers) {
        drop_connection(*p, errc::shutting_down);
    }
    // No suspension since the drops: closing the gate refuses calls from here on.
    co_await _gate.close();
    _peers.clear();
}

} // namespace chronik::rpc
