// The brokers' side of the controller (topic_store): a node's registration, its
// producer-id blocks and the topics it creates, taken by the controller's leader,
// and forwarded to it over rpc from the other nodes of a cluster.
#include "base/endian.h"
#include "base/logger.h"
#include "cluster/topic_store.h"

#include <future>

namespace chronik::cluster {

namespace {
logger log{ "cluster" };
} // namespace

awaitable<int64_t> topic_store::allocate_producer_id() {
    _owner.check_owner("topic_store");
    if (!_pid_ready) {
        _pid_ready.emplace(co_await asio::this_coro::executor);
    }
    while (_next_pid == _pid_block_end) {
        if (_pid_allocating) {
            co_await _pid_ready->wait();
            continue;
        }
        _pid_allocating = true;
        std::optional<int64_t> new_end;
        const int32_t leader = controller_leader();
        if (leader == _self()) {
            auto block = allocate_block();
            new_end = co_await std::move(block);
        } else if (leader >= 0) {
            // The controller's leader hands out the block; this node its ids.
            auto call = _ctl.pool->call(model::node_id{ leader }, method_producer_ids, iobuf{},
                                        std::chrono::seconds(5));
            auto answer = co_await std::move(call);
            if (answer && answer.value().size() == 8) {
                new_end = load_be<int64_t>(answer.value().data());
            }
        }
        _pid_allocating = false;
        _pid_ready->notify_all();
        if (!new_end || *new_end < producer_id_block) {
            log.warn("cannot get a producer id block from the controller (leader {})", leader);
            co_return -1;
        }
        // Blocks other nodes were handed lie below new_end too.
        _next_pid = *new_end - producer_id_block;
        _pid_block_end = *new_end;
    }
    co_return _next_pid++;
}

awaitable<std::optional<int64_t>> topic_store::allocate_block() {
    // The block is committed before any id in it is handed out, so ids are never
    // reused after a crash.
    auto turn = co_await take_turn();
    const int64_t new_end = std::max(_pid_block_end, _table->producer_id_end()) + producer_id_block;
    if (co_await install(command::producer_ids, std::to_string(new_end))) {
        co_return std::nullopt;
    }
    co_return new_end;
}

awaitable<result<iobuf>> topic_store::serve_producer_ids(byte_slice) {
    _owner.check_owner("topic_store");
    auto block = allocate_block();
    auto end = co_await std::move(block);
    if (!end) {
        co_return errc::not_controller;
    }
    iobuf out;
    uint8_t b[8];
    store_be<int64_t>(b, *end);
    out.append(b, sizeof(b));
    co_return out;
}

awaitable<std::error_code> topic_store::register_broker(broker_registration r) {
    _owner.check_owner("topic_store");
    auto turn = co_await take_turn();
    auto value = topic_table().with_broker(std::move(r))->serialize();
    if (auto ec = co_await install(command::register_broker, std::move(value))) {
        co_return ec;
    }
    co_return std::error_code();
}

result<void> topic_store::register_blocking(std::string host, int32_t port, std::optional<std::string> rack,
                                            std::string& error) {
    broker_registration r;
    r.node = _self;
    r.host = std::move(host);
    r.port = port;
    r.shards = _shards.size();
    r.incarnation = random_topic_id();
    // The table's text form keeps a registration on one line, split at spaces.
    auto spaced = [](std::string_view v) { return v.empty() || v.find_first_of(" \t\n") != v.npos; };
    if (spaced(r.host) || (rack && (spaced(*rack) || *rack == "-"))) {
        error = "the advertised host and broker.rack must be non-empty and contain no spaces";
        return std::make_error_code(std::errc::invalid_argument);
    }
    r.rack = std::move(rack);
    if (_peers) {
        auto holder = _background.try_enter();
        if (holder) {
            asio::co_spawn(_shards.at(0).executor(), register_until_done(std::move(r), std::move(*holder)),
                           asio::detached);
        }
        return outcome::success();
    }
    std::promise<std::error_code> done;
    asio::co_spawn(_shards.at(0).executor(), register_broker(std::move(r)),
                   [&done](std::exception_ptr e, std::error_code ec) {
                       done.set_value(e ? std::error_code(errc::controller_unavailable) : ec);
                   });
    auto ec = done.get_future().get();
    if (ec) {
        error = "cannot register node " + std::to_string(_self()) + " with the controller: " + ec.message();
        return ec;
    }
    return outcome::success();
}

awaitable<void> topic_store::register_until_done(broker_registration r, runtime::gate::holder) {
    // Until the registration is in the table: taken here if this node leads the
    // controller, else sent to the leader. A retry every 200 ms while no majority
    // is up; it ends with start-up.
    const std::string payload = topic_table().with_broker(r)->serialize();
    asio::steady_timer wait(_shards.at(0).executor());
    bool warned = false;
    for (int attempt = 0; !_background.is_closed(); ++attempt) {
        if (auto it = _table->brokers().find(r.node()); it != _table->brokers().end() && it->second == r) {
            log.info("node {} registered with the controller (leader {})", r.node(), controller_leader());
            co_return;
        }
        const int32_t leader = controller_leader();
        if (leader == _self()) {
            auto reg = register_broker(r);
            (void)co_await std::move(reg);
        } else if (leader >= 0) {
            iobuf body;
            body.append(payload.data(), payload.size());
            auto call = _ctl.pool->call(model::node_id{ leader }, method_register_broker, std::move(body),
                                        std::chrono::seconds(5));
            (void)co_await std::move(call);
        }
        if (_table->brokers().contains(r.node()) && _table->brokers().at(r.node()) == r) {
            continue;
        }
        if (attempt == 50 && !warned) {
            warned = true;
            log.warn("node {} is not registered with the controller after 10 s: is a majority of voters up?",
                     r.node());
        }
        wait.expires_after(std::chrono::milliseconds(200));
        boost::system::error_code ec;
        co_await wait.async_wait(asio::redirect_error(use_awaitable, ec));
    }
}

awaitable<result<iobuf>> topic_store::serve_register_broker(byte_slice payload) {
    _owner.check_owner("topic_store");
    auto mini =
      topic_table::parse(std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()));
    if (!mini || mini->brokers().size() != 1) {
        co_return errc::invalid_request;
    }
    auto reg = register_broker(mini->brokers().begin()->second);
    if (auto ec = co_await std::move(reg)) {
        co_return ec;
    }
    co_return iobuf{};
}

