#include "cluster/controller_commands.h"

#include "base/assert.h"
#include "base/endian.h"
#include "record/batch.h"

#include <charconv>
#include <map>

namespace chronik::cluster {

bytes command_batch(command c, const std::string& value, int64_t now) {
    record::record_input r;
    bytes key(2, 0);
    store_be<int16_t>(key.data(), int16_t(c));
    r.key = std::move(key);
    r.value = bytes(value.begin(), value.end());
    r.timestamp = now;
    auto built = record::build_batch({ r }, record::batch_options{});
    CHRONIK_ASSERT(built.has_value(), "a command batch always builds");
    return std::move(built).value();
}

std::string put_topics_value(std::vector<topic_info> ts) {
    std::map<std::string, topic_info> m;
    for (auto& t : ts) {
        std::string name = t.name;
        m.insert_or_assign(std::move(name), std::move(t));
    }
    return topic_table(std::move(m)).serialize();
}

std::string broker_overrides_value(int32_t node, topic_table::settings s) {
    return std::to_string(node) + "\n" + topic_table().with_broker_overrides(node, std::move(s))->serialize();
}

// `t` changed by one command of the log; null if the command is malformed.
std::shared_ptr<const topic_table> apply_command(const topic_table& t, int16_t type, std::string_view value) {
    switch (command(type)) {
        case command::put_topics: {
            auto mini = topic_table::parse(value);
            if (!mini) {
                return nullptr;
            }
            std::vector<topic_info> ts;
            for (const auto* info : mini->all()) {
                ts.push_back(*info);
            }
            return t.with_all(std::move(ts));
        }
        case command::remove_topic:
            return t.without(value);
        case command::producer_ids: {
            int64_t end = 0;
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), end);
            if (ec != std::errc() || p != value.data() + value.size() || end < 0) {
                return nullptr;
            }
            return t.with_producer_id_end(end);
        }
        case command::register_broker: {
            auto mini = topic_table::parse(value);
            if (!mini || mini->brokers().size() != 1) {
                return nullptr;
            }
            return t.with_broker(mini->brokers().begin()->second);
        }
        case command::broker_overrides: {
            auto nl = value.find('\n');
            int32_t node = 0;
            if (nl == std::string_view::npos) {
                return nullptr;
            }
            auto [end, ec] = std::from_chars(value.data(), value.data() + nl, node);
            auto mini = topic_table::parse(value.substr(nl + 1));
            if (ec != std::errc() || end != value.data() + nl || !mini) {
                return nullptr;
            }
            return t.with_broker_overrides(node, mini->broker_overrides(node));
        }
    }
    return nullptr;
}

// Replays the controller log's commands in [from, end) onto `t`, calling
// `applied(before, after)` for each. Returns false if a command cannot be read or
// applied (the log is damaged beyond a torn tail).
bool replay(storage::partition_log& log, int64_t from, int64_t end, std::shared_ptr<const topic_table>& t,
            std::string& error, const apply_hook& applied) {
    int64_t offset = std::max(from, log.log_start_offset());
    while (offset < end) {
        auto r = log.read(offset, 1u << 20, true, false, end);
        if (!r || r.value().data.empty() || r.value().next_offset <= offset) {
            error = "cannot read the controller log at offset " + std::to_string(offset);
            return false;
        }
        bool ok = true;
        auto walked = record::for_each_batch(
          r.value().data, [&](const record::batch_header& h, const byte_slice& b) -> result<void> {
              if (h.control()) {
                  return outcome::success(); // the Raft group's own entries (a leader's term, voters)
              }
              auto recs = record::for_each_record(
                b.span(), record::decode_limits{ 64u << 20, 64u << 20 }, [&](const record::record_view& rv) {
                    if (!ok || !rv.key || rv.key->size() != 2) {
                        ok = false;
                        return;
                    }
                    auto type = load_be<int16_t>(rv.key->data());
                    std::string_view v;
                    if (rv.value) {
                        v =
                          std::string_view(reinterpret_cast<const char*>(rv.value->data()), rv.value->size());
                    }
                    auto next = apply_command(*t, type, v);
                    if (!next) {
                        ok = false;
                        return;
                    }
                    if (applied) {
                        applied(*t, *next);
                    }
                    t = std::move(next);
                });
              return recs;
          });
        if (!walked || !ok) {
            error = "a damaged command in the controller log near offset " + std::to_string(offset);
            return false;
        }
        offset = std::min(r.value().next_offset, end);
    }
    return true;
}

} // namespace chronik::cluster
