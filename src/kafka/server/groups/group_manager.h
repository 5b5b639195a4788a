#pragma once
// The consumer groups whose `__consumer_offsets` partition this shard owns. A
// group's coordinator state lives on exactly that shard; requests from any
// connection are sent there (invoke_on), so a group is never touched from two
// threads and needs no lock.
//
// Committed offsets are appended to the group's `__consumer_offsets` partition and
// acknowledged only once that append is durable; the in-memory table is updated
// after. A partition's groups are loaded by replaying it the first time one of them
// is used after a start.
#include "runtime/asio.h"
#include "runtime/event.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace chronik::kafka::groups {

struct committed_offset {
    int64_t offset = -1;
    int32_t leader_epoch = -1;
    std::string metadata;
    int64_t commit_timestamp = -1;
};

struct group {
    std::string id;
    int32_t partition = 0; // of __consumer_offsets
    std::map<std::pair<std::string, int32_t>, committed_offset, std::less<>> offsets;
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
            it = _groups.emplace(std::string(id), group{ std::string(id), partition, {} }).first;
        }
        return it->second;
    }
    const std::map<std::string, group, std::less<>>& all() const { return _groups; }
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
    runtime::event& loaded_event(asio::any_io_executor ex) {
        if (!_loaded) {
            _loaded.emplace(ex);
        }
        return *_loaded;
    }

private:
    std::map<std::string, group, std::less<>> _groups;
    std::map<int32_t, load_state> _loads;
    std::optional<runtime::event> _loaded;
};

} // namespace chronik::kafka::groups
