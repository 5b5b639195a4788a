#include "kafka/server/handlers/group_admin.h"

#include "base/endian.h"
#include "kafka/server/broker.h"
#include "kafka/server/groups/consumer_protocol.h"
#include "kafka/server/groups/coordinator.h"
#include "kafka/server/groups/offsets_records.h"
#include "kafka/server/handlers/routing.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace chronik::kafka {

using groups::placement;
using protocol::error_code;

namespace {

// Kafka's AclOperation codes for a GROUP: READ, DELETE, DESCRIBE (no authorizer yet).
constexpr int32_t group_operations = (1 << 3) | (1 << 6) | (1 << 8);

struct described_member {
    std::string id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::string client_host;
    bytes metadata;
    bytes assignment;
};

struct described {
    error_code error = error_code::none;
    std::string state = "Dead";
    std::string protocol_type;
    std::string protocol;
    std::vector<described_member> members;
};

awaitable<described> describe_on_shard(broker& b, placement where, std::string id) {
    described out;
    auto loading = groups::ensure_loaded(b, where);
    if (auto e = co_await std::move(loading); e != error_code::none) {
        out.error = e;
        co_return out;
    }
    const auto* g = b.groups().find(id);
    if (g == nullptr) {
        co_return out; // Kafka describes an unknown group as Dead, without an error
    }
    out.state = std::string(groups::state_name(g->state));
    out.protocol_type = g->protocol_type;
    out.protocol = g->protocol_name.value_or("");
    bool stable = g->state == groups::group_state::stable;
    for (const auto& [mid, m] : g->members) {
        auto& d = out.members.emplace_back();
        d.id = mid;
        d.instance_id = m.instance_id;
        d.client_id = m.client_id;
        d.client_host = m.client_host;
        if (stable) {
            for (const auto& [name, meta] : m.protocols) {
                if (name == out.protocol) {
                    d.metadata = meta;
                }
            }
            d.assignment = m.assignment;
        }
    }
    co_return out;
}

struct listed {
    std::string id;
    std::string protocol_type;
    std::string state;
    std::string type;
};

awaitable<std::vector<listed>> list_on_shard(broker& b, cluster::topic_info offsets) {
    std::vector<listed> out;
    for (int32_t p = 0; p < offsets.partitions; ++p) {
        if (b.owner_of(offsets, p) != b.shard()) {
            continue;
        }
        auto loading = groups::ensure_loaded(b, placement{ offsets, p, b.shard() });
        co_await std::move(loading);
    }
    for (const auto& [id, g] : b.groups().all()) {
        if (g.consumer_protocol) {
            out.push_back({ id, "consumer", groups::consumer_group_state(g), "consumer" });
        } else {
            out.push_back({ id, g.protocol_type, std::string(groups::state_name(g.state)), "classic" });
        }
    }
    co_return out;
}

awaitable<error_code> delete_on_shard(broker& b, placement where, std::string id) {
    auto loading = groups::ensure_loaded(b, where);
    if (auto e = co_await std::move(loading); e != error_code::none) {
        co_return e;
    }
    auto* g = b.groups().find(id);
    if (g == nullptr || g->state == groups::group_state::dead) {
        co_return error_code::group_id_not_found;
    }
    if (!g->members.empty() || !g->cmembers.empty() || g->state != groups::group_state::empty) {
        co_return error_code::non_empty_group;
    }
    std::vector<std::pair<std::string, int32_t>> all;
    for (const auto& [tp, _] : g->offsets) {
        all.push_back(tp);
    }
    auto deleting = groups::delete_offsets(b, where, id, all);
    auto e = co_await std::move(deleting);
    if (e == error_code::none) {
        auto forgetting = groups::store_group(b, where, id, std::nullopt);
        e = co_await std::move(forgetting);
    }
    if (e == error_code::none) {
        b.groups().erase(id);
    }
    co_return e;
}

// The topics a consumer-protocol member subscribes to (ConsumerProtocolSubscription:
// version, then an array of topic names); empty if the metadata does not parse.
std::set<std::string> subscribed_topics(std::span<const uint8_t> m) {
    std::set<std::string> out;
    if (m.size() < 6) {
        return out;
    }
    size_t pos = 2;
    int32_t n = load_be<int32_t>(m.data() + pos);
    pos += 4;
    for (int32_t i = 0; i < n && m.size() - pos >= 2; ++i) {
        int16_t len = load_be<int16_t>(m.data() + pos);
        pos += 2;
        if (len < 0 || m.size() - pos < size_t(len)) {
            break;
        }
        out.emplace(reinterpret_cast<const char*>(m.data() + pos), size_t(len));
        pos += size_t(len);
    }
    return out;
}

struct offset_delete_out {
    error_code error = error_code::none;
    std::vector<error_code> partitions;
};

awaitable<offset_delete_out> offset_delete_on_shard(broker& b, placement where, std::string id,
                                                    std::vector<std::pair<std::string, int32_t>> which) {
    offset_delete_out out;
    out.partitions.assign(which.size(), error_code::none);
    auto loading = groups::ensure_loaded(b, where);
    if (auto e = co_await std::move(loading); e != error_code::none) {
        out.error = e;
        co_return out;
    }
    auto* g = b.groups().find(id);
    if (g == nullptr || g->state == groups::group_state::dead) {
        out.error = error_code::group_id_not_found;
        co_return out;
    }
    // A topic that live members consume keeps its offsets (GROUP_SUBSCRIBED_TO_TOPIC).
    std::set<std::string> subscribed;
    for (const auto& [_, m] : g->cmembers) {
        subscribed.insert(m.subscribed.begin(), m.subscribed.end());
    }
    if (g->protocol_type == "consumer" && !g->consumer_protocol) {
        for (const auto& [_, m] : g->members) {
            for (const auto& [name, meta] : m.protocols) {
                if (name == g->protocol_name.value_or(name)) {
                    auto t = subscribed_topics(meta);
                    subscribed.insert(t.begin(), t.end());
                    break;
                }
            }
        }
    }
    std::vector<std::pair<std::string, int32_t>> doomed;
    for (size_t i = 0; i < which.size(); ++i) {
        if (subscribed.contains(which[i].first)) {
            out.partitions[i] = error_code::group_subscribed_to_topic;
        } else {
            doomed.push_back(which[i]);
        }
    }
    auto deleting = groups::delete_offsets(b, where, id, doomed);
    auto e = co_await std::move(deleting);
    if (e != error_code::none) {
        out.error = e;
    }
    co_return out;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

} // namespace

awaitable<describe_groups_handler::api::response> describe_groups_handler::handle(request_context& ctx,
                                                                                  api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    for (const auto& id : req.groups) {
        auto& out = resp.groups.emplace_back();
        out.group_id = id;
        if (req.include_authorized_operations) {
            out.authorized_operations = group_operations;
        }
        auto call = groups::at_coordinator<described, std::string>(b, id, &describe_on_shard, id);
        auto answered = co_await std::move(call);
        if (!answered) {
            out.error_code = +error_code::coordinator_not_available;
            continue;
        }
        auto& d = *answered;
        out.error_code = +d.error;
        out.group_state = d.state;
        out.protocol_type = d.protocol_type;
        out.protocol_data = d.protocol;
        for (auto& m : d.members) {
            auto& o = out.members.emplace_back();
            o.member_id = m.id;
            o.group_instance_id = m.instance_id;
            o.client_id = m.client_id;
            o.client_host = m.client_host;
            o.member_metadata = byte_slice::from(std::move(m.metadata));
            o.member_assignment = byte_slice::from(std::move(m.assignment));
        }
    }
    co_return resp;
}

awaitable<list_groups_handler::api::response> list_groups_handler::handle(request_context& ctx,
                                                                          api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    const auto* t = b.topics()->find(groups::offsets_topic);
    if (t == nullptr) {
        co_return resp; // no group has ever been used
    }
    std::set<std::string> states, types;
    for (const auto& s : req.states_filter) {
        states.insert(lower(s));
    }
    for (const auto& s : req.types_filter) {
        types.insert(lower(s));
    }

    for (unsigned s = 0; s < b.shards().size(); ++s) {
        auto call = on_shard<std::vector<listed>, cluster::topic_info>(b, s, &list_on_shard, *t);
        auto listed_here = co_await std::move(call);
        for (auto& g : listed_here) {
            if ((!states.empty() && !states.contains(lower(g.state))) ||
                (!types.empty() && !types.contains(g.type))) {
                continue;
            }
            auto& out = resp.groups.emplace_back();
            out.group_id = g.id;
            out.protocol_type = g.protocol_type;
            out.group_state = g.state;
            out.group_type = g.type;
        }
    }
    co_return resp;
}

awaitable<delete_groups_handler::api::response> delete_groups_handler::handle(request_context& ctx,
                                                                              api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    for (const auto& id : req.groups_names) {
        auto& out = resp.results.emplace_back();
        out.group_id = id;
        auto call = groups::at_coordinator<error_code, std::string>(b, id, &delete_on_shard, id);
        auto answered = co_await std::move(call);
        out.error_code = +answered.value_or(error_code::coordinator_not_available);
    }
    co_return resp;
}

awaitable<offset_delete_handler::api::response> offset_delete_handler::handle(request_context& ctx,
                                                                              api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    auto topics = b.topics();
    std::vector<std::pair<std::string, int32_t>> which;
    std::vector<std::pair<size_t, size_t>> slots;
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
            which.emplace_back(t.name, p.partition_index);
            slots.emplace_back(resp.topics.size() - 1, tr.partitions.size() - 1);
        }
    }
    auto call =
      groups::at_coordinator<offset_delete_out, std::string, std::vector<std::pair<std::string, int32_t>>>(
        b, req.group_id, &offset_delete_on_shard, req.group_id, which);
    auto answered = co_await std::move(call);
    if (!answered) {
        resp.error_code = +error_code::coordinator_not_available;
        co_return resp;
    }
    auto& r = *answered;
    resp.error_code = +r.error;
    if (r.error == error_code::none) {
        for (size_t i = 0; i < slots.size() && i < r.partitions.size(); ++i) {
            resp.topics[slots[i].first].partitions[slots[i].second].error_code = +r.partitions[i];
        }
    }
    co_return resp;
}

} // namespace chronik::kafka
