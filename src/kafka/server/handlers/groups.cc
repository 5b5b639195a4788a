#include "kafka/server/handlers/groups.h"

#include "kafka/server/broker.h"
#include "kafka/server/groups/coordinator.h"
#include "kafka/server/groups/membership.h"

#include <algorithm>
#include <chrono>

namespace chronik::kafka {

using groups::placement;
using protocol::error_code;

namespace {

constexpr int8_t key_type_group = 0;
constexpr size_t max_metadata_bytes = 4096; // offset.metadata.max.bytes

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
struct commit_member {
    int32_t generation = -1;
    std::string member_id;
    std::optional<std::string> instance_id;
};

awaitable<error_code> commit_on_shard(broker& b, placement where, std::string group, commit_member who,
                                      std::vector<groups::offset_commit> commits) {
    auto loading = groups::ensure_loaded(b, where);
    if (auto e = co_await std::move(loading); e != error_code::none) {
        co_return e;
    }
    if (auto e = groups::check_commit(b, group, who.generation, who.member_id, who.instance_id);
        e != error_code::none) {
        co_return e;
    }
    auto commit = groups::commit_offsets(b, where, group, commits);
    co_return co_await std::move(commit);
}

struct fetched {
    error_code error = error_code::none;
    // (topic, partition) -> commit, for the whole group.
    std::vector<std::pair<std::pair<std::string, int32_t>, groups::committed_offset>> offsets;
};

awaitable<fetched> fetch_on_shard(broker& b, placement where, std::string group) {
    fetched out;
    auto loading = groups::ensure_loaded(b, where);
    if (auto e = co_await std::move(loading); e != error_code::none) {
        out.error = e;
        co_return out;
    }
    if (const auto* g = b.groups().find(group)) {
        out.offsets.assign(g->offsets.begin(), g->offsets.end());
    }
    co_return out;
}

} // namespace

awaitable<find_coordinator_handler::api::response> find_coordinator_handler::handle(request_context& ctx,
                                                                                    api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    std::vector<std::string> keys = ctx.api_version >= 4 ? req.coordinator_keys : std::vector{ req.key };
    for (const auto& key : keys) {
        auto& c = resp.coordinators.emplace_back();
        c.key = key;
        c.node_id = -1;
        c.port = -1;
        if (req.key_type != key_type_group) {
            c.error_code = +error_code::coordinator_not_available;
            c.error_message = "no transaction coordinator on this broker";
            continue;
        }
        auto placed = groups::place(b, key);
        auto where = co_await std::move(placed);
        if (!where) {
            c.error_code = +error_code::coordinator_not_available;
            continue;
        }
        // The leader of the group's offsets partition, as this node knows it (from
        // its replica, or the leader's notice); with neither, the preferred replica.
        int32_t leader = b.node_id();
        if (const auto* l = b.leadership_of(where->offsets.id, where->partition); l != nullptr) {
            leader = l->leader;
        } else if (!b.holds_replica(where->offsets, where->partition)) {
            leader = (*where->offsets.placement)[size_t(where->partition)].replicas.front().node();
        } else if (where->offsets.placement) {
            leader = -1; // not opened yet
        }
        const auto brokers = b.known_brokers();
        auto it = std::find_if(brokers.begin(), brokers.end(),
                               [&](const cluster::broker_registration& r) { return r.node() == leader; });
        if (it == brokers.end()) {
            c.error_code = +error_code::coordinator_not_available; // an election runs
            continue;
        }
        c.node_id = leader;
        c.host = it->host;
        c.port = it->port;
    }
    if (ctx.api_version < 4 && !resp.coordinators.empty()) {
        const auto& c = resp.coordinators.front();
        resp.error_code = c.error_code;
        resp.error_message = c.error_message;
        resp.node_id = c.node_id;
        resp.host = c.host;
        resp.port = c.port;
        resp.coordinators.clear();
    }
    co_return resp;
}

awaitable<offset_commit_handler::api::response> offset_commit_handler::handle(request_context& ctx,
                                                                              api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    auto topics = b.topics();
    int64_t now = now_ms();
    std::vector<groups::offset_commit> commits;
    std::vector<std::pair<size_t, size_t>> slots; // where each commit's answer goes
    for (const auto& t : req.topics) {
        auto& tr = resp.topics.emplace_back();
        tr.name = t.name;
        const auto* info = topics->find(t.name);
        for (const auto& p : t.partitions) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = p.partition_index;
            if (info == nullptr || p.partition_index < 0 || p.partition_index >= info->partitions) {
                pr.error_code = +error_code::unknown_topic_or_partition;
                continue;
            }
            if (p.committed_metadata && p.committed_metadata->size() > max_metadata_bytes) {
                pr.error_code = +error_code::offset_metadata_too_large;
                continue;
            }
            int64_t ts = ctx.api_version == 1 && p.commit_timestamp >= 0 ? p.commit_timestamp : now;
            commits.push_back(
              { t.name,
                p.partition_index,
                { p.committed_offset, p.committed_leader_epoch, p.committed_metadata.value_or(""), ts } });
            slots.emplace_back(resp.topics.size() - 1, tr.partitions.size() - 1);
        }
    }
    if (commits.empty()) {
        co_return resp;
    }
    commit_member who{ req.generation_id_or_member_epoch, req.member_id, req.group_instance_id };
    auto call =
      groups::at_coordinator<error_code, std::string, commit_member, std::vector<groups::offset_commit>>(
        b, req.group_id, &commit_on_shard, req.group_id, std::move(who), std::move(commits));
    auto done = co_await std::move(call);
    error_code err = done.value_or(error_code::coordinator_not_available);
    for (auto [t, p] : slots) {
        resp.topics[t].partitions[p].error_code = +err;
    }
    co_return resp;
}

