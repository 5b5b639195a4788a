#include "cluster/raft_service.h"

#include "base/logger.h"
#include "cluster/errc.h"

namespace chronik::cluster {

namespace {
logger rlog{ "raft" };
} // namespace

raft_service::raft_service(asio::any_io_executor ex, model::node_id self, rpc::connection_pool* pool,
                           raft_timing t)
  : _ex(std::move(ex)), _self(self), _pool(pool), _timing(t) {}

raft_service::~raft_service() = default;

void raft_service::add(const std::shared_ptr<partition>& p) {
    _owner.check_owner("raft_service");
    _groups[p->spec().group] = p;
    if (!_ticking && !_stopped) {
        if (auto h = _gate.try_enter()) {
            _ticking = true;
            asio::co_spawn(_ex, tick_loop(std::move(*h)), asio::detached);
        }
    }
}

void raft_service::remove(int64_t group, const partition* p) {
    _owner.check_owner("raft_service");
    auto it = _groups.find(group);
    if (it != _groups.end()) {
        auto held = it->second.lock();
        if (!held || held.get() == p) {
            _groups.erase(it);
        }
    }
}

void raft_service::send(replica_placement to, int64_t group, raft::message m) {
    _owner.check_owner("raft_service");
    if (_stopped || _pool == nullptr) {
        return;
    }
    _out[{ to.node, to.shard }].push_back({ group, std::move(m) });
    if (!_flush_posted) {
        if (auto h = _gate.try_enter()) {
            _flush_posted = true;
            asio::co_spawn(_ex, flush_soon(std::move(*h)), asio::detached);
        }
    }
}

awaitable<void> raft_service::flush_soon(runtime::gate::holder) {
    // A spawned coroutine may start at once: yield first, so the messages of this
    // turn of the loop join the frame.
    co_await asio::post(use_awaitable);
    flush();
}

void raft_service::flush() {
    _flush_posted = false;
    auto out = std::exchange(_out, {});
    for (auto& [to, msgs] : out) {
        if (_stopped) {
            return;
        }
        auto& n = _in_flight[to];
        auto h = _gate.try_enter();
        if (n >= max_frames_in_flight || !h) {
            ++_frames_dropped; // the peer is slow or gone: Raft resends what matters
            continue;
        }
        ++n;
        ++_frames_sent;
        asio::co_spawn(_ex, send_frame(to, encode_raft_messages(msgs), std::move(*h)), asio::detached);
    }
}

awaitable<void> raft_service::send_frame(destination to, iobuf frame, runtime::gate::holder) {
    auto call = _pool->call(to.first, method_for(to.second), std::move(frame), _timing.call_timeout);
    auto answer = co_await std::move(call);
    // No answer is like a lost message: the groups' timers deal with it.
    (void)answer;
    --_in_flight[to];
}

result<void> raft_service::deliver(byte_slice frame) {
    _owner.check_owner("raft_service");
    if (_stopped) {
        return outcome::success();
    }
    auto decoded = decode_raft_messages(std::move(frame));
    if (!decoded) {
        return decoded.error();
    }
    for (auto& am : decoded.value()) {
        if (am.msg.to != _self) {
            continue;
        }
        auto it = _groups.find(am.group);
        if (it == _groups.end()) {
            continue; // not (yet, or any more) here: like a lost message
        }
        if (auto p = it->second.lock()) {
            p->step(std::move(am.msg));
        } else {
            _groups.erase(it);
        }
    }
    return outcome::success();
}

awaitable<void> raft_service::tick_loop(runtime::gate::holder) {
    _tick_timer = std::make_unique<asio::steady_timer>(_ex);
    while (!_stopped && !_groups.empty()) {
        _tick_timer->expires_after(_timing.tick);
        boost::system::error_code ec;
        co_await _tick_timer->async_wait(asio::redirect_error(use_awaitable, ec));
        if (_stopped) {
            break;
        }
        // Ticking may add or remove groups (a step that ends a partition): walk a copy.
        std::vector<std::shared_ptr<partition>> live;
        live.reserve(_groups.size());
        for (auto it = _groups.begin(); it != _groups.end();) {
            if (auto p = it->second.lock()) {
                live.push_back(std::move(p));
                ++it;
            } else {
                it = _groups.erase(it);
            }
        }
        for (auto& p : live) {
            p->tick();
        }
    }
    _ticking = false;
}

awaitable<void> raft_service::stop() {
    _owner.check_owner("raft_service");
    _stopped = true;
    _out.clear();
    if (_tick_timer) {
        _tick_timer->cancel();
    }
    co_await _gate.close();
}

} // namespace chronik::cluster
