#include "kafka/server/server.h"

#include "base/logger.h"
#include "kafka/server/connection.h"
#include "kafka/server/groups/coordinator.h"
#include "kafka/server/groups/offsets_records.h"
#include "kafka/server/request_budget.h"
#include "runtime/gate.h"

#include <algorithm>
#include <boost/asio/socket_base.hpp>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <future>
#include <unordered_set>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace chronik::kafka {

namespace {
logger log{ "kafka" };

// Runs fn on shard `s` and blocks the calling, non-shard thread until it is done.
template<class F>
auto run_blocking(runtime::shard_group& shards, unsigned s, F fn) {
    using R = decltype(fn());
    std::promise<R> p;
    auto fut = p.get_future();
    asio::post(shards.at(s).executor(), [&] {
        if constexpr (std::is_void_v<R>) {
            fn();
            p.set_value();
        } else {
            p.set_value(fn());
        }
    });
    return fut.get();
}
// The shards share their port through SO_REUSEPORT, which would let a second
// broker (same user) share it too, each taking some of the connections. Two checks
// refuse a port in use: an abstract Unix socket named after the address, which only
// one process can bind and which the kernel releases when this one exits (races
// between two starting brokers included); and a bind without SO_REUSEPORT, which
// fails while any other process listens there. Returns the claim's descriptor, or
// -1 with `error` set.
int claim_port(const asio::ip::address& addr, uint16_t port, std::string& error) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = std::strerror(errno);
        return -1;
    }
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::string name = "chronik-server-listen " + addr.to_string() + " " + std::to_string(port);
    std::memcpy(un.sun_path + 1, name.data(), std::min(name.size(), sizeof(un.sun_path) - 2));
    auto len =
      socklen_t(offsetof(sockaddr_un, sun_path) + 1 + std::min(name.size(), sizeof(un.sun_path) - 2));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&un), len) != 0) {
        error = errno == EADDRINUSE ? "another chronik-server is listening there" : std::strerror(errno);
        ::close(fd);
        return -1;
    }
    asio::ip::tcp::endpoint ep(addr, port);
    int probe = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    bool taken = probe >= 0 && ::setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
                 ::bind(probe, ep.data(), socklen_t(ep.size())) != 0 && errno == EADDRINUSE;
    if (probe >= 0) {
        ::close(probe);
    }
    if (taken) {
        error = "the address is in use by another process";
        ::close(fd);
        return -1;
    }
    return fd;
}

} // namespace

struct server::per_shard {
    per_shard(asio::any_io_executor ex, uint64_t request_bytes) : acceptor(ex), budget(ex, request_bytes) {}
    asio::ip::tcp::acceptor acceptor;
    request_budget budget;
    runtime::gate connections;
    std::unordered_set<std::shared_ptr<connection>> live;
};

server::server(const runtime::config& cfg, runtime::shard_group& shards, cluster::topic_store& store,
               std::vector<cluster::raft_service*> raft)
  : _cfg(cfg), _shards(shards) {
    int64_t check_ms = 300000;
    if (auto it = cfg.kafka.find("log.retention.check.interval.ms"); it != cfg.kafka.end()) {
        check_ms = std::stoll(it->second);
    }
    for (unsigned i = 0; i < shards.size(); ++i) {
        // One post per shard with the keys of its waiters to wake.
        auto wake = [this](std::vector<storage::watcher> ws) {
            std::sort(ws.begin(), ws.end(), [](const auto& a, const auto& b) { return a.shard < b.shard; });
            for (size_t i = 0; i < ws.size();) {
                unsigned s = ws[i].shard;
                std::vector<uint64_t> keys;
                for (; i < ws.size() && ws[i].shard == s; ++i) {
                    keys.push_back(ws[i].key);
                }
                asio::post(_shards.at(s).executor(),
                           [this, s, keys = std::move(keys)] { _brokers[s]->wake_fetchers(keys); });
            }
        };
        // A thread for each group-commit round that may run at once.
        _io.push_back(std::make_unique<runtime::io_worker>(1024, unsigned(storage::log_manager::max_rounds)));
        auto logs = std::make_unique<storage::log_manager>(cfg.data_dir, *_io.back(),
                                                           storage::file_ops::real(), shards.at(i).executor(),
                                                           wake, std::chrono::milliseconds(check_ms));
        _rings.push_back(runtime::uring::create(shards.at(i).executor()));
        logs->use_ring(_rings.back().get()); // null: the worker syncs too
        _brokers.push_back(std::make_unique<broker>(cfg, shards, i, store, std::move(logs),
                                                    i < raft.size() ? raft[i] : nullptr));
        _per_shard.push_back(std::make_unique<per_shard>(shards.at(i).executor(), cfg.request_memory_bytes));
    }
    for (auto& b : _brokers) {
        b->set_peers(&_brokers);
    }
}

