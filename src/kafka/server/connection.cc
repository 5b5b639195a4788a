#include "kafka/server/connection.h"

#include "base/logger.h"
#include "kafka/protocol/request_header.h"
#include "kafka/server/broker.h"
#include "kafka/server/dispatch.h"
#include "kafka/server/request_budget.h"
#include "runtime/read_growing.h"
#include "runtime/shard.h"

#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <vector>

#include <sys/sendfile.h>

namespace chronik::kafka {

namespace {
logger log{ "kafka" };
constexpr size_t initial_frame_alloc = 64 * 1024;

// connections.max.idle.ms; a negative value turns the idle deadline off (as in Kafka).
std::optional<std::chrono::steady_clock::duration> max_idle(const broker& b) {
    int64_t ms = b.numeric_setting("connections.max.idle.ms", 600'000);
    if (ms < 0) {
        return std::nullopt;
    }
    return std::chrono::milliseconds(ms);
}
} // namespace

connection::connection(asio::ip::tcp::socket sock, broker& b, connection_limits limits)
  : _sock(std::move(sock)), _broker(b), _limits(limits), _progress(_sock.get_executor()),
    _space(_sock.get_executor()), _order(_sock.get_executor()), _deadline(_sock.get_executor()),
    _max_idle(max_idle(b)), _waiter_key(b.new_waiter_key()) {
    boost::system::error_code ec;
    auto ep = _sock.remote_endpoint(ec);
    _peer = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
    _client_host = ec ? "/?" : "/" + ep.address().to_string();
    _sock.set_option(asio::ip::tcp::no_delay(true), ec);
    _sock.native_non_blocking(true, ec); // for sendfile (send_file)
}

void connection::shutdown() {
    _reading = false;
    boost::system::error_code ec;
    _sock.shutdown(asio::ip::tcp::socket::shutdown_receive, ec);
}

void connection::close_socket() {
    boost::system::error_code ec;
    _sock.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    _sock.close(ec);
}

void connection::set_deadline(deadline_kind kind, clock::time_point at) {
    _kind = kind;
    _expiry = at;
    if (kind == deadline_kind::none || _closed || at >= _armed) {
        return; // nothing to time, or the armed timer fires first and looks again
    }
    _armed = at;
    _deadline.expires_at(at); // cancels the earlier wait, whose handler then does nothing
    _deadline.async_wait(
      [self = shared_from_this()](boost::system::error_code ec) { self->on_deadline(ec); });
}

void connection::on_deadline(boost::system::error_code ec) {
    if (ec) {
        return; // re-armed (a later wait is pending) or cancelled by run()
    }
    _armed = clock::time_point::max();
    if (_kind == deadline_kind::none || _closed) {
        return;
    }
    if (clock::now() < _expiry) {
        set_deadline(_kind, _expiry); // pushed forward since the timer was armed
        return;
    }
    // Debug, not warn: an idle close is routine, and a peer must not be able to
    // fill the log by opening slow connections.
    if (_kind == deadline_kind::idle) {
        log.debug("closing connection from {}: idle for connections.max.idle.ms", _peer);
    } else {
        log.debug("closing connection from {}: a partial request did not arrive in time "
                  "(request_read_timeout_ms {}, request_min_read_rate_bytes {})",
                  _peer, _limits.read_timeout.count(), _limits.min_read_rate);
    }
    _kind = deadline_kind::none;
    _failed = true; // nothing more is written: the writer skips the responses left
    close_socket(); // the reader's pending read fails and run() ends
}

void connection::credit_partial(size_t n) {
    // _expiry <= the previous arrival + read_timeout <= now + read_timeout, so the
    // deadline only moves forward: no timer call here, on the produce path.
    auto now = clock::now();
    auto earned = _limits.min_read_rate == 0
                    ? clock::duration::zero()
                    : std::chrono::duration_cast<clock::duration>(
                        std::chrono::nanoseconds(uint64_t(n) * 1'000'000'000 / _limits.min_read_rate));
    _expiry = std::min(now + _limits.read_timeout, _expiry + earned);
}

void connection::await_frame_start() {
    _awaiting_frame = true;
    if (_slots.empty() && !_writing && _max_idle) {
        set_deadline(deadline_kind::idle, clock::now() + *_max_idle);
    } else {
        set_deadline(deadline_kind::none, {}); // requests in flight: not idle
    }
}

awaitable<bool> connection::read_frame(byte_slice& out) {
    // The size prefix is read with read_some rather than async_read so its first
    // byte starts the partial-request deadline: a peer that sends one byte of a
    // prefix and stops has started a request, and is not idle.
    uint8_t prefix[4];
    size_t got = 0;
    boost::system::error_code ec;
    await_frame_start();
    while (got < sizeof(prefix)) {
        size_t n = co_await _sock.async_read_some(asio::buffer(prefix + got, sizeof(prefix) - got),
                                                  asio::redirect_error(use_awaitable, ec));
        if (ec) {
            co_return false;
        }
        if (got == 0) {
            _awaiting_frame = false;
            set_deadline(deadline_kind::partial, clock::now() + _limits.read_timeout);
        }
        credit_partial(n);
        got += n;
    }
    int32_t size =
      int32_t(uint32_t(prefix[0]) << 24 | uint32_t(prefix[1]) << 16 | uint32_t(prefix[2]) << 8 | prefix[3]);
    if (size < 0 || uint64_t(size) > _limits.max_frame_bytes) {
        log.warn("closing connection from {}: frame size {} outside [0, {}]", _peer, size,
                 _limits.max_frame_bytes);
        co_return false;
    }
    // The buffer grows as bytes arrive (runtime/read_growing.h), so a peer that
    // announces a large frame and sends little cannot make us allocate much.
    if (_limits.budget != nullptr) {
        if (_limits.budget->fits(uint64_t(size))) {
            co_await _limits.budget->acquire(uint64_t(size)); // released when the request is answered
        } else {
            // Waiting for room is the shard's doing, not the peer's: the deadline
            // stops, and starts afresh when the body can be read.
            set_deadline(deadline_kind::none, {});
            co_await _limits.budget->acquire(uint64_t(size));
            set_deadline(deadline_kind::partial, clock::now() + _limits.read_timeout);
        }
    }
    auto give_back = [&] {
        if (_limits.budget != nullptr) {
            _limits.budget->release(uint64_t(size));
        }
    };
    auto on_read = [this](size_t n) { credit_partial(n); };
    auto reading = runtime::read_growing(_sock, size_t(size), initial_frame_alloc, on_read);
    auto buf = co_await std::move(reading);
    if (!buf) {
        give_back();
        co_return false;
    }
    set_deadline(deadline_kind::none, {}); // in flight now: neither partial nor idle
    out = byte_slice(buf, std::span<const uint8_t>(buf.get(), size_t(size)));
    co_return true;
}

connection::slot* connection::find_slot(uint64_t seq) {
    if (_slots.empty() || seq < _slots.front().seq) {
        return nullptr;
    }
    size_t i = size_t(seq - _slots.front().seq);
    return i < _slots.size() ? &_slots[i] : nullptr;
}

awaitable<void> connection::process(std::shared_ptr<connection> self, uint64_t seq, byte_slice frame) {
    uint64_t frame_bytes = frame.size();
    protocol::reader r(frame);
    auto hdr = protocol::decode_request_header(r);
    dispatch_outcome out{ dispatch_status::close, {} };
    co_await _order.wait_turn(seq);
    if (hdr) {
        const auto& h = hdr.value();
        request_context ctx{
            h.api_key, h.api_version, h.correlation_id, h.client_id, runtime::this_shard_id(),
            &_broker,  _client_host,  &_order,          seq,         _waiter_key
        };
        out = co_await dispatch(ctx, r);
        if (out.status == dispatch_status::close) {
            log.debug("closing connection from {}: cannot serve api {} v{}", _peer, h.api_key, h.api_version);
        }
    } else {
        log.debug("closing connection from {}: malformed request header", _peer);
    }
    _order.end(seq);
    if (slot* s = self->find_slot(seq)) {
        s->done = true;
        s->respond = out.status == dispatch_status::respond;
        s->frame = std::move(out.frame);
        if (out.status == dispatch_status::close) {
            _failed = true;
            shutdown();
        }
    }
    frame = byte_slice(); // the request's bytes are done with (handlers copy what they keep)
    if (_limits.budget != nullptr) {
        _limits.budget->release(frame_bytes);
    }
    _progress.notify_all();
}

awaitable<bool> connection::send_file(const byte_slice& file) {
    // The socket is non-blocking (set at accept): sendfile moves what the socket
    // buffer takes, and the connection waits for room in between.
    off_t offset = off_t(file.file_offset());
    size_t left = file.size();
    while (left > 0) {
        ssize_t n = ::sendfile(_sock.native_handle(), file.file_fd(), &offset, left);
        if (n > 0) {
            left -= size_t(n);
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            boost::system::error_code ec;
            co_await _sock.async_wait(asio::ip::tcp::socket::wait_write,
                                      asio::redirect_error(use_awaitable, ec));
            if (ec) {
                co_return false;
            }
            continue;
        }
        // n == 0: the file is shorter than the extent (it was cut under us); the
        // frame cannot be completed, so the connection must close.
        log.warn("closing connection to {}: sendfile stopped with {} bytes left ({})", _peer, left,
                 n < 0 ? std::strerror(errno) : "end of file");
        co_return false;
    }
    co_return true;
}

awaitable<void> connection::write_responses() {
    for (;;) {
        bool answered = false;
        while (!_slots.empty() && _slots.front().done) {
            slot s = std::move(_slots.front());
            _slots.pop_front();
            answered = true;
            _space.notify_all();
            if (!s.respond || _failed) {
                continue;
            }
            _writing = true; // not idle while a response is going out
            // Memory fragments go out in gathered writes; a file extent (records
            // read for a fetch) goes straight from the page cache with sendfile.
            std::vector<std::pair<std::vector<asio::const_buffer>, byte_slice>> runs(1);
            s.frame.for_each_piece(
              [&](std::span<const uint8_t> f) { runs.back().first.emplace_back(f.data(), f.size()); },
              [&](const byte_slice& file) {
                  runs.back().second = file;
                  runs.emplace_back();
              });
            bool ok = true;
            for (size_t i = 0; i < runs.size() && ok; ++i) {
                boost::system::error_code ec;
                if (!runs[i].first.empty()) {
                    co_await asio::async_write(_sock, runs[i].first, asio::redirect_error(use_awaitable, ec));
                }
                ok = !ec;
                if (ok && !runs[i].second.empty()) {
                    auto sent = send_file(runs[i].second);
                    ok = co_await std::move(sent);
                }
            }
            _writing = false;
            if (!ok) {
                _failed = true;
                shutdown();
            }
        }
        if (answered && _awaiting_frame && _slots.empty()) {
            await_frame_start(); // the last response is out: idle from now
        }
        if (_slots.empty() && !_reading) {
            co_return;
        }
        co_await _progress.wait();
    }
}

awaitable<void> connection::run() {
    auto self = shared_from_this();
    auto ex = _sock.get_executor();
    runtime::gate writer_done;
    asio::co_spawn(
      ex,
      [](std::shared_ptr<connection> c, runtime::gate::holder) -> awaitable<void> {
          co_await c->write_responses();
      }(self, *writer_done.try_enter()),
      asio::detached);

    while (_reading) {
        while (_reading && _slots.size() >= _limits.max_inflight) {
            co_await _space.wait();
        }
        byte_slice frame;
        if (!_reading || !co_await read_frame(frame)) {
            break;
        }
        uint64_t seq = _next_seq++;
        _slots.push_back(slot{ seq, false, false, {} });
        asio::co_spawn(ex, process(self, seq, std::move(frame)), asio::detached);
    }
    _reading = false;
    _awaiting_frame = false;
    set_deadline(deadline_kind::none, {});
    _progress.notify_all();
    co_await writer_done.close();
    // The timer's handler holds this connection: cancel it so the connection goes
    // now, and so shutdown leaves no wait pending on the shard.
    _closed = true;
    _deadline.cancel();
    close_socket();
}

} // namespace chronik::kafka