namespace {

using fetch_request = offset_fetch_handler::api::request;

// One group's answer: the requested partitions (every committed one if `wanted`
// is null), as (topic, [(partition, commit or none)]).
struct group_answer {
    error_code error = error_code::none;
    std::vector<
      std::pair<std::string, std::vector<std::pair<int32_t, std::optional<groups::committed_offset>>>>>
      topics;
};

template<class Topics>
awaitable<group_answer> answer_group(broker& b, std::string group, const std::optional<Topics>& wanted) {
    group_answer out;
    auto call = groups::at_coordinator<fetched, std::string>(b, group, &fetch_on_shard, group);
    auto answered = co_await std::move(call);
    if (!answered) {
        out.error = error_code::coordinator_not_available;
        co_return out;
    }
    auto& got = *answered;
    if (got.error != error_code::none) {
        out.error = got.error;
        co_return out;
    }
    std::map<std::pair<std::string, int32_t>, groups::committed_offset> have(got.offsets.begin(),
                                                                             got.offsets.end());
    if (!wanted) {
        for (const auto& [tp, c] : have) {
            if (out.topics.empty() || out.topics.back().first != tp.first) {
                out.topics.emplace_back(
                  tp.first, std::vector<std::pair<int32_t, std::optional<groups::committed_offset>>>{});
            }
            out.topics.back().second.emplace_back(tp.second, c);
        }
        co_return out;
    }
    for (const auto& t : *wanted) {
        auto& entry = out.topics.emplace_back(
          t.name, std::vector<std::pair<int32_t, std::optional<groups::committed_offset>>>{});
        for (int32_t p : t.partition_indexes) {
            auto it = have.find({ t.name, p });
            entry.second.emplace_back(p, it == have.end() ? std::nullopt : std::optional(it->second));
        }
    }
    co_return out;
}

template<class Partition>
void fill(Partition& pr, int32_t index, const std::optional<groups::committed_offset>& c) {
    pr.partition_index = index;
    pr.committed_offset = c ? c->offset : -1;
    pr.committed_leader_epoch = c ? c->leader_epoch : -1;
    pr.metadata = c ? c->metadata : std::string();
    pr.error_code = 0;
}

} // namespace

awaitable<offset_fetch_handler::api::response> offset_fetch_handler::handle(request_context& ctx,
                                                                            api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    if (ctx.api_version >= 8) {
        for (const auto& g : req.groups) {
            auto& gr = resp.groups.emplace_back();
            gr.group_id = g.group_id;
            auto answering = answer_group(b, g.group_id, g.topics);
            auto a = co_await std::move(answering);
            gr.error_code = +a.error;
            for (const auto& [name, parts] : a.topics) {
                auto& tr = gr.topics.emplace_back();
                tr.name = name;
                for (const auto& [p, c] : parts) {
                    fill(tr.partitions.emplace_back(), p, c);
                }
            }
        }
        co_return resp;
    }
    // v0-1 always name topics; v2-7 may ask for everything with a null list.
    auto answering = answer_group(b, req.group_id, req.topics);
    auto a = co_await std::move(answering);
    resp.error_code = +a.error;
    for (const auto& [name, parts] : a.topics) {
        auto& tr = resp.topics.emplace_back();
        tr.name = name;
        for (const auto& [p, c] : parts) {
            auto& pr = tr.partitions.emplace_back();
            fill(pr, p, c);
            if (ctx.api_version < 2 && a.error != error_code::none) {
                pr.error_code = +a.error; // no top-level error before v2
            }
        }
    }
    if (ctx.api_version < 2 && a.error != error_code::none && req.topics) {
        for (const auto& t : *req.topics) {
            auto& tr = resp.topics.emplace_back();
            tr.name = t.name;
            for (int32_t p : t.partition_indexes) {
                auto& pr = tr.partitions.emplace_back();
                fill(pr, p, std::nullopt);
                pr.error_code = +a.error;
            }
        }
    }
    co_return resp;
}

