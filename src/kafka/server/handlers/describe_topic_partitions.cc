#include "kafka/server/handlers/describe_topic_partitions.h"

#include "kafka/server/broker.h"
#include "kafka/server/handlers/partition_view.h"

#include <algorithm>
#include <string>
#include <vector>

namespace chronik::kafka {

using protocol::error_code;
using response = protocol::describe_topic_partitions_response_data;

awaitable<describe_topic_partitions_handler::api::response> describe_topic_partitions_handler::handle(
  request_context& ctx, api::request req) {
    broker& b = *ctx.owner;
    const auto table = b.topics(); // held: the topics below point into it
    response resp;
    // The names in order; every topic when none is named.
    std::vector<std::string> names;
    const bool all = req.topics.empty();
    if (all) {
        for (const auto* t : table->all()) {
            names.push_back(t->name);
        }
    } else {
        for (auto& t : req.topics) {
            names.push_back(std::move(t.name));
        }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());

    auto topic_error = [](std::string name, error_code e) {
        response::DescribeTopicPartitionsResponseTopic out;
        out.error_code = +e;
        out.name = std::move(name);
        return out;
    };
    size_t first = 0;
    int32_t first_partition = 0;
    if (req.cursor) {
        auto it = std::lower_bound(names.begin(), names.end(), req.cursor->topic_name);
        if (req.cursor->partition_index < 0 ||
            (!all && (it == names.end() || *it != req.cursor->topic_name))) {
            // A cursor must name one of the topics asked for (Kafka refuses it too).
            for (auto& n : names) {
                resp.topics.push_back(topic_error(std::move(n), error_code::invalid_request));
            }
            co_return resp;
        }
        first = size_t(it - names.begin());
        if (it != names.end() && *it == req.cursor->topic_name) {
            first_partition = req.cursor->partition_index;
        }
    }
    const auto cap = b.numeric_setting("max.request.partition.size.limit", 2000);
    int64_t left = std::clamp<int64_t>(req.response_partition_limit, 1, std::max<int64_t>(cap, 1));
    for (size_t i = first; i < names.size(); ++i) {
        const auto* t = table->find(names[i]);
        if (t == nullptr) {
            if (!all) {
                resp.topics.push_back(topic_error(names[i], error_code::unknown_topic_or_partition));
            }
            continue;
        }
        const int32_t from = i == first ? first_partition : 0;
        if (left == 0) {
            resp.next_cursor = response::Cursor{ names[i], from, {} };
            break;
        }
        auto& out = resp.topics.emplace_back();
        out.error_code = +error_code::none;
        out.name = t->name;
        out.topic_id = t->id;
        out.is_internal = is_internal_topic(t->name);
        int32_t p = from;
        for (; p < t->partitions && left > 0; ++p, --left) {
            auto& part = out.partitions.emplace_back();
            part.error_code = +error_code::none;
            part.partition_index = p;
            describe_partition(b, *t, p, part);
            part.eligible_leader_replicas = std::vector<int32_t>();
            part.last_known_elr = std::vector<int32_t>();
        }
        if (p < t->partitions) {
            resp.next_cursor = response::Cursor{ t->name, p, {} };
            break;
        }
    }
    co_return resp;
}

} // namespace chronik::kafka