awaitable<std::vector<std::error_code>> topic_store::forward_create(std::vector<topic_info> topics,
                                                                    int16_t replication_factor) {
    _owner.check_owner("topic_store");
    std::vector<std::error_code> out(topics.size(), errc::not_controller);
    const int32_t leader = controller_leader();
    if (leader < 0 || leader == _self() || topics.empty()) {
        co_return out;
    }
    std::vector<std::string> asked;
    for (auto& t : topics) {
        t.placement = nullptr; // the leader places them
        asked.push_back(t.name);
    }
    const auto text = topic_table().with_all(std::move(topics))->serialize();
    iobuf body;
    uint8_t rf[2];
    store_be<int16_t>(rf, replication_factor);
    body.append(rf, sizeof(rf));
    body.append(text.data(), text.size());
    auto call = _ctl.pool->call(model::node_id{ leader }, method_create_topics, std::move(body),
                                std::chrono::seconds(10));
    auto answer = co_await std::move(call);
    if (!answer) {
        std::fill(out.begin(), out.end(), std::error_code(errc::controller_unavailable));
        co_return out;
    }
    // The answers are in the order of the table's topics: by name.
    const auto& a = answer.value();
    std::vector<std::string> names;
    const auto sent = topic_table::parse(text); // held: all() points into it
    for (const auto* t : sent->all()) {
        names.push_back(t->name);
    }
    if (a.size() != 4 * names.size()) {
        std::fill(out.begin(), out.end(), std::error_code(errc::controller_unavailable));
        co_return out;
    }
    std::map<std::string, std::error_code, std::less<>> by_name;
    for (size_t i = 0; i < names.size(); ++i) {
        const auto v = load_be<int32_t>(a.data() + 4 * i);
        by_name[names[i]] = v == 0 ? std::error_code() : std::error_code(errc(v));
    }
    for (size_t i = 0; i < asked.size(); ++i) {
        if (auto it = by_name.find(asked[i]); it != by_name.end()) {
            out[i] = it->second;
        }
    }
    co_return out;
}

awaitable<result<iobuf>> topic_store::serve_create_topics(byte_slice payload) {
    _owner.check_owner("topic_store");
    if (payload.size() < 2) {
        co_return errc::invalid_request;
    }
    const auto rf = load_be<int16_t>(payload.data());
    auto table = topic_table::parse(
      std::string_view(reinterpret_cast<const char*>(payload.data()) + 2, payload.size() - 2));
    if (!table || table->size() > auto_create_batch) {
        co_return errc::invalid_request;
    }
    iobuf out;
    for (const auto* t : table->all()) {
        topic_info info = *t;
        info.placement = nullptr;
        auto made = create_here(std::move(info), rf, false, {}); // never forwarded again
        const std::error_code ec = co_await std::move(made);
        const int32_t v = !ec                                 ? 0
                          : ec.category() == error_category() ? ec.value()
                                                              : int32_t(errc::controller_unavailable);
        uint8_t b[4];
        store_be<int32_t>(b, v);
        out.append(b, sizeof(b));
    }
    co_return out;
}

} // namespace chronik::cluster