awaitable<join_group_handler::api::response> join_group_handler::handle(request_context& ctx,
                                                                        api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    resp.member_id = req.member_id;
    resp.protocol_name = std::string();
    groups::join_args a;
    a.group = req.group_id;
    a.session_timeout_ms = req.session_timeout_ms;
    a.rebalance_timeout_ms = ctx.api_version >= 1 ? req.rebalance_timeout_ms : req.session_timeout_ms;
    a.member_id = req.member_id;
    a.instance_id = req.group_instance_id;
    a.client_id = ctx.client_id.value_or("");
    a.client_host = ctx.client_host;
    a.protocol_type = req.protocol_type;
    for (auto& p : req.protocols) {
        a.protocols.emplace_back(p.name, bytes(p.metadata.span().begin(), p.metadata.span().end()));
    }
    a.require_member_id = ctx.api_version >= 4;
    a.supports_skip_assignment = ctx.api_version >= 9;
    auto call = groups::at_coordinator<groups::join_result, groups::join_args>(
      b, req.group_id, &groups::join_group, std::move(a));
    auto answered = co_await std::move(call);
    if (!answered) {
        resp.error_code = +error_code::coordinator_not_available;
        co_return resp;
    }
    auto& r = *answered;
    resp.error_code = +r.error;
    resp.generation_id = r.generation;
    resp.member_id = r.member_id;
    resp.leader = r.leader;
    resp.skip_assignment = r.skip_assignment;
    if (r.error == error_code::none) {
        resp.protocol_type = r.protocol_type;
        resp.protocol_name = r.protocol_name;
        if (ctx.api_version < 7 && !resp.protocol_name) {
            resp.protocol_name = std::string();
        }
    }
    for (auto& m : r.members) {
        auto& out = resp.members.emplace_back();
        out.member_id = m.id;
        out.group_instance_id = m.instance_id;
        out.metadata = byte_slice::from(std::move(m.metadata));
    }
    co_return resp;
}

awaitable<sync_group_handler::api::response> sync_group_handler::handle(request_context& ctx,
                                                                        api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    resp.assignment = byte_slice();
    groups::sync_args a;
    a.group = req.group_id;
    a.generation = req.generation_id;
    a.member_id = req.member_id;
    a.instance_id = req.group_instance_id;
    a.protocol_type = req.protocol_type;
    a.protocol_name = req.protocol_name;
    for (auto& s : req.assignments) {
        a.assignments.emplace_back(s.member_id,
                                   bytes(s.assignment.span().begin(), s.assignment.span().end()));
    }
    auto call = groups::at_coordinator<groups::sync_result, groups::sync_args>(
      b, req.group_id, &groups::sync_group, std::move(a));
    auto answered = co_await std::move(call);
    if (!answered) {
        resp.error_code = +error_code::coordinator_not_available;
        co_return resp;
    }
    auto& r = *answered;
    resp.error_code = +r.error;
    resp.protocol_type = r.protocol_type;
    resp.protocol_name = r.protocol_name;
    resp.assignment = byte_slice::from(std::move(r.assignment));
    co_return resp;
}

awaitable<heartbeat_handler::api::response> heartbeat_handler::handle(request_context& ctx,
                                                                      api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    auto call =
      groups::at_coordinator<error_code, std::string, int32_t, std::string, std::optional<std::string>>(
        b, req.group_id, &groups::heartbeat, req.group_id, req.generation_id, req.member_id,
        req.group_instance_id);
    auto answered = co_await std::move(call);
    resp.error_code = +answered.value_or(error_code::coordinator_not_available);
    co_return resp;
}

awaitable<leave_group_handler::api::response> leave_group_handler::handle(request_context& ctx,
                                                                          api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    std::vector<groups::leaving> who;
    if (ctx.api_version <= 2) {
        who.push_back({ req.member_id, std::nullopt });
    } else {
        for (const auto& m : req.members) {
            who.push_back({ m.member_id, m.group_instance_id });
        }
    }
    auto call = groups::at_coordinator<std::vector<error_code>, std::string, std::vector<groups::leaving>>(
      b, req.group_id, &groups::leave_group, req.group_id, who);
    auto answered = co_await std::move(call);
    if (!answered) {
        resp.error_code = +error_code::coordinator_not_available;
        co_return resp;
    }
    auto& errors = *answered;
    if (ctx.api_version <= 2) {
        resp.error_code = +(errors.empty() ? error_code::unknown_member_id : errors.front());
        co_return resp;
    }
    for (size_t i = 0; i < who.size() && i < errors.size(); ++i) {
        auto& m = resp.members.emplace_back();
        m.member_id = who[i].member_id;
        m.group_instance_id = who[i].instance_id;
        m.error_code = +errors[i];
    }
    co_return resp;
}

} // namespace chronik::kafka
