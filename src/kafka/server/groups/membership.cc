#include "kafka/server/groups/membership.h"

#include "base/logger.h"
#include "cluster/topic_table.h"
#include "kafka/server/groups/consumer_protocol.h"
#include "kafka/server/groups/offsets_records.h"

#include <algorithm>

namespace chronik::kafka::groups {

using protocol::error_code;

namespace {

logger log{ "groups" };

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::chrono::milliseconds setting_ms(const broker& b, std::string_view name, int64_t fallback) {
    return std::chrono::milliseconds(std::max<int64_t>(b.numeric_setting(name, fallback), 0));
}

runtime::event& changed(group& g, const asio::any_io_executor& ex) {
    if (!g.changed) {
        g.changed = std::make_shared<runtime::event>(ex);
    }
    return *g.changed;
}

void notify(group& g) {
    if (g.changed) {
        g.changed->notify_all();
    }
}

awaitable<void> store_detached(broker& b, placement where, std::string id, group_value v) {
    auto storing = store_group(b, where, std::move(id), std::move(v));
    co_await std::move(storing);
}

std::string new_member_id(const std::string& client_id) {
    return client_id + "-" + cluster::random_topic_id().to_string();
}

void remove_member(group& g, const std::string& id) {
    auto it = g.members.find(id);
    if (it == g.members.end()) {
        return;
    }
    if (it->second.instance_id) {
        auto s = g.static_ids.find(*it->second.instance_id);
        if (s != g.static_ids.end() && s->second == id) {
            g.static_ids.erase(s);
        }
    }
    // `id` may be the key of the entry erased here (complete_join passes it): use
    // it before the erase, never after.
    if (g.leader == id) {
        g.leader.clear();
    }
    g.members.erase(it);
}

// Whether a static member's id was taken over by a newer instance of it.
bool replaced(const group& g, const std::optional<std::string>& instance_id, const std::string& member_id) {
    if (!instance_id) {
        return false;
    }
    auto s = g.static_ids.find(*instance_id);
    return s != g.static_ids.end() && s->second != member_id;
}

bool all_joined(const group& g) {
    return std::all_of(g.members.begin(), g.members.end(), [](const auto& m) { return m.second.joined; });
}

// The protocol every member supports that most members prefer.
std::optional<std::string> choose_protocol(const group& g) {
    if (g.members.empty()) {
        return std::nullopt;
    }
    std::vector<std::string> common;
    for (const auto& entry : g.members.begin()->second.protocols) {
        const std::string& name = entry.first;
        bool everyone = std::all_of(g.members.begin(), g.members.end(), [&](const auto& m) {
            return std::any_of(m.second.protocols.begin(), m.second.protocols.end(),
                               [&](const auto& p) { return p.first == name; });
        });
        if (everyone) {
            common.push_back(name);
        }
    }
    if (common.empty()) {
        return std::nullopt;
    }
    std::map<std::string, int> votes;
    for (const auto& [_, m] : g.members) {
        for (const auto& [name, __] : m.protocols) {
            if (std::find(common.begin(), common.end(), name) != common.end()) {
                ++votes[name];
                break;
            }
        }
    }
    std::string best = common.front();
    for (const auto& name : common) {
        if (votes[name] > votes[best]) {
            best = name;
        }
    }
    return best;
}

bool supports_group_protocols(const group& g, const join_args& a) {
    if (g.members.empty()) {
        return true;
    }
    if (a.protocol_type != g.protocol_type) {
        return false;
    }
    // Some protocol must be shared with every current member.
    for (const auto& entry : a.protocols) {
        const std::string& name = entry.first;
        bool everyone = std::all_of(g.members.begin(), g.members.end(), [&](const auto& m) {
            return m.first == a.member_id || std::any_of(m.second.protocols.begin(), m.second.protocols.end(),
                                                         [&](const auto& p) { return p.first == name; });
        });
        if (everyone) {
            return true;
        }
    }
    return false;
}

void persist_soon(broker& b, const group& g);

// What a member of the current generation is told by JoinGroup (the leader gets
// the member list on top of it).
join_result current_generation(const group& g, const std::string& member_id) {
    join_result r;
    r.generation = g.generation;
    r.protocol_type = g.protocol_type;
    r.protocol_name = g.protocol_name;
    r.leader = g.leader;
    r.member_id = member_id;
    return r;
}

// The member list a leader's JoinGroup answer carries: each member's metadata for
// the group's protocol.
void add_members(const group& g, join_result& r) {
    for (const auto& [id, m] : g.members) {
        auto p = std::find_if(m.protocols.begin(), m.protocols.end(),
                              [&](const auto& x) { return x.first == g.protocol_name; });
        r.members.push_back({ id, m.instance_id, p != m.protocols.end() ? p->second : bytes() });
    }
}

// Ends the join phase: drops members that did not rejoin, advances the generation
// and answers every waiting JoinGroup.
void complete_join(broker& b, group& g) {
    for (auto it = g.members.begin(); it != g.members.end();) {
        auto next = std::next(it);
        if (!it->second.joined) {
            log.info("group {}: member {} did not rejoin in time; removed", g.id, it->first);
            remove_member(g, it->first);
        }
        it = next;
    }
    ++g.generation;
    if (g.members.empty()) {
        g.state = group_state::empty;
        g.protocol_name.reset();
        g.leader.clear();
        g.empty_since_ms = wall_ms();
        persist_soon(b, g);
        notify(g);
        return;
    }
    g.protocol_name = choose_protocol(g);
    if (g.leader.empty() || !g.members.contains(g.leader)) {
        auto first = std::min_element(g.members.begin(), g.members.end(), [](const auto& a, const auto& b) {
            return a.second.join_order < b.second.join_order;
        });
        g.leader = first->first;
    }
    g.state = group_state::completing_rebalance;
    auto now = clock::now();
    for (auto& [id, m] : g.members) {
        join_result r = current_generation(g, id);
        if (id == g.leader) {
            add_members(g, r);
        }
        m.join_answer = std::move(r);
        m.assignment.clear();
        m.deadline = now + std::chrono::milliseconds(m.session_timeout_ms);
    }
    log.info("group {}: generation {} with {} member(s), protocol {}, leader {}", g.id, g.generation,
             g.members.size(), g.protocol_name.value_or("-"), g.leader);
    notify(g);
}

// Stores a group's new membership (it became empty) without anyone waiting for it.
void persist_soon(broker& b, const group& g) {
    const auto* t = b.topics()->find(offsets_topic);
    if (t == nullptr) {
        return;
    }
    placement where{ *t, g.partition, b.shard() };
    asio::co_spawn(b.shards().at(b.shard()).executor(), store_detached(b, where, g.id, snapshot(g)),
                   asio::detached);
}

void maybe_complete_join(broker& b, group& g) {
    if (g.state != group_state::preparing_rebalance) {
        return;
    }
    if (g.initial_join && clock::now() < g.initial_until) {
        return; // the first members wait a little for the others (group.initial.rebalance.delay.ms)
    }
    if (all_joined(g) || clock::now() >= g.rebalance_deadline) {
        g.initial_join = false;
        complete_join(b, g);
    }
}

awaitable<void> rebalance_timer(broker& b, std::string group_id, uint64_t round);
awaitable<void> session_timer(broker& b, std::string group_id);

void arm_session_timer(broker& b, group& g) {
    if (g.session_timer || (g.members.empty() && g.pending.empty() && g.cmembers.empty())) {
        return;
    }
    g.session_timer = true;
    asio::co_spawn(b.shards().at(b.shard()).executor(), session_timer(b, g.id), asio::detached);
}

void prepare_rebalance(broker& b, group& g, const asio::any_io_executor& ex) {
    bool from_empty = g.state == group_state::empty;
    g.state = group_state::preparing_rebalance;
    ++g.round;
    auto now = clock::now();
    int32_t longest = 0;
    for (auto& [_, m] : g.members) {
        m.joined = false;
        m.join_answer.reset();
        longest = std::max(longest, m.rebalance_timeout_ms);
    }
    g.rebalance_deadline = now + std::chrono::milliseconds(longest);
    g.initial_join = from_empty;
    g.initial_until = now + setting_ms(b, "group.initial.rebalance.delay.ms", 3000);
    changed(g, ex);
    notify(g);
    asio::co_spawn(ex, rebalance_timer(b, g.id, g.round), asio::detached);
}

// Completes a rebalance that waits for members which may never come back.
awaitable<void> rebalance_timer(broker& b, std::string group_id, uint64_t round) {
    for (;;) {
        group* g = b.groups().find(group_id);
        if (g == nullptr || g->round != round || g->state != group_state::preparing_rebalance) {
            co_return;
        }
        auto until =
          g->initial_join ? std::min(g->initial_until, g->rebalance_deadline) : g->rebalance_deadline;
        if (clock::now() >= until) {
            if (g->initial_join && clock::now() >= g->initial_until) {
                g->initial_join = false;
            }
            maybe_complete_join(b, *g);
            if (g->state != group_state::preparing_rebalance || g->round != round) {
                co_return;
            }
            until = g->rebalance_deadline;
            if (clock::now() >= until) {
                complete_join(b, *g);
                co_return;
            }
        }
        asio::steady_timer t(co_await asio::this_coro::executor, until - clock::now());
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
    }
}

// Expires members whose session ended; runs only while the group has members.
awaitable<void> session_timer(broker& b, std::string group_id) {
    auto ex = co_await asio::this_coro::executor;
    for (;;) {
        group* g = b.groups().find(group_id);
        if (g == nullptr) {
            co_return;
        }
        if (g->members.empty() && g->pending.empty() && g->cmembers.empty()) {
            g->session_timer = false;
            co_return;
        }
        auto now = clock::now();
        bool removed = false;
        for (auto it = g->pending.begin(); it != g->pending.end();) {
            it = it->second <= now ? g->pending.erase(it) : std::next(it);
        }
        std::vector<std::string> expired;
        for (const auto& [id, m] : g->members) {
            // Members waiting in a join are covered by the rebalance timeout.
            bool waiting = g->state == group_state::preparing_rebalance && m.joined;
            if (!waiting && m.deadline <= now) {
                expired.push_back(id);
            }
        }
        for (const auto& id : expired) {
            log.info("group {}: member {} session expired; removed", g->id, id);
            remove_member(*g, id);
            removed = true;
        }
        if (removed) {
            if (g->state == group_state::stable || g->state == group_state::completing_rebalance) {
                prepare_rebalance(b, *g, ex);
            } else if (g->state == group_state::preparing_rebalance) {
                maybe_complete_join(b, *g);
            }
            notify(*g);
        }
        auto next = clock::time_point::max();
        for (const auto& [_, m] : g->members) {
            next = std::min(next, m.deadline);
        }
        for (const auto& [_, d] : g->pending) {
            next = std::min(next, d);
        }
        expire_consumer_members(*g, clock::now());
        for (const auto& [_, m] : g->cmembers) {
            next = std::min(next, m.deadline);
        }
        if (next == clock::time_point::max()) {
            g->session_timer = false;
            co_return;
        }
        auto wait = std::max(next - clock::now(), clock::duration(std::chrono::milliseconds(1)));
        asio::steady_timer t(ex, wait);
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
    }
}

join_result refused(error_code e, std::string member_id = {}) {
    join_result r;
    r.error = e;
    r.member_id = std::move(member_id);
    return r;
}

// Gives a member a new id in place: its static instance id, its leadership and
// its assignment go with it.
void replace_member_id(group& g, const std::string& from, const std::string& to) {
    auto node = g.members.extract(from);
    node.key() = to;
    node.mapped().id = to;
    if (node.mapped().instance_id) {
        g.static_ids[*node.mapped().instance_id] = to;
    }
    g.members.insert(std::move(node));
    if (g.leader == from) {
        g.leader = to;
    }
}

// Whether the group would still choose its protocol if member `id` had these.
bool same_choice(group& g, const std::string& id,
                 const std::vector<std::pair<std::string, bytes>>& protocols) {
    auto& m = g.members.at(id);
    auto saved = std::exchange(m.protocols, protocols);
    bool same = choose_protocol(g) == g.protocol_name;
    m.protocols = std::move(saved);
    return same;
}

// What a JoinGroup says about its member, taken into the group's record of it.
void take_join_args(member& m, const join_args& a, clock::time_point now) {
    m.client_id = a.client_id;
    m.client_host = a.client_host;
    m.session_timeout_ms = a.session_timeout_ms;
    m.rebalance_timeout_ms = a.rebalance_timeout_ms;
    m.protocols = a.protocols;
    m.deadline = now + std::chrono::milliseconds(a.session_timeout_ms);
}

// KIP-345: a static member that restarts (joins with its instance id and no
// member id) into a Stable group without changing the protocol the group would
// choose keeps its place and its assignment without a rebalance, leader or not.
// The new id is stored before it is answered, so a restarted broker knows it and
// still fences the old one.
awaitable<join_result> rejoin_stable(broker& b, placement where, group& g, join_args a, std::string old_id,
                                     std::string new_id, std::string leader_before) {
    member& m = g.members.at(new_id);
    member before = m;
    take_join_args(m, a, clock::now());
    int32_t generation = g.generation;
    auto storing = store_group(b, where, g.id, snapshot(g));
    auto stored = co_await std::move(storing);
    group* gp = b.groups().find(a.group);
    if (gp == nullptr) {
        co_return refused(error_code::unknown_member_id, new_id);
    }
    if (!gp->members.contains(new_id)) {
        // Gone while being stored: left, expired, or replaced by a newer instance.
        co_return refused(replaced(*gp, a.instance_id, new_id) ? error_code::fenced_instance_id
                                                               : error_code::unknown_member_id,
                          new_id);
    }
    if (stored != error_code::none) {
        // Not stored: the old id stays the member, as though this join never came.
        auto s = gp->static_ids.find(*a.instance_id);
        if (gp->generation == generation && s != gp->static_ids.end() && s->second == new_id) {
            // Only what this join changed goes back: a rebalance may have begun
            // meanwhile, and the member's part in it (joined, answer) stays.
            replace_member_id(*gp, new_id, old_id);
            member& cur = gp->members.at(old_id);
            cur.client_id = std::move(before.client_id);
            cur.client_host = std::move(before.client_host);
            cur.session_timeout_ms = before.session_timeout_ms;
            cur.rebalance_timeout_ms = before.rebalance_timeout_ms;
            cur.protocols = std::move(before.protocols);
        }
        join_result r = refused(stored);
        r.generation = gp->generation;
        r.leader = leader_before;
        co_return r;
    }
    log.info("group {}: static member {} rejoined as {} without a rebalance", gp->id, *a.instance_id, new_id);
    join_result r = current_generation(*gp, new_id);
    if (gp->leader != new_id) {
        co_return r;
    }
    if (!a.supports_skip_assignment) {
        // Before JoinGroup v9 the leader cannot be told to skip the assignment; an
        // answer naming its previous id as the leader keeps it from assigning.
        r.leader = leader_before;
        co_return r;
    }
    // The leader learns the members (so it can watch for metadata changes) but
    // does not assign: the group keeps the assignment it has.
    r.skip_assignment = true;
    add_members(*gp, r);
    co_return r;
}

} // namespace

std::string_view state_name(group_state s) noexcept {
    switch (s) {
        case group_state::empty:
            return "Empty";
        case group_state::preparing_rebalance:
            return "PreparingRebalance";
        case group_state::completing_rebalance:
            return "CompletingRebalance";
        case group_state::stable:
            return "Stable";
        case group_state::dead:
            return "Dead";
    }
    return "Unknown";
}

awaitable<join_result> join_group(broker& b, placement where, join_args a) {
    auto ex = co_await asio::this_coro::executor;
    if (a.group.empty()) {
        co_return refused(error_code::invalid_group_id, a.member_id);
    }
    auto min_session = setting_ms(b, "group.min.session.timeout.ms", 6000);
    auto max_session = setting_ms(b, "group.max.session.timeout.ms", 1800000);
    if (a.session_timeout_ms < min_session.count() || a.session_timeout_ms > max_session.count()) {
        co_return refused(error_code::invalid_session_timeout, a.member_id);
    }
    if (a.rebalance_timeout_ms <= 0) {
        a.rebalance_timeout_ms = a.session_timeout_ms; // v0 has none
    }
    if (a.protocol_type.empty() || a.protocols.empty()) {
        co_return refused(error_code::inconsistent_group_protocol, a.member_id);
    }
    auto loading = ensure_loaded(b, where);
    if (auto e = co_await std::move(loading); e != error_code::none) {
        co_return refused(e, a.member_id);
    }
    group& g = b.groups().get_or_create(a.group, where.partition);
    changed(g, ex);
    if (g.state == group_state::dead) {
        co_return refused(error_code::coordinator_not_available, a.member_id);
    }
    if (!supports_group_protocols(g, a) || (g.consumer_protocol && !g.cmembers.empty())) {
        co_return refused(error_code::inconsistent_group_protocol, a.member_id);
    }
    g.consumer_protocol = false; // an empty consumer-protocol group may be taken over
    auto now = clock::now();
    bool known = false;
    bool unchanged = false;
    if (a.member_id.empty()) {
        std::string id = new_member_id(a.client_id);
        if (a.instance_id) {
            auto s = g.static_ids.find(*a.instance_id);
            if (s != g.static_ids.end() && g.members.contains(s->second)) {
                // A static member back under a new id takes its old place; the old
                // id is fenced from now on.
                std::string old = s->second;
                std::string leader_before = g.leader;
                replace_member_id(g, old, id);
                known = true;
                if (g.state == group_state::stable && same_choice(g, id, a.protocols)) {
                    auto rejoining = rejoin_stable(b, where, g, std::move(a), std::move(old), std::move(id),
                                                   std::move(leader_before));
                    co_return co_await std::move(rejoining);
                }
                // Otherwise the rebalance below (or the one in progress) takes it in,
                // as Kafka's coordinator does; `unchanged` stays false.
            } else {
                g.static_ids[*a.instance_id] = id;
            }
        } else if (a.require_member_id) {
            // KIP-394: the client must come back with this id, so a join that times
            // out on the client side leaves no stray member behind.
            g.pending[id] = now + std::chrono::milliseconds(a.session_timeout_ms);
            arm_session_timer(b, g);
            co_return refused(error_code::member_id_required, id);
        }
        a.member_id = id;
    } else {
        if (a.instance_id) {
            auto s = g.static_ids.find(*a.instance_id);
            if (s != g.static_ids.end() && s->second != a.member_id) {
                co_return refused(error_code::fenced_instance_id, a.member_id);
            }
        }
        known = g.members.contains(a.member_id);
        if (!known) {
            auto p = g.pending.find(a.member_id);
            if (p == g.pending.end()) {
                co_return refused(error_code::unknown_member_id, a.member_id);
            }
            g.pending.erase(p);
            if (a.instance_id) {
                g.static_ids[*a.instance_id] = a.member_id;
            }
        } else {
            unchanged = g.members.at(a.member_id).protocols == a.protocols;
        }
    }
    auto& m = g.members[a.member_id];
    if (!known) {
        m.join_order = g.next_join_order++;
    }
    m.id = a.member_id;
    m.instance_id = a.instance_id;
    take_join_args(m, a, now);
    if (g.members.size() == 1) {
        g.protocol_type = a.protocol_type;
    }

    if (g.state == group_state::stable && known && unchanged && g.leader != a.member_id) {
        // A follower that rejoins with nothing new gets the current generation.
        co_return current_generation(g, a.member_id);
    }
    if (g.state != group_state::preparing_rebalance) {
        prepare_rebalance(b, g, ex);
    } else if (g.initial_join && !known) {
        // Each newcomer to a forming group extends the wait, up to the rebalance timeout.
        g.initial_until =
          std::min(now + setting_ms(b, "group.initial.rebalance.delay.ms", 3000), g.rebalance_deadline);
    }
    g.rebalance_deadline =
      std::max(g.rebalance_deadline, now + std::chrono::milliseconds(a.rebalance_timeout_ms));
    auto& me = g.members.at(a.member_id);
    me.joined = true;
    me.join_answer.reset();
    arm_session_timer(b, g);
    maybe_complete_join(b, g);

    // Wait for the join phase to end (or this member to be dropped).
    std::string group_id = a.group;
    std::string member_id = a.member_id;
    for (;;) {
        group* gp = b.groups().find(group_id);
        if (gp == nullptr) {
            co_return refused(error_code::unknown_member_id, member_id);
        }
        auto it = gp->members.find(member_id);
        if (it == gp->members.end()) {
            co_return refused(replaced(*gp, a.instance_id, member_id) ? error_code::fenced_instance_id
                                                                      : error_code::unknown_member_id,
                              member_id);
        }
        if (it->second.join_answer) {
            join_result r = std::move(*it->second.join_answer);
            it->second.join_answer.reset();
            co_return r;
        }
        auto ev = gp->changed; // keeps the event alive while waiting
        auto wait = ev->wait();
        co_await std::move(wait);
    }
}

awaitable<sync_result> sync_group(broker& b, placement where, sync_args a) {
    sync_result out;
    auto loading = ensure_loaded(b, where);
    if (auto e = co_await std::move(loading); e != error_code::none) {
        out.error = e;
        co_return out;
    }
    group* g = b.groups().find(a.group);
    if (g == nullptr) {
        out.error = error_code::unknown_member_id;
        co_return out;
    }
    // A replaced static member is told it was fenced before it is told it is unknown.
    if (replaced(*g, a.instance_id, a.member_id)) {
        out.error = error_code::fenced_instance_id;
        co_return out;
    }
    if (!g->members.contains(a.member_id)) {
        out.error = error_code::unknown_member_id;
        co_return out;
    }
    if (a.generation != g->generation) {
        out.error = error_code::illegal_generation;
        co_return out;
    }
    if ((a.protocol_type && *a.protocol_type != g->protocol_type) ||
        (a.protocol_name && *a.protocol_name != g->protocol_name)) {
        out.error = error_code::inconsistent_group_protocol;
        co_return out;
    }
    out.protocol_type = g->protocol_type;
    out.protocol_name = g->protocol_name;
    auto& m = g->members.at(a.member_id);
    m.deadline = clock::now() + std::chrono::milliseconds(m.session_timeout_ms);
    if (g->state == group_state::preparing_rebalance) {
        out.error = error_code::rebalance_in_progress;
        co_return out;
    }
    if (g->state == group_state::completing_rebalance && g->leader == a.member_id) {
        for (auto& [id, mem] : g->members) {
            mem.assignment.clear();
        }
        for (auto& [id, assignment] : a.assignments) {
            if (auto it = g->members.find(id); it != g->members.end()) {
                it->second.assignment = std::move(assignment);
            }
        }
        // The assignment is stored before anyone gets it, so a restarted broker
        // resumes the group as it stands (as Kafka's coordinator does).
        int32_t stored_generation = g->generation;
        auto storing = store_group(b, where, a.group, snapshot(*g));
        auto stored = co_await std::move(storing);
        g = b.groups().find(a.group);
        if (g == nullptr || !g->members.contains(a.member_id)) {
            out.error = error_code::unknown_member_id;
            co_return out;
        }
        if (g->generation != stored_generation || g->state != group_state::completing_rebalance) {
            out.error = error_code::rebalance_in_progress;
            co_return out;
        }
        if (stored != error_code::none) {
            prepare_rebalance(b, *g, co_await asio::this_coro::executor);
            out.error = stored;
            co_return out;
        }
        g->state = group_state::stable;
        notify(*g);
    }
    // Followers wait for the leader's assignment (or a new rebalance).
    int32_t generation = a.generation;
    for (;;) {
        g = b.groups().find(a.group);
        if (g == nullptr) {
            out.error = error_code::unknown_member_id;
            co_return out;
        }
        if (!g->members.contains(a.member_id)) {
            out.error = replaced(*g, a.instance_id, a.member_id) ? error_code::fenced_instance_id
                                                                 : error_code::unknown_member_id;
            co_return out;
        }
        if (g->generation != generation || g->state == group_state::preparing_rebalance) {
            out.error = error_code::rebalance_in_progress;
            co_return out;
        }
        if (g->state == group_state::stable) {
            out.assignment = g->members.at(a.member_id).assignment;
            co_return out;
        }
        auto ev = g->changed;
        auto wait = ev->wait();
        co_await std::move(wait);
    }
}

awaitable<error_code> heartbeat(broker& b, placement where, std::string group_id, int32_t generation,
                                std::string member_id, std::optional<std::string> instance_id) {
    auto loading = ensure_loaded(b, where);
    if (auto e = co_await std::move(loading); e != error_code::none) {
        co_return e;
    }
    group* g = b.groups().find(group_id);
    if (g == nullptr) {
        co_return error_code::unknown_member_id;
    }
    if (instance_id) {
        auto s = g->static_ids.find(*instance_id);
        if (s != g->static_ids.end() && s->second != member_id) {
            co_return error_code::fenced_instance_id;
        }
    }
    auto it = g->members.find(member_id);
    if (it == g->members.end()) {
        co_return error_code::unknown_member_id;
    }
    if (generation != g->generation) {
        co_return error_code::illegal_generation;
    }
    it->second.deadline = clock::now() + std::chrono::milliseconds(it->second.session_timeout_ms);
    co_return g->state == group_state::preparing_rebalance ? error_code::rebalance_in_progress
                                                           : error_code::none;
}

awaitable<std::vector<error_code>> leave_group(broker& b, placement where, std::string group_id,
                                               std::vector<leaving> members) {
    auto ex = co_await asio::this_coro::executor;
    std::vector<error_code> out(members.size(), error_code::unknown_member_id);
    auto loading = ensure_loaded(b, where);
    if (auto e = co_await std::move(loading); e != error_code::none) {
        std::fill(out.begin(), out.end(), e);
        co_return out;
    }
    group* g = b.groups().find(group_id);
    if (g == nullptr) {
        co_return out;
    }
    bool removed = false;
    for (size_t i = 0; i < members.size(); ++i) {
        std::string id = members[i].member_id;
        if (members[i].instance_id) {
            auto s = g->static_ids.find(*members[i].instance_id);
            if (s == g->static_ids.end()) {
                continue;
            }
            if (!id.empty() && id != s->second) {
                out[i] = error_code::fenced_instance_id;
                continue;
            }
            id = s->second;
        }
        if (!g->members.contains(id)) {
            continue;
        }
        log.info("group {}: member {} left", g->id, id);
        remove_member(*g, id);
        out[i] = error_code::none;
        removed = true;
    }
    if (removed) {
        if (g->state == group_state::stable || g->state == group_state::completing_rebalance) {
            if (g->members.empty()) {
                ++g->generation;
                g->state = group_state::empty;
                g->protocol_name.reset();
                g->leader.clear();
                g->empty_since_ms = wall_ms();
                persist_soon(b, *g);
                notify(*g);
            } else {
                prepare_rebalance(b, *g, ex);
            }
        } else if (g->state == group_state::preparing_rebalance) {
            if (g->members.empty()) {
                complete_join(b, *g);
            } else {
                maybe_complete_join(b, *g);
            }
        }
        notify(*g);
    }
    co_return out;
}

void resume_restored(broker& b, group& g) {
    changed(g, b.shards().at(b.shard()).executor());
    arm_session_timer(b, g);
}

error_code check_commit(broker& b, std::string_view group_id, int32_t generation, std::string_view member_id,
                        const std::optional<std::string>& instance_id) {
    group* g = b.groups().find(group_id);
    if (g != nullptr && g->consumer_protocol) {
        return check_consumer_commit(*g, generation, member_id);
    }
    if (g == nullptr || g->state == group_state::empty) {
        // A consumer that manages its own partitions commits with generation -1.
        return generation < 0 ? error_code::none : error_code::illegal_generation;
    }
    if (g->state == group_state::dead) {
        return error_code::coordinator_not_available;
    }
    if (instance_id) {
        auto s = g->static_ids.find(*instance_id);
        if (s != g->static_ids.end() && s->second != member_id) {
            return error_code::fenced_instance_id;
        }
    }
    if (!g->members.contains(member_id)) {
        return error_code::unknown_member_id;
    }
    if (generation != g->generation) {
        return error_code::illegal_generation;
    }
    if (g->state == group_state::completing_rebalance) {
        return error_code::rebalance_in_progress;
    }
    return error_code::none;
}

} // namespace chronik::kafka::groups
