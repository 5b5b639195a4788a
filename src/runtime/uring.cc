#include "runtime/uring.h"

#include "base/assert.h"
#include "base/logger.h"

#include <cerrno>
#include <cstring>

#include <sys/eventfd.h>
#include <unistd.h>

namespace chronik::runtime {

namespace {
logger log{ "uring" };
}

std::unique_ptr<uring> uring::create(asio::any_io_executor ex, unsigned entries) {
    io_uring ring{};
    int rc = io_uring_queue_init(entries, &ring, 0);
    if (rc < 0) {
        log.info("io_uring unavailable ({}); syncs run on the I/O worker", std::strerror(-rc));
        return nullptr;
    }
    int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0) {
        log.info("eventfd failed ({}); syncs run on the I/O worker", std::strerror(errno));
        io_uring_queue_exit(&ring);
        return nullptr;
    }
    rc = io_uring_register_eventfd(&ring, efd);
    if (rc < 0) {
        log.info("io_uring eventfd registration failed ({}); syncs run on the I/O worker",
                 std::strerror(-rc));
        ::close(efd);
        io_uring_queue_exit(&ring);
        return nullptr;
    }
    return std::unique_ptr<uring>(new uring(std::move(ex), ring, efd));
}

uring::uring(asio::any_io_executor ex, io_uring ring, int efd)
  : _ex(ex), _ring(ring), _event(ex, efd), _retry(ex), _capacity(ring.sq.ring_entries) {}

uring::~uring() {
    *_alive = false;
    boost::system::error_code ec;
    _event.cancel(ec);
    _retry.cancel();
    // Syncs still in the kernel (their shard stopped without waiting) complete
    // here: their tags must be freed and the kernel must not write into a freed
    // ring. Blocking is allowed: the shard is stopping.
    while (_in_flight > 0) {
        io_uring_cqe* cqe = nullptr;
        if (io_uring_wait_cqe(&_ring, &cqe) < 0) {
            break;
        }
        auto* t = static_cast<tag*>(io_uring_cqe_get_data(cqe));
        io_uring_cqe_seen(&_ring, cqe);
        --_in_flight;
        delete t;
    }
    _event.close(ec); // closes efd
    io_uring_queue_exit(&_ring);
}

awaitable<std::vector<int>> uring::fdatasync(std::vector<int> fds) {
    auto o = std::make_shared<op>(_ex);
    o->results.assign(fds.size(), -EAGAIN);
    for (size_t i = 0; i < fds.size(); ++i) {
        if (_in_flight >= _capacity) {
            break; // bounded: the rest report -EAGAIN
        }
        io_uring_sqe* sqe = io_uring_get_sqe(&_ring);
        if (!sqe) {
            io_uring_submit(&_ring); // full submission queue: hand what is there to the kernel
            sqe = io_uring_get_sqe(&_ring);
            if (!sqe) {
                break;
            }
        }
        io_uring_prep_fsync(sqe, fds[i], IORING_FSYNC_DATASYNC);
        io_uring_sqe_set_data(sqe, new tag{ o, i });
        ++o->pending;
        ++_in_flight;
    }
    if (o->pending > 0) {
        submit();
        arm();
        while (o->pending > 0) {
            boost::system::error_code ec;
            co_await o->wake.async_wait(asio::redirect_error(use_awaitable, ec));
        }
    }
    co_return std::move(o->results);
}

void uring::arm() {
    if (_armed || _in_flight == 0) {
        return;
    }
    _armed = true;
    // A read, not a readiness wait: Asio tries it at once, so a completion signalled
    // before this call is not missed (the reactor is edge-triggered); the read also
    // resets the eventfd's count.
    _event.async_read_some(
      asio::buffer(&_signals, sizeof _signals), [this, alive = _alive](boost::system::error_code ec, size_t) {
          if (!*alive) {
              return; // the ring was destroyed; this is its cancelled read
          }
          _armed = false;
          CHRONIK_ASSERT(!ec || ec == asio::error::operation_aborted, "io_uring eventfd read failed");
          reap();
          arm();
      });
}

void uring::submit() {
    int rc = io_uring_submit(&_ring);
    if (rc >= 0 || _retry_armed) {
        return;
    }
    // The kernel is short of resources (-EAGAIN, -EBUSY, -EINTR): the entries stay
    // queued and are handed over again shortly.
    CHRONIK_ASSERT(rc == -EINTR || rc == -EAGAIN || rc == -EBUSY, "io_uring_submit failed");
    _retry_armed = true;
    _retry.expires_after(std::chrono::milliseconds(1));
    _retry.async_wait([this, alive = _alive](boost::system::error_code) {
        if (*alive) {
            _retry_armed = false;
            if (io_uring_sq_ready(&_ring) > 0) {
                submit();
            }
        }
    });
}

void uring::reap() {
    if (io_uring_sq_ready(&_ring) > 0) {
        submit();
    }
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&_ring, &cqe) == 0 && cqe) {
        auto* t = static_cast<tag*>(io_uring_cqe_get_data(cqe));
        int res = cqe->res;
        io_uring_cqe_seen(&_ring, cqe);
        --_in_flight;
        ++_completed;
        finish(t, res);
    }
}

void uring::finish(tag* t, int res) {
    std::unique_ptr<tag> owned(t);
    auto& o = *owned->o;
    o.results[owned->index] = res;
    if (--o.pending == 0) {
        o.wake.cancel();
    }
}

} // namespace chronik::runtime
