#include "kafka/server/handlers/consumer_groups.h"

#include "kafka/server/broker.h"
#include "kafka/server/groups/consumer_protocol.h"

namespace chronik::kafka {

using protocol::error_code;

namespace {

constexpr int32_t group_operations = (1 << 3) | (1 << 6) | (1 << 8); // READ, DELETE, DESCRIBE

} // namespace

awaitable<consumer_group_heartbeat_handler::api::response> consumer_group_heartbeat_handler::handle(
  request_context& ctx, api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    auto topics = b.topics();
    groups::cg_heartbeat_args a;
    a.group = req.group_id;
    a.member_id = req.member_id;
    a.member_epoch = req.member_epoch;
    a.instance_id = req.instance_id;
    a.rack_id = req.rack_id;
    a.rebalance_timeout_ms = req.rebalance_timeout_ms;
    a.subscribed = req.subscribed_topic_names;
    a.assignor = req.server_assignor;
    a.client_id = ctx.client_id.value_or("");
    a.client_host = ctx.client_host;
    if (req.topic_partitions) {
        groups::assignment_map owned;
        for (const auto& tp : *req.topic_partitions) {
            if (const auto* info = topics->find(tp.topic_id)) { // partitions of deleted topics are gone
                owned[info->name].insert(tp.partitions.begin(), tp.partitions.end());
            }
        }
        a.owned = std::move(owned);
    }
    auto call = groups::at_coordinator<groups::cg_heartbeat_result, groups::cg_heartbeat_args>(
      b, req.group_id, &groups::consumer_heartbeat, std::move(a));
    auto answered = co_await std::move(call);
    if (!answered) {
        resp.error_code = +error_code::coordinator_not_available;
        co_return resp;
    }
    auto& r = *answered;
    resp.error_code = +r.error;
    resp.error_message = r.message;
    if (!r.member_id.empty()) {
        resp.member_id = r.member_id;
    }
    resp.member_epoch = r.member_epoch;
    resp.heartbeat_interval_ms = r.heartbeat_interval_ms;
    if (r.assignment) {
        auto& out = resp.assignment.emplace();
        for (const auto& [name, ps] : *r.assignment) {
            const auto* info = topics->find(name);
            if (info == nullptr || ps.empty()) {
                continue;
            }
            auto& tp = out.topic_partitions.emplace_back();
            tp.topic_id = info->id;
            tp.partitions.assign(ps.begin(), ps.end());
        }
    }
    co_return resp;
}

awaitable<consumer_group_describe_handler::api::response> consumer_group_describe_handler::handle(
  request_context& ctx, api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    auto topics = b.topics();
    auto convert = [&](const groups::assignment_map& a) {
        protocol::consumer_group_describe_response_data::Assignment out;
        for (const auto& [name, ps] : a) {
            const auto* info = topics->find(name);
            if (info == nullptr || ps.empty()) {
                continue;
            }
            auto& tp = out.topic_partitions.emplace_back();
            tp.topic_id = info->id;
            tp.topic_name = name;
            tp.partitions.assign(ps.begin(), ps.end());
        }
        return out;
    };
    for (const auto& id : req.group_ids) {
        auto& g = resp.groups.emplace_back();
        g.group_id = id;
        if (req.include_authorized_operations) {
            g.authorized_operations = group_operations;
        }
        auto call =
          groups::at_coordinator<groups::cg_view, std::string>(b, id, &groups::describe_consumer_group, id);
        auto answered = co_await std::move(call);
        if (!answered) {
            g.error_code = +error_code::coordinator_not_available;
            continue;
        }
        auto& v = *answered;
        g.error_code = +v.error;
        g.group_state = v.state;
        g.group_epoch = v.group_epoch;
        g.assignment_epoch = v.assignment_epoch;
        g.assignor_name = v.assignor;
        for (const auto& m : v.members) {
            auto& o = g.members.emplace_back();
            o.member_id = m.id;
            o.instance_id = m.instance_id;
            o.rack_id = m.rack_id;
            o.member_epoch = m.epoch;
            o.client_id = m.client_id;
            o.client_host = m.client_host;
            o.subscribed_topic_names = m.subscribed;
            o.assignment = convert(m.assigned);
            o.target_assignment = convert(m.target);
        }
    }
    co_return resp;
}

} // namespace chronik::kafka