server::~server() {
    if (_port_claim >= 0) {
        ::close(_port_claim);
    }
}

namespace {

awaitable<void> serve_connection(std::shared_ptr<connection> c, runtime::gate::holder,
                                 std::unordered_set<std::shared_ptr<connection>>& live) {
    try {
        co_await c->run();
    } catch (const std::exception& e) {
        log.error("connection failed: {}", e.what());
    }
    live.erase(c);
}

awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, runtime::gate& gate,
                            std::unordered_set<std::shared_ptr<connection>>& live, broker& b,
                            connection_limits limits, uint32_t max_connections) {
    for (;;) {
        boost::system::error_code ec;
        auto sock = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            // EMFILE and friends: back off briefly rather than spin.
            log.warn("accept failed: {}", ec.message());
            asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(50));
            co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
            continue;
        }
        auto holder = gate.try_enter();
        if (!holder || live.size() >= max_connections) {
            sock.close(ec);
            continue;
        }
        auto c = std::make_shared<connection>(std::move(sock), b, limits);
        live.insert(c);
        asio::co_spawn(acceptor.get_executor(), serve_connection(c, std::move(*holder), live),
                       asio::detached);
    }
}

} // namespace

result<uint16_t> server::start(std::string& error) {
    auto colon = _cfg.listen.rfind(':');
    std::string host = _cfg.listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    uint16_t port = uint16_t(std::stoi(_cfg.listen.substr(colon + 1)));
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) {
        error = "cannot parse listen address '" + host + "': " + ec.message();
        return std::make_error_code(std::errc::invalid_argument);
    }
    if (port != 0) {
        std::string why;
        _port_claim = claim_port(addr, port, why);
        if (_port_claim < 0) {
            error = "cannot listen on " + _cfg.listen + ": " + why;
            return std::make_error_code(std::errc::address_in_use);
        }
    }
    connection_limits limits{ _cfg.max_frame_bytes, _cfg.max_inflight_requests_per_connection, nullptr,
                              _cfg.request_read_timeout, _cfg.request_min_read_rate };
    for (unsigned i = 0; i < _shards.size(); ++i) {
        std::string err = run_blocking(_shards, i, [&]() -> std::string {
            auto& acc = _per_shard[i]->acceptor;
            boost::system::error_code e;
            asio::ip::tcp::endpoint ep(addr, port);
            acc.open(ep.protocol(), e);
            if (!e) {
                acc.set_option(asio::socket_base::reuse_address(true), e);
            }
            if (!e) {
                int one = 1;
                if (::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
                    e = boost::system::error_code(errno, boost::system::system_category());
                }
            }
            if (!e) {
                acc.bind(ep, e);
            }
            if (!e) {
                acc.listen(asio::socket_base::max_listen_connections, e);
            }
            if (e) {
                return e.message();
            }
            port = acc.local_endpoint().port();
            // Clients are told the address they can reach: the advertised one, with
            // the port actually bound when the listener asked for port 0.
            auto adv = _cfg.advertised_listener;
            auto c = adv.rfind(':');
            int32_t adv_port = std::stoi(adv.substr(c + 1));
            _brokers[i]->set_advertised({ adv.substr(0, c), adv_port == 0 ? int32_t(port) : adv_port });
            _brokers[i]->set_listener({ _cfg.listen.substr(0, colon), int32_t(port) });
            auto& ps = *_per_shard[i];
            connection_limits shard_limits = limits;
            shard_limits.budget = &ps.budget;
            asio::co_spawn(
              acc.get_executor(),
              accept_loop(acc, ps.connections, ps.live, *_brokers[i], shard_limits, _cfg.max_connections),
              asio::detached);
            return {};
        });
        if (!err.empty()) {
            error = "cannot listen on " + _cfg.listen + ": " + err;
            return std::make_error_code(std::errc::address_in_use);
        }
    }
    return port;
}

