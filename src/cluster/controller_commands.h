#pragma once
// The controller log's commands (topic_store::command): how a change is encoded as
// a record, and how the log's committed commands are applied to a topic table in
// order. Used by topic_store when it appends, at start-up and in catch_up.
#include "cluster/topic_store.h"
#include "cluster/topic_table.h"
#include "storage/partition_log.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chronik::cluster {

using command = topic_store::command;

// One command as a batch of one record: the key its type (big-endian int16), the
// value its text.
bytes command_batch(command c, const std::string& value, int64_t now);
// The values of put_topics and broker_overrides.
std::string put_topics_value(std::vector<topic_info> ts);
std::string broker_overrides_value(int32_t node, topic_table::settings s);
// `t` changed by one command of the log; null if the command is malformed.
std::shared_ptr<const topic_table> apply_command(const topic_table& t, int16_t type, std::string_view value);

// Replays the commands in [from, end) onto `t`, calling `applied(before, after)`
// for each. False if a command cannot be read or applied (the log is damaged
// beyond a torn tail).
using apply_hook = std::function<void(const topic_table& before, const topic_table& after)>;
bool replay(storage::partition_log& log, int64_t from, int64_t end, std::shared_ptr<const topic_table>& t,
            std::string& error, const apply_hook& applied = {});

} // namespace chronik::cluster
