#include "kafka/server/groups/consumer_protocol.h"

#include "base/logger.h"
#include "cluster/topic_table.h"
#include "kafka/server/groups/membership.h"

#include <algorithm>

namespace chronik::kafka::groups {

using protocol::error_code;

namespace {

logger log{ "groups" };

int32_t setting(const broker& b, std::string_view name, int32_t fallback) {
    auto n = b.numeric_setting(name, fallback);
    return n > 0 && n <= INT32_MAX ? int32_t(n) : fallback;
}

size_t count(const assignment_map& a) {
    size_t n = 0;
    for (const auto& [_, ps] : a) {
        n += ps.size();
    }
    return n;
}

bool holds(const assignment_map& a, const std::string& topic, int32_t p) {
    auto it = a.find(topic);
    return it != a.end() && it->second.contains(p);
}

assignment_map minus(const assignment_map& a, const assignment_map& b) {
    assignment_map out;
    for (const auto& [t, ps] : a) {
        for (int32_t p : ps) {
            if (!holds(b, t, p)) {
                out[t].insert(p);
            }
        }
    }
    return out;
}

assignment_map intersect(const assignment_map& a, const assignment_map& b) {
    assignment_map out;
    for (const auto& [t, ps] : a) {
        for (int32_t p : ps) {
            if (holds(b, t, p)) {
                out[t].insert(p);
            }
        }
    }
    return out;
}

void recompute_targets(broker& b, group& g) {
    std::map<std::string, int32_t> partitions;
    std::vector<assignor_member> members;
    auto topics = b.topics();
    for (const auto& [id, m] : g.cmembers) {
        members.push_back({ id, m.subscribed, m.target });
        for (const auto& t : m.subscribed) {
            if (const auto* info = topics->find(t); info != nullptr && t != offsets_topic) {
                partitions[t] = info->partitions;
            }
        }
    }
    auto targets =
      g.assignor == "range" ? assign_range(members, partitions) : assign_uniform(members, partitions);
    for (auto& [id, m] : g.cmembers) {
        m.target = targets[id];
    }
    g.assignment_epoch = g.group_epoch;
}

// What the member may have now: if it still holds partitions it must give up, only
// what it may keep; else its whole target minus what others have not let go yet.
void reconcile(group& g, consumer_member& m) {
    const assignment_map& holding = m.told ? m.owned : m.assigned;
    auto must_go = minus(holding, m.target);
    if (!must_go.empty()) {
        m.assigned = intersect(m.assigned, m.target);
        return;
    }
    assignment_map taken;
    for (const auto& [oid, o] : g.cmembers) {
        if (oid == m.id) {
            continue;
        }
        for (const auto* a : { &o.owned, &o.assigned }) {
            for (const auto& [t, ps] : *a) {
                taken[t].insert(ps.begin(), ps.end());
            }
        }
    }
    m.assigned = minus(m.target, taken);
    if (m.epoch != g.assignment_epoch) {
        m.previous_epoch = m.epoch;
        m.epoch = g.assignment_epoch;
    }
}

cg_heartbeat_result refuse(error_code e, std::string why, std::string member_id = {}) {
    cg_heartbeat_result r;
    r.error = e;
    r.message = std::move(why);
    r.member_id = std::move(member_id);
    return r;
}

} // namespace

std::map<std::string, assignment_map> assign_range(const std::vector<assignor_member>& members,
                                                   const std::map<std::string, int32_t>& partitions) {
    std::map<std::string, assignment_map> out;
    for (const auto& [topic, n] : partitions) {
        std::vector<std::string> subs;
        for (const auto& m : members) {
            if (std::find(m.subscribed.begin(), m.subscribed.end(), topic) != m.subscribed.end()) {
                subs.push_back(m.id);
            }
        }
        std::sort(subs.begin(), subs.end());
        if (subs.empty()) {
            continue;
        }
        int32_t each = n / int32_t(subs.size()), extra = n % int32_t(subs.size()), next = 0;
        for (size_t i = 0; i < subs.size(); ++i) {
            int32_t take = each + (int32_t(i) < extra ? 1 : 0);
            for (int32_t k = 0; k < take; ++k) {
                out[subs[i]][topic].insert(next++);
            }
        }
    }
    return out;
}

std::map<std::string, assignment_map> assign_uniform(const std::vector<assignor_member>& members,
                                                     const std::map<std::string, int32_t>& partitions) {
    std::map<std::string, assignment_map> out;
    std::map<std::string, size_t> load;
    auto eligible = [&](const assignor_member& m, const std::string& topic) {
        return std::find(m.subscribed.begin(), m.subscribed.end(), topic) != m.subscribed.end();
    };
    size_t total = 0;
    for (const auto& [_, n] : partitions) {
        total += size_t(n);
    }
    // Each member keeps at most an even share (rounded down); the remainder goes to
    // the least loaded, so a newcomer gets its share at once.
    size_t quota = members.empty() ? 0 : std::max<size_t>(1, total / members.size());
    for (const auto& m : members) {
        load[m.id] = 0;
    }
    // Sticky: a member keeps what it had, up to an even share.
    std::set<std::pair<std::string, int32_t>> placed;
    for (const auto& m : members) {
        for (const auto& [topic, ps] : m.previous) {
            auto it = partitions.find(topic);
            if (it == partitions.end() || !eligible(m, topic)) {
                continue;
            }
            for (int32_t p : ps) {
                if (p < it->second && load[m.id] < quota && placed.emplace(topic, p).second) {
                    out[m.id][topic].insert(p);
                    ++load[m.id];
                }
            }
        }
    }
    // The rest, each to the least loaded member that subscribes to its topic; topics
    // few members can take go first, so the others can even out the load.
    std::vector<std::pair<size_t, std::string>> order;
    for (const auto& entry : partitions) {
        const std::string& topic = entry.first;
        size_t takers = size_t(std::count_if(members.begin(), members.end(),
                                             [&](const assignor_member& m) { return eligible(m, topic); }));
        order.emplace_back(takers, topic);
    }
    std::sort(order.begin(), order.end());
    for (const auto& [_, topic] : order) {
        int32_t n = partitions.at(topic);
        for (int32_t p = 0; p < n; ++p) {
            if (placed.contains({ topic, p })) {
                continue;
            }
            // The least loaded taker; among equals, the one that had it before.
            const assignor_member* best = nullptr;
            for (const auto& m : members) {
                if (!eligible(m, topic)) {
                    continue;
                }
                bool had = holds(m.previous, topic, p);
                if (best == nullptr || load[m.id] < load[best->id] ||
                    (load[m.id] == load[best->id] && had && !holds(best->previous, topic, p))) {
                    best = &m;
                }
            }
            if (best != nullptr) {
                out[best->id][topic].insert(p);
                ++load[best->id];
            }
        }
    }
    return out;
}

std::string consumer_group_state(const group& g) {
    if (g.cmembers.empty()) {
        return "Empty";
    }
    if (g.group_epoch > g.assignment_epoch) {
        return "Assigning";
    }
    for (const auto& [_, m] : g.cmembers) {
        if (m.epoch != g.assignment_epoch || m.assigned != m.target) {
            return "Reconciling";
        }
    }
    return "Stable";
}

bool expire_consumer_members(group& g, clock::time_point now) {
    bool gone = false;
    for (auto it = g.cmembers.begin(); it != g.cmembers.end();) {
        if (it->second.deadline <= now) {
            log.info("group {}: member {} session expired; removed", g.id, it->first);
            it = g.cmembers.erase(it);
            gone = true;
        } else {
            ++it;
        }
    }
    if (gone) {
        ++g.group_epoch;
    }
    return gone;
}

error_code check_consumer_commit(const group& g, int32_t epoch, std::string_view member_id) {
    if (member_id.empty() && epoch < 0) {
        return g.cmembers.empty() ? error_code::none : error_code::unknown_member_id;
    }
    auto it = g.cmembers.find(member_id);
    if (it == g.cmembers.end()) {
        return error_code::unknown_member_id;
    }
    return epoch == it->second.epoch ? error_code::none : error_code::stale_member_epoch;
}

awaitable<cg_heartbeat_result> consumer_heartbeat(broker& b, placement where, cg_heartbeat_args a) {
    if (a.group.empty()) {
        co_return refuse(error_code::invalid_request, "GroupId can't be empty");
    }
    if (a.assignor && *a.assignor != "uniform" && *a.assignor != "range") {
        co_return refuse(error_code::unsupported_assignor, "assignors: uniform, range");
    }
    auto loading = ensure_loaded(b, where);
    if (auto e = co_await std::move(loading); e != error_code::none) {
        co_return refuse(e, "the group is not loaded");
    }
    group& g = b.groups().get_or_create(a.group, where.partition);
    if (!g.consumer_protocol) {
        if (!g.members.empty() || g.state != group_state::empty) {
            co_return refuse(error_code::group_id_not_found, "group " + a.group + " is a classic group");
        }
        g.consumer_protocol = true; // an empty classic group (offsets only) converts
        g.protocol_type = "consumer";
    }
    auto now = clock::now();
    auto session = std::chrono::milliseconds(setting(b, "group.consumer.session.timeout.ms", 45000));
    cg_heartbeat_result out;
    out.heartbeat_interval_ms = setting(b, "group.consumer.heartbeat.interval.ms", 5000);

    if (a.member_epoch == -1 || a.member_epoch == -2) {
        if (g.cmembers.erase(a.member_id) == 0) {
            co_return refuse(error_code::unknown_member_id, "unknown member", a.member_id);
        }
        ++g.group_epoch;
        log.info("group {}: member {} left", g.id, a.member_id);
        out.member_id = a.member_id;
        out.member_epoch = a.member_epoch;
        co_return out;
    }
    if (a.member_epoch == 0) {
        if (!a.subscribed) {
            co_return refuse(error_code::invalid_request, "SubscribedTopicNames must be set when joining");
        }
        if (a.member_id.empty()) {
            a.member_id = cluster::random_topic_id().to_string();
        }
        if (a.instance_id) {
            for (auto it = g.cmembers.begin(); it != g.cmembers.end(); ++it) {
                if (it->second.instance_id == a.instance_id && it->first != a.member_id) {
                    g.cmembers.erase(it); // the instance came back: its old member is replaced
                    break;
                }
            }
        }
        auto& m = g.cmembers[a.member_id];
        m = consumer_member{};
        m.id = a.member_id;
        m.instance_id = a.instance_id;
        m.rack_id = a.rack_id;
        m.client_id = a.client_id;
        m.client_host = a.client_host;
        m.rebalance_timeout_ms = a.rebalance_timeout_ms;
        m.subscribed = *a.subscribed;
        ++g.group_epoch;
        log.info("group {}: member {} joined (consumer protocol)", g.id, m.id);
    } else {
        auto it = g.cmembers.find(a.member_id);
        if (it == g.cmembers.end()) {
            co_return refuse(error_code::unknown_member_id, "unknown member", a.member_id);
        }
        auto& m = it->second;
        // The previous epoch is accepted once: the answer that raised it may be lost.
        if (a.member_epoch != m.epoch && a.member_epoch != m.previous_epoch) {
            co_return refuse(error_code::fenced_member_epoch,
                             "epoch " + std::to_string(a.member_epoch) + " is not " + std::to_string(m.epoch),
                             a.member_id);
        }
        if (a.subscribed && *a.subscribed != m.subscribed) {
            m.subscribed = *a.subscribed;
            ++g.group_epoch;
        }
    }
    auto& m = g.cmembers.at(a.member_id);
    m.deadline = now + session;
    if (a.owned) {
        m.owned = *a.owned;
    }
    if (a.assignor) {
        g.assignor = *a.assignor;
    }
    if (g.group_epoch > g.assignment_epoch) {
        recompute_targets(b, g);
    }
    auto before = m.assigned;
    reconcile(g, m);
    out.member_id = m.id;
    out.member_epoch = m.epoch;
    if (!m.told || m.assigned != before) {
        out.assignment = m.assigned;
        m.told = true;
    }
    resume_restored(b, g); // the session timer covers these members too
    co_return out;
}

awaitable<cg_view> describe_consumer_group(broker& b, placement where, std::string id) {
    cg_view v;
    auto loading = ensure_loaded(b, where);
    if (auto e = co_await std::move(loading); e != error_code::none) {
        v.error = e;
        co_return v;
    }
    const group* g = b.groups().find(id);
    if (g == nullptr) {
        v.error = error_code::group_id_not_found;
        co_return v;
    }
    if (!g->consumer_protocol) {
        v.error = error_code::group_id_not_found; // a classic group: DescribeGroups describes it
        co_return v;
    }
    v.state = consumer_group_state(*g);
    v.group_epoch = g->group_epoch;
    v.assignment_epoch = g->assignment_epoch;
    v.assignor = g->assignor;
    for (const auto& [mid, m] : g->cmembers) {
        v.members.push_back({ mid, m.instance_id, m.rack_id, m.epoch, m.client_id, m.client_host,
                              m.subscribed, m.assigned, m.target });
    }
    (void)count;
    co_return v;
}

} // namespace chronik::kafka::groups