void server::stop() {
    // Background auto-creation stops too (after the batch it is storing), in
    // parallel with the connections' drain.
    auto background = std::make_shared<std::promise<void>>();
    auto background_stopped = background->get_future();
    asio::co_spawn(
      _shards.at(0).executor(),
      [](cluster::topic_store& store, std::shared_ptr<std::promise<void>> done) -> awaitable<void> {
          co_await store.stop();
          done->set_value();
      }(_brokers[0]->topic_store_on_shard0(), background),
      asio::detached);
    std::vector<std::future<void>> drained;
    for (unsigned i = 0; i < _shards.size(); ++i) {
        auto p = std::make_shared<std::promise<void>>();
        drained.push_back(p->get_future());
        asio::co_spawn(
          _shards.at(i).executor(),
          [](per_shard& ps, std::shared_ptr<std::promise<void>> done) -> awaitable<void> {
              boost::system::error_code ec;
              ps.acceptor.close(ec);
              for (auto& c : ps.live) {
                  c->shutdown();
              }
              co_await ps.connections.close();
              done->set_value();
          }(*_per_shard[i], p),
          asio::detached);
    }
    for (auto& f : drained) {
        wait_or_force_close(f);
    }
    background_stopped.wait();
    // Every append is answered or abandoned now: run the last group commit.
    std::vector<std::future<void>> closed;
    for (unsigned i = 0; i < _shards.size(); ++i) {
        auto p = std::make_shared<std::promise<void>>();
        closed.push_back(p->get_future());
        asio::co_spawn(
          _shards.at(i).executor(),
          [](broker& b, std::shared_ptr<std::promise<void>> done) -> awaitable<void> {
              co_await b.stop_reconciling();
              co_await b.logs().close();
              done->set_value();
          }(*_brokers[i], p),
          asio::detached);
    }
    for (auto& f : closed) {
        f.wait();
    }
}

void server::load_groups() {
    // Partitions open as the table places them (broker::set_topics); groups come
    // back at start-up too, so restored members' sessions run (and expire) even if
    // no client asks about their group.
    for (unsigned i = 0; i < _shards.size(); ++i) {
        asio::co_spawn(
          _shards.at(i).executor(),
          [](broker& b) -> awaitable<void> {
              auto table = b.topics();
              if (const auto* offsets = table->find(groups::offsets_topic)) {
                  for (int32_t p = 0; p < offsets->partitions; ++p) {
                      if (b.owner_of(*offsets, p) == b.shard()) {
                          auto loading =
                            groups::ensure_loaded(b, groups::placement{ *offsets, p, b.shard() });
                          co_await std::move(loading);
                      }
                  }
              }
          }(*_brokers[i]),
          asio::detached);
    }
}

void server::wait_or_force_close(std::future<void>& f) {
    // A peer that never reads its responses must not hold up shutdown forever. Half
    // of main's shutdown bound, so the forced close has time to finish before it.
    if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
        log.warn("connections still open after 5 s; closing them");
        for (unsigned i = 0; i < _shards.size(); ++i) {
            run_blocking(_shards, i, [&] {
                for (auto& c : _per_shard[i]->live) {
                    c->force_close();
                }
            });
        }
        f.wait();
    }
}

} // namespace chronik::kafka
