#pragma once
// The consumer groups whose `__consumer_offsets` partition this shard owns. A
// group's coordinator state lives on exactly that shard; requests from any
// connection are sent there (invoke_on), so a group is never touched from two
// threads and needs no lock.
//
// Committed offsets are appended to the group's `__consumer_offsets` partition and
// acknowledged only once that append is durable; the in-memory table is updated
// after. A partition's groups are loaded by replaying it the first time one of them
// is used after a start. Classic-protocol membership (generation, leader, members
// and their assignments) is stored there too, when the leader's SyncGroup brings
// the assignments and when a static member is replaced, so a restarted broker
// resumes the group; KIP-848 membership is in memory only.
#include "base/bytes.h"
#include "kafka/protocol/error_code.h"
#include "runtime/asio.h"
#include "runtime/event.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chronik::kafka::groups {

using clock = std::chrono::steady_clock;

struct committed_offset {
    int64_t offset = -1;
    int32_t leader_epoch = -1;
    std::string metadata;
    int64_t commit_timestamp = -1;
};

enum class group_state { empty, preparing_rebalance, completing_rebalance, stable, dead };
std::string_view state_name(group_state s) noexcept;

// What a JoinGroup learns when the join phase completes.
struct join_result {
    protocol::error_code error = protocol::error_code::none;
    int32_t generation = -1;
    std::string protocol_type;
    std::optional<std::string> protocol_name;
    std::string leader;
    std::string member_id;
    struct member_info {
        std::string id;
        std::optional<std::string> instance_id;
        bytes metadata;
    };
    std::vector<member_info> members; // the leader's only
    bool skip_assignment = false;     // a restarted static leader keeps the current assignment
};

struct member {
    std::string id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::string client_host;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::vector<std::pair<std::string, bytes>> protocols; // in preference order
    bytes assignment;
    uint64_t join_order = 0;
    clock::time_point deadline; // session expiry
    bool joined = false;        // has joined the rebalance in progress
    std::optional<join_result> join_answer;
};

// KIP-848 (the consumer protocol): assignments by topic name; partitions sorted.
using assignment_map = std::map<std::string, std::set<int32_t>, std::less<>>;

struct consumer_member {
    std::string id;
    std::optional<std::string> instance_id;
    std::optional<std::string> rack_id;
    std::string client_id;
    std::string client_host;
    int32_t rebalance_timeout_ms = 0;
    int32_t epoch = 0;
    int32_t previous_epoch = -1;
    std::vector<std::string> subscribed;
    assignment_map owned;    // as the member last reported
    assignment_map assigned; // as the coordinator last told it
    assignment_map target;   // what the assignor wants it to have
    bool told = false;       // has received an assignment at all
    clock::time_point deadline;
};

struct group {
    std::string id;
    int32_t partition = 0; // of __consumer_offsets
    std::map<std::pair<std::string, int32_t>, committed_offset, std::less<>> offsets;

    group_state state = group_state::empty;
    int32_t generation = 0;
    std::string protocol_type;
    std::optional<std::string> protocol_name;
    std::string leader;
    std::map<std::string, member, std::less<>> members;
    std::map<std::string, clock::time_point, std::less<>> pending; // MEMBER_ID_REQUIRED ids
    std::map<std::string, std::string, std::less<>> static_ids;    // instance id -> member id
    uint64_t round = 0;                                            // rebalances started
    clock::time_point rebalance_deadline;
    bool initial_join = false; // the first join of an empty group waits for company
    clock::time_point initial_until;
    bool session_timer = false;
    int64_t empty_since_ms = -1; // wall clock; -1: has never had members
    uint64_t next_join_order = 0;
    std::shared_ptr<runtime::event> changed; // state, members or answers changed

    // The consumer protocol (KIP-848): server-side assignment.
    bool consumer_protocol = false;
    int32_t group_epoch = 0;
    int32_t assignment_epoch = 0;
    std::string assignor = "uniform";
    std::map<std::string, consumer_member, std::less<>> cmembers;
};

class group_manager {
public:
    group* find(std::string_view id) {
        auto it = _groups.find(id);
        return it == _groups.end() ? nullptr : &it->second;
    }
    group& get_or_create(std::string_view id, int32_t partition) {
        auto it = _groups.find(id);
        if (it == _groups.end()) {
            it = _groups.emplace(std::string(id), group{}).first;
            it->second.id = std::string(id);
            it->second.partition = partition;
        }
        return it->second;
    }
    std::map<std::string, group, std::less<>>& all() { return _groups; }
    void erase(std::string_view id) {
        if (auto it = _groups.find(id); it != _groups.end()) {
            _groups.erase(it);
        }
    }

    // Partition loading: the first user loads, later ones wait for it.
    enum class load_state { unloaded, loading, loaded };
    load_state state(int32_t partition) const {
        auto it = _loads.find(partition);
        return it == _loads.end() ? load_state::unloaded : it->second;
    }
    void set_state(int32_t partition, load_state s) { _loads[partition] = s; }
    // The leader epoch a partition's groups were loaded in.
    int32_t loaded_epoch(int32_t partition) const {
        auto it = _load_epochs.find(partition);
        return it == _load_epochs.end() ? -1 : it->second;
    }
    void set_loaded_epoch(int32_t partition, int32_t epoch) { _load_epochs[partition] = epoch; }
    // Drops what a partition's groups hold in memory (a coordinator that led it in
    // an earlier term), so it is loaded again from the log.
    void unload(int32_t partition) {
        std::erase_if(_groups, [&](const auto& kv) { return kv.second.partition == partition; });
        _loads.erase(partition);
    }
    // The offsets-expiry timer runs only while this shard coordinates any group.
    bool expiry_armed = false;
    // Shard 0 only: __consumer_offsets is being created; others wait for it.
    bool creating_offsets_topic = false;
    std::shared_ptr<runtime::event> offsets_topic_created;

    runtime::event& loaded_event(asio::any_io_executor ex) {
        if (!_loaded) {
            _loaded.emplace(ex);
        }
        return *_loaded;
    }

private:
    std::map<std::string, group, std::less<>> _groups;
    std::map<int32_t, load_state> _loads;
    std::map<int32_t, int32_t> _load_epochs;
    std::optional<runtime::event> _loaded;
};

} // namespace chronik::kafka::groups
