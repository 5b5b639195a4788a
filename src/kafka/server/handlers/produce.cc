#include "kafka/server/handlers/produce.h"

#include "base/logger.h"
#include "kafka/server/broker.h"
#include "kafka/server/handlers/leader_hints.h"
#include "kafka/server/handlers/routing.h"
#include "kafka/server/handlers/storage_errors.h"
#include "record/batch.h"
#include "record/legacy.h"

#include <chrono>

namespace chronik::kafka {

using protocol::error_code;

namespace {

logger log{ "kafka" };

// Decoding a produced compressed batch is bounded by the topic's max.message.bytes:
// each record must fit in it, and the records of one batch together in
// max_inflation times it (never more than max_decompressed). Decoding streams, so
// what a batch costs in memory is one record plus the codec's state (see
// record::decompressor), not what it inflates to; and since validation runs
// without yielding, one shard holds at most one decoder at a time.
constexpr size_t max_inflation = 64;
constexpr size_t max_decompressed = 256u << 20;
// A legacy (magic 0/1) compressed wrapper is decoded whole before conversion.
constexpr size_t legacy_inflation = 4;

record::decode_limits produce_limits(const storage::log_config& cfg) {
    size_t message = size_t(std::max(cfg.max_message_bytes, 0));
    return { std::min(max_decompressed, message * max_inflation), message };
}

struct append_item : partition_ref {
    std::vector<bytes> batches;
    bool wait_committed = false; // acks=-1
};

struct append_result {
    error_code error = error_code::none;
    int64_t base_offset = -1;
    int64_t last_offset = -1;
    int64_t log_append_time = -1;
    int64_t log_start_offset = -1;

    static append_result failed() { return { .error = error_code::unknown_server_error }; }
};

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// message.timestamp.before/after.max.ms for CreateTime topics (Kafka: INVALID_TIMESTAMP).
struct timestamp_window {
    bool enforced = false;
    int64_t earliest = INT64_MIN, latest = INT64_MAX;

    timestamp_window(const storage::log_config& cfg, int64_t now) {
        if (cfg.log_append_time) {
            return; // the broker's clock replaces every timestamp
        }
        if (cfg.timestamp_before_max_ms < now) {
            earliest = now - cfg.timestamp_before_max_ms;
            enforced = true;
        }
        if (cfg.timestamp_after_max_ms < INT64_MAX - now) {
            latest = now + cfg.timestamp_after_max_ms;
            enforced = true;
        }
    }
    bool admits(int64_t ts) const { return ts >= earliest && ts <= latest; }
};

// Checks a partition's records and splits them into owned, mutable batches.
error_code prepare(const byte_slice& records, const storage::log_config& cfg, int64_t now,
                   std::vector<bytes>& out) {
    if (records.empty()) {
        return error_code::invalid_record;
    }
    const size_t max_batch = size_t(cfg.max_message_bytes) + record::log_overhead;
    byte_slice v2 = records;
    int8_t magic = record::detect_magic(records.span());
    if (magic == 0 || magic == 1) {
        if (records.size() > max_batch) {
            return error_code::message_too_large;
        }
        auto converted = record::convert_legacy_to_v2(
          records.span(), std::min(max_decompressed, std::max<size_t>(max_batch, 1024) * legacy_inflation));
        if (!converted) {
            return to_kafka_error(converted.error());
        }
        v2 = byte_slice::from(std::move(converted).value());
    } else if (magic != 2) {
        return error_code::corrupt_message;
    }
    timestamp_window window(cfg, now);
    const auto limits = produce_limits(cfg);
    error_code err = error_code::none;
    auto ok =
      record::for_each_batch(v2, [&](const record::batch_header& h, const byte_slice& b) -> result<void> {
          if (b.size() > max_batch) {
              err = error_code::message_too_large;
              return make_error_code(record::errc::too_large);
          }
          if (h.control()) {
              err = error_code::invalid_record;
              return make_error_code(record::errc::invalid_record);
          }
          // The header's max_timestamp is the producer's claim (sarama sends -1);
          // retention and time lookups read it, so the broker derives it from the
          // records and writes it back, as Kafka does.
          int64_t max_ts = -1;
          if (h.compression() != record::codec::none || window.enforced || cfg.compact) {
              // Compressed records are checked too: a consumer must never receive a
              // batch that does not decompress. A compacted topic needs a key on
              // every record (Kafka: INVALID_RECORD).
              bool in_window = true, keyed = true;
              auto rec = record::for_each_record(b.span(), limits, [&](const record::record_view& r) {
                  int64_t ts = record::wrapping_add(h.base_timestamp, r.timestamp_delta);
                  max_ts = std::max(max_ts, ts);
                  in_window = in_window && window.admits(ts);
                  keyed = keyed && r.key.has_value();
              });
              if (!rec) {
                  err = to_kafka_error(rec.error());
                  return rec.error();
              }
              if (!in_window || (cfg.compact && !keyed)) {
                  err = in_window ? error_code::invalid_record : error_code::invalid_timestamp;
                  return make_error_code(record::errc::invalid_record);
              }
          } else {
              max_ts = record::max_record_timestamp(b.span());
          }
          auto& stored = out.emplace_back(b.span().begin(), b.span().end());
          if (!cfg.log_append_time) {
              record::set_max_timestamp(stored, max_ts);
          }
          return outcome::success();
      });
    if (!ok) {
        return err != error_code::none ? err : to_kafka_error(ok.error());
    }
    return out.empty() ? error_code::invalid_record : error_code::none;
}

using produce_fanout = staged_fanout<append_result>;

// On the owner shard, in one hop: appends every item's batches and reports that
// (the first stage), then, for acks=-1, waits until each append is committed and
// reports that too.
awaitable<void> produce_on_shard(broker& b, std::vector<append_item> items, produce_fanout::reporter* rep) {
    std::vector<append_result> out(items.size());
    std::vector<std::shared_ptr<cluster::partition>> held(items.size());
    std::vector<int32_t> min_insync(items.size(), 0);
    int64_t now = now_ms();
    for (size_t i = 0; i < items.size(); ++i) {
        auto& it = items[i];
        auto& r = out[i];
        auto opened = b.leader_replica(it.topic, it.partition, r.error);
        auto p = co_await std::move(opened);
        if (!p) {
            continue;
        }
        // acks=all needs min.insync.replicas in sync before and after the append.
        if (it.wait_committed) {
            min_insync[i] = b.log_config_for(it.topic).min_insync_replicas;
        }
        for (auto& batch : it.batches) {
            auto a = p->replicate(std::span<uint8_t>(batch), now, min_insync[i]);
            if (!a) {
                r.error = to_kafka_error(a.error());
                break;
            }
            if (r.base_offset < 0) {
                r.base_offset = a.value().base_offset;
                r.log_append_time = a.value().log_append_time;
            }
            r.last_offset = a.value().last_offset;
        }
        r.log_start_offset = p->log().log_start_offset();
        held[i] = std::move(p);
    }
    rep->first(out);
    std::vector<append_result> committed(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        if (!items[i].wait_committed || out[i].error != error_code::none || !held[i]) {
            continue;
        }
        auto wait = held[i]->wait_committed(out[i].last_offset, min_insync[i]);
        committed[i].error = to_kafka_error(co_await std::move(wait));
    }
    rep->second(std::move(committed));
}

} // namespace

awaitable<handle_result<produce_handler::api::response>> produce_handler::handle(request_context& ctx,
                                                                                 api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    auto topics = b.topics(); // one snapshot for the whole request
    bool valid_acks = req.acks == -1 || req.acks == 0 || req.acks == 1;
    const int64_t now = now_ms();

    partition_fanout<append_item> fan;
    for (auto& t : req.topic_data) {
        auto& tr = resp.responses.emplace_back();
        tr.name = t.name;
        const auto* info = topics->find(t.name);
        for (auto& pd : t.partition_data) {
            auto& pr = tr.partition_responses.emplace_back();
            pr.index = pd.index;
            pr.base_offset = -1;
            if (!valid_acks) {
                pr.error_code = +error_code::invalid_required_acks;
                continue;
            }
            auto* item =
              fan.admit(b, info, pd.index, resp.responses.size() - 1, tr.partition_responses.size() - 1);
            if (item == nullptr) {
                pr.error_code = +error_code::unknown_topic_or_partition;
                continue;
            }
            auto cfg = b.log_config_for(*info);
            auto err = prepare(pd.records.value_or(byte_slice()), cfg, now, item->batches);
            if (err != error_code::none) {
                fan.refuse_last();
                log.debug("produce to {}-{} refused: {}", t.name, pd.index, protocol::error_name(err));
                pr.error_code = +err;
            }
        }
    }

    std::vector<append_result> results;
    if (!fan.items.empty()) {
        for (auto& it : fan.items) {
            it.wait_committed = req.acks == -1;
        }
        produce_fanout staged(b, std::move(fan.items), &produce_on_shard);
        auto appended = staged.first();
        results = *co_await std::move(appended);
        // Appended: the connection's next request may act while this one waits for
        // its commit, so pipelined acks=all requests share group commits.
        ctx.end_ordered_phase();
        if (req.acks == -1) {
            auto committed = staged.second();
            const auto& synced = *co_await std::move(committed);
            for (size_t i = 0; i < synced.size() && i < results.size(); ++i) {
                if (results[i].error == error_code::none && synced[i].error != error_code::none) {
                    results[i].error = synced[i].error;
                }
            }
        }
    }
    fan.each(results, [&](const auto& s, const append_result& r) {
        auto& pr = resp.responses[s.topic].partition_responses[s.partition];
        pr.error_code = +r.error;
        if (r.error == error_code::none) {
            pr.base_offset = r.base_offset;
            pr.log_append_time_ms = r.log_append_time;
        }
        pr.log_start_offset = r.log_start_offset;
        if (const auto* info = topics->find(resp.responses[s.topic].name)) {
            hint_leader(b, *info, pr.index, pr.error_code, pr.current_leader, resp.node_endpoints);
        }
    });
    co_return handle_result<api::response>{ std::move(resp), req.acks != 0 };
}

} // namespace chronik::kafka
