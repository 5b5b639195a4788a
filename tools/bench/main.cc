// chronik-bench: measures any Kafka-compatible broker with librdkafka.
//
//   chronik-bench --bootstrap-servers HOST:PORT --topic T --mode produce
//                 --message-count 1000000 --message-size 1024 --acks all
//
// Modes: produce (throughput and produce latency: send to acknowledgement),
// consume (throughput; with --validate every payload is checked), round-trip (a
// producer and a consumer at once: end-to-end latency from the send time carried in
// each payload), metadata (Metadata request latency). With --rate-limit the
// producers send on a fixed schedule and latency is measured from each message's
// intended send time, so a stall shows up in the percentiles instead of hiding in a
// slower send rate (coordinated omission). MB/s are 10^6 bytes of payload.
#include "histogram.h"

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <unistd.h>

namespace chronik::bench {
namespace {

using clock = std::chrono::steady_clock;

uint64_t now_ns() {
    return uint64_t(
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch()).count());
}

struct options {
    std::string bootstrap = "127.0.0.1:9092";
    std::string topic = "chronik-bench";
    bool create_topic = false;
    int partitions = 1;
    int replication_factor = 1;
    std::string mode = "produce";
    int64_t message_count = 0; // 0: run for --duration
    double duration_s = 10;
    double warmup_s = 0;
    int message_size = 1024;
    int concurrency = 1;
    std::string acks = "1";
    std::string compression = "none";
    int linger_ms = 5;
    int batch_size = 1000000;
    int max_in_flight = 0; // 0: librdkafka's default (1,000,000 per connection)
    int buffer_kbytes = 0; // 0: librdkafka's default queue.buffering.max.kbytes (1 GiB)
    double rate_limit = 0; // messages/s over all producers; 0: as fast as possible
    std::string key_pattern = "none";
    std::string payload_pattern = "random";
    bool validate = false;
    double min_throughput = 0; // msg/s
    double report_interval_s = 2;
    std::string json_output;
    std::string csv_output;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(
      stderr,
      "chronik-bench: %s\n"
      "usage: chronik-bench [--bootstrap-servers H:P] [--topic T] [--create-topic] [--partitions N]\n"
      "  [--replication-factor N] [--mode produce|consume|round-trip|metadata]\n"
      "  [--message-count N | --duration S] [--warmup-duration S] [--message-size B] [--concurrency N]\n"
      "  [--acks 0|1|-1|all] [--compression none|gzip|snappy|lz4|zstd] [--linger-ms N] [--batch-size B]\n"
      "  [--max-in-flight N] [--buffer-kbytes KB]\n"
      "  [--rate-limit MSG/S] [--key-pattern none|sequential|random] [--payload-pattern random|zeros]\n"
      "  [--validate] [--min-throughput MSG/S] [--report-interval-secs S] [--json-output F]\n"
      "  [--csv-output F]\n",
      why);
    std::exit(2);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage(("missing value for " + a).c_str());
            }
            return argv[++i];
        };
        auto number = [&]() {
            std::string v = value();
            char* end = nullptr;
            double d = std::strtod(v.c_str(), &end);
            if (v.empty() || *end != '\0' || d < 0) {
                usage(("bad number for " + a + ": " + v).c_str());
            }
            return d;
        };
        if (a == "--bootstrap-servers")
            o.bootstrap = value();
        else if (a == "--topic")
            o.topic = value();
        else if (a == "--create-topic")
            o.create_topic = true;
        else if (a == "--partitions")
            o.partitions = int(number());
        else if (a == "--replication-factor")
            o.replication_factor = int(number());
        else if (a == "--mode")
            o.mode = value();
        else if (a == "--message-count")
            o.message_count = int64_t(number());
        else if (a == "--duration")
            o.duration_s = number();
        else if (a == "--warmup-duration")
            o.warmup_s = number();
        else if (a == "--message-size")
            o.message_size = int(number());
        else if (a == "--concurrency")
            o.concurrency = std::max(1, int(number()));
        else if (a == "--acks")
            o.acks = value();
        else if (a == "--compression")
            o.compression = value();
        else if (a == "--linger-ms")
            o.linger_ms = int(number());
        else if (a == "--batch-size")
            o.batch_size = int(number());
        else if (a == "--max-in-flight")
            o.max_in_flight = std::max(1, int(number()));
        else if (a == "--buffer-kbytes")
            o.buffer_kbytes = std::max(1, int(number()));
        else if (a == "--rate-limit")
            o.rate_limit = number();
        else if (a == "--key-pattern")
            o.key_pattern = value();
        else if (a == "--payload-pattern")
            o.payload_pattern = value();
        else if (a == "--validate")
            o.validate = true;
        else if (a == "--min-throughput")
            o.min_throughput = number();
        else if (a == "--report-interval-secs")
            o.report_interval_s = number();
        else if (a == "--json-output")
            o.json_output = value();
        else if (a == "--csv-output")
            o.csv_output = value();
        else if (a == "--help" || a == "-h")
            usage("help");
        else
            usage(("unknown flag " + a).c_str());
    }
    if (o.acks == "all") {
        o.acks = "-1";
    }
    if (o.mode != "produce" && o.mode != "consume" && o.mode != "round-trip" && o.mode != "metadata") {
        usage(("unknown mode " + o.mode).c_str());
    }
    if (o.mode == "round-trip" && o.message_size < 16) {
        usage("round-trip needs --message-size of at least 16 (the send time travels in the payload)");
    }
    return o;
}

rd_kafka_conf_t* base_conf(const options& o) {
    rd_kafka_conf_t* c = rd_kafka_conf_new();
    char err[512];
    auto set = [&](const char* k, const std::string& v) {
        if (rd_kafka_conf_set(c, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
            std::fprintf(stderr, "chronik-bench: %s=%s: %s\n", k, v.c_str(), err);
            std::exit(2);
        }
    };
    set("bootstrap.servers", o.bootstrap);
    set("log_level", "3");
    return c;
}

// Shared counters; each worker keeps its own histogram and merges at the end.
struct totals {
    std::atomic<uint64_t> messages{ 0 };
    std::atomic<uint64_t> bytes{ 0 };
    std::atomic<uint64_t> errors{ 0 };
    std::atomic<uint64_t> invalid{ 0 };
    std::atomic<bool> stop{ false };
    std::atomic<bool> assigned{ false }; // a consumer has partitions
    std::atomic<uint64_t> first_ns{ 0 }; // when the first message arrived (consume modes)
    std::mutex merge_lock; // lock-ok: a benchmark tool, not the broker; taken once per worker at the end
    histogram latency;
    void merge(const histogram& h) {
        std::lock_guard g(merge_lock); // lock-ok: see above
        latency.merge(h);
    }
};

// Payloads: the first 8 bytes carry the send time (round-trip), the next 8 the
// producer and sequence number; the rest is the pattern. "random" takes each
// message's body from a different place in a 1 MiB pool of random bytes seeded by
// the producer id, so consecutive messages differ (compression is not flattered) and
// the consumer can regenerate and check every body.
std::vector<char> payload_pool(const options& o, uint64_t producer) {
    std::vector<char> pool(std::max<size_t>(size_t(1) << 20, size_t(o.message_size) * 4));
    if (o.payload_pattern == "zeros") {
        return pool;
    }
    std::mt19937_64 rng(producer * 7919 + 1);
    for (auto& c : pool) {
        c = char(rng());
    }
    return pool;
}

const char* payload_body(const std::vector<char>& pool, uint64_t seq, size_t body) {
    return pool.data() + (seq * 4093) % (pool.size() - body);
}

struct delivery {
    uint64_t intended_ns;
    histogram* h;
    totals* t;
    uint64_t size;
    bool measured;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
    auto* d = static_cast<delivery*>(m->_private);
    if (m->err) {
        d->t->errors.fetch_add(1, std::memory_order_relaxed);
    } else if (d->measured) {
        d->h->record(now_ns() - d->intended_ns);
        d->t->messages.fetch_add(1, std::memory_order_relaxed);
        d->t->bytes.fetch_add(d->size, std::memory_order_relaxed);
    }
    delete d;
}

void producer_worker(const options& o, int id, totals& t, uint64_t start_ns, uint64_t warmup_end_ns,
                     int64_t quota) {
    rd_kafka_conf_t* c = base_conf(o);
    char err[512];
    auto set = [&](const char* k, const std::string& v) {
        rd_kafka_conf_set(c, k, v.c_str(), err, sizeof err);
    };
    set("acks", o.acks);
    set("compression.codec", o.compression);
    set("linger.ms", std::to_string(o.linger_ms));
    set("batch.size", std::to_string(o.batch_size));
    set("queue.buffering.max.messages", "1000000");
    if (o.buffer_kbytes > 0) {
        set("queue.buffering.max.kbytes", std::to_string(o.buffer_kbytes));
    }
    if (o.max_in_flight > 0) {
        set("max.in.flight.requests.per.connection", std::to_string(o.max_in_flight));
    }
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rd_kafka_t* p = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    if (p == nullptr) {
        std::fprintf(stderr, "chronik-bench: producer: %s\n", err);
        std::exit(2);
    }
    histogram h;
    std::mt19937_64 rng(uint64_t(id) * 7919 + 1);
    std::vector<char> payload(size_t(o.message_size));
    const auto pool = payload_pool(o, uint64_t(id));
    size_t header = std::min<size_t>(16, payload.size());
    double per_worker_rate = o.rate_limit > 0 ? o.rate_limit / o.concurrency : 0;
    uint64_t end_ns =
      o.message_count > 0 ? UINT64_MAX : start_ns + uint64_t(o.duration_s * 1e9) + (warmup_end_ns - start_ns);
    for (int64_t i = 0; (quota == 0 || i < quota) && !t.stop.load(std::memory_order_relaxed); ++i) {
        uint64_t intended =
          per_worker_rate > 0 ? start_ns + uint64_t(double(i) * 1e9 / per_worker_rate) : now_ns();
        if (per_worker_rate > 0) {
            while (now_ns() < intended) {
                rd_kafka_poll(p, 0);
                std::this_thread::sleep_for(std::chrono::microseconds(50));
            }
        }
        if (now_ns() >= end_ns) {
            break;
        }
        std::memcpy(payload.data() + header, payload_body(pool, uint64_t(i), payload.size() - header),
                    payload.size() - header);
        if (o.message_size >= 16) {
            uint64_t seq = uint64_t(i) | (uint64_t(id) << 48);
            std::memcpy(payload.data(), &intended, 8);
            std::memcpy(payload.data() + 8, &seq, 8);
        }
        std::string key;
        if (o.key_pattern == "sequential") {
            key = std::to_string(i);
        } else if (o.key_pattern == "random") {
            key = std::to_string(rng() % 1000000);
        }
        // Owned by librdkafka once produced: the delivery report callback deletes it.
        // The analyzer cannot see that hand-off, so it reports a leak at the next call.
        // NOLINTBEGIN(clang-analyzer-cplusplus.NewDeleteLeaks)
        auto* d = new delivery{ intended, &h, &t, uint64_t(o.message_size), intended >= warmup_end_ns };
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
              p, RD_KAFKA_V_TOPIC(o.topic.c_str()), RD_KAFKA_V_VALUE(payload.data(), payload.size()),
              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(d),
              RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(p, 1);
                continue;
            }
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                t.errors.fetch_add(1);
                delete d;
            }
            break;
        }
        rd_kafka_poll(p, 0);
        // NOLINTEND(clang-analyzer-cplusplus.NewDeleteLeaks)
    }
    rd_kafka_flush(p, 60000);
    rd_kafka_destroy(p);
    t.merge(h);
}

void consumer_worker(const options& o, totals& t, int64_t target, bool round_trip, uint64_t deadline_ns) {
    rd_kafka_conf_t* c = base_conf(o);
    char err[512];
    auto set = [&](const char* k, const std::string& v) {
        rd_kafka_conf_set(c, k, v.c_str(), err, sizeof err);
    };
    set("group.id", round_trip ? "chronik-bench-rt" : "chronik-bench");
    set("auto.offset.reset", round_trip ? "latest" : "earliest");
    set("enable.auto.commit", "false");
    set("enable.partition.eof", "false");
    rd_kafka_t* k = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    if (k == nullptr) {
        std::fprintf(stderr, "chronik-bench: consumer: %s\n", err);
        std::exit(2);
    }
    rd_kafka_poll_set_consumer(k);
    rd_kafka_topic_partition_list_t* subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, o.topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(k, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    histogram h;
    // --validate: a payload must be exactly what producer `id` wrote as message `seq`:
    // its size, and after the 16-byte header the body its pool gives that message.
    std::map<uint64_t, std::vector<char>> pools;
    auto valid = [&](const char* p, size_t n) {
        if (n != size_t(o.message_size)) {
            return false;
        }
        if (n < 16) {
            return true;
        }
        uint64_t seq = 0;
        std::memcpy(&seq, p + 8, 8);
        uint64_t id = seq >> 48;
        auto it = pools.find(id);
        if (it == pools.end()) {
            it = pools.emplace(id, payload_pool(o, id)).first;
        }
        return std::memcmp(p + 16, payload_body(it->second, seq & ((uint64_t(1) << 48) - 1), n - 16),
                           n - 16) == 0;
    };
    while (!t.stop.load() && now_ns() < deadline_ns && (target == 0 || int64_t(t.messages.load()) < target)) {
        if (!t.assigned.load(std::memory_order_relaxed)) {
            rd_kafka_topic_partition_list_t* mine = nullptr;
            if (rd_kafka_assignment(k, &mine) == RD_KAFKA_RESP_ERR_NO_ERROR && mine != nullptr) {
                if (mine->cnt > 0) {
                    t.assigned = true;
                }
                rd_kafka_topic_partition_list_destroy(mine);
            }
        }
        rd_kafka_message_t* m = rd_kafka_consumer_poll(k, 100);
        if (m == nullptr) {
            continue;
        }
        if (t.first_ns.load(std::memory_order_relaxed) == 0) {
            uint64_t zero = 0;
            t.first_ns.compare_exchange_strong(zero, now_ns());
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                t.errors.fetch_add(1);
            }
        } else {
            if (round_trip && m->len >= 16) {
                uint64_t sent = 0;
                std::memcpy(&sent, m->payload, 8);
                h.record(now_ns() - sent);
            }
            if (o.validate && !valid(static_cast<const char*>(m->payload), m->len)) {
                t.invalid.fetch_add(1);
            }
            t.messages.fetch_add(1, std::memory_order_relaxed);
            t.bytes.fetch_add(m->len, std::memory_order_relaxed);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(k);
    rd_kafka_destroy(k);
    t.merge(h);
}

double create_topic(const options& o) {
    rd_kafka_conf_t* c = base_conf(o);
    char err[512];
    rd_kafka_t* a = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    rd_kafka_NewTopic_t* nt =
      rd_kafka_NewTopic_new(o.topic.c_str(), o.partitions, o.replication_factor, err, sizeof err);
    rd_kafka_queue_t* q = rd_kafka_queue_new(a);
    uint64_t t0 = now_ns();
    rd_kafka_CreateTopics(a, &nt, 1, nullptr, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
    double ms = double(now_ns() - t0) / 1e6;
    if (ev != nullptr) {
        const rd_kafka_CreateTopics_result_t* r = rd_kafka_event_CreateTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t** rs = rd_kafka_CreateTopics_result_topics(r, &n);
        for (size_t i = 0; i < n; ++i) {
            auto e = rd_kafka_topic_result_error(rs[i]);
            if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                std::fprintf(stderr, "chronik-bench: cannot create %s: %s\n", o.topic.c_str(),
                             rd_kafka_err2str(e));
                std::exit(1);
            }
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(a);
    return ms;
}

void metadata_worker(const options& o, totals& t, int64_t quota, uint64_t end_ns) {
    rd_kafka_conf_t* c = base_conf(o);
    char err[512];
    rd_kafka_t* a = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    histogram h;
    for (int64_t i = 0; (quota == 0 || i < quota) && now_ns() < end_ns; ++i) {
        const rd_kafka_metadata_t* md = nullptr;
        uint64_t t0 = now_ns();
        auto e = rd_kafka_metadata(a, 1, nullptr, &md, 10000);
        if (e) {
            t.errors.fetch_add(1);
            continue;
        }
        h.record(now_ns() - t0);
        rd_kafka_metadata_destroy(md);
        t.messages.fetch_add(1);
    }
    rd_kafka_destroy(a);
    t.merge(h);
}

void progress(const options& o, totals& t, uint64_t start_ns) {
    bool tty = isatty(STDERR_FILENO) != 0;
    uint64_t last_msgs = 0;
    uint64_t last_ns = start_ns;
    auto interval = std::chrono::milliseconds(int64_t(std::max(o.report_interval_s, 0.1) * 1000));
    auto step =
      tty ? std::chrono::milliseconds(500) : std::chrono::duration_cast<std::chrono::milliseconds>(interval);
    while (!t.stop.load()) {
        // Sleeps in short steps, so the end of the run is not held up.
        auto until = clock::now() + step;
        while (!t.stop.load() && clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (t.stop.load()) {
            break;
        }
        uint64_t now = now_ns(), msgs = t.messages.load();
        double rate = double(msgs - last_msgs) / (double(now - last_ns) / 1e9);
        double elapsed = double(now - start_ns) / 1e9;
        if (tty) {
            std::string bar;
            if (o.message_count > 0) {
                int filled = int(40.0 * double(msgs) / double(o.message_count));
                bar = " [" + std::string(size_t(std::clamp(filled, 0, 40)), '#') +
                      std::string(size_t(40 - std::clamp(filled, 0, 40)), ' ') + "]";
            }
            std::fprintf(stderr, "\r%7.1fs %12" PRIu64 " msgs %10.0f msg/s %8.1f MB/s errors %" PRIu64 "%s",
                         elapsed, msgs, rate, rate * o.message_size / 1e6, t.errors.load(), bar.c_str());
        } else {
            std::fprintf(stderr, "%.1fs %" PRIu64 " msgs %.0f msg/s %.1f MB/s errors %" PRIu64 "\n", elapsed,
                         msgs, rate, rate * o.message_size / 1e6, t.errors.load());
        }
        last_msgs = msgs;
        last_ns = now;
    }
    if (tty) {
        std::fprintf(stderr, "\n");
    }
}

} // namespace
} // namespace chronik::bench

int main(int argc, char** argv) {
    using namespace chronik::bench;
    options o = parse(argc, argv);
    double create_ms = -1;
    if (o.create_topic) {
        create_ms = create_topic(o);
    }
    totals t;
    uint64_t start = now_ns();
    uint64_t warmup_end = start + uint64_t(o.warmup_s * 1e9);
    uint64_t end = o.message_count > 0 ? UINT64_MAX : warmup_end + uint64_t(o.duration_s * 1e9);
    std::thread reporter([&] { progress(o, t, start); });
    std::vector<std::thread> workers;
    if (o.mode == "produce") {
        for (int i = 0; i < o.concurrency; ++i) {
            int64_t quota = o.message_count > 0
                              ? o.message_count / o.concurrency + (i < o.message_count % o.concurrency)
                              : 0;
            workers.emplace_back([&, i, quota] { producer_worker(o, i, t, start, warmup_end, quota); });
        }
    } else if (o.mode == "consume") {
        uint64_t deadline = o.message_count > 0 ? start + 600'000'000'000ull : end;
        for (int i = 0; i < o.concurrency; ++i) {
            workers.emplace_back([&, deadline] { consumer_worker(o, t, o.message_count, false, deadline); });
        }
    } else if (o.mode == "round-trip") {
        totals sent;
        uint64_t deadline = o.message_count > 0 ? start + 600'000'000'000ull : end + 5'000'000'000ull;
        workers.emplace_back([&, deadline] { consumer_worker(o, t, o.message_count, true, deadline); });
        // The consumer must own the partitions (and have its position) before the first send.
        for (int i = 0; i < 600 && !t.assigned.load(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        std::thread producer([&] { producer_worker(o, 0, sent, now_ns(), now_ns(), o.message_count); });
        producer.join();
        t.errors += sent.errors.load();
    } else {
        for (int i = 0; i < o.concurrency; ++i) {
            int64_t quota = o.message_count > 0 ? o.message_count / o.concurrency : 0;
            workers.emplace_back([&, quota] { metadata_worker(o, t, quota, end); });
        }
    }
    for (auto& w : workers) {
        w.join();
    }
    // Produce: from the end of the warm-up; consume: from the first message (a group
    // join is not consumer throughput); others: from the start.
    bool consuming = o.mode == "consume" || o.mode == "round-trip";
    uint64_t from = o.mode == "produce"                  ? warmup_end
                    : consuming && t.first_ns.load() > 0 ? t.first_ns.load()
                                                         : start;
    double seconds = double(now_ns() - from) / 1e9;
    t.stop = true;
    reporter.join();
    uint64_t msgs = t.messages.load(), bytes = t.bytes.load();
    double msg_s = msgs / seconds, mb_s = double(bytes) / seconds / 1e6;
    auto us = [](uint64_t ns) { return double(ns) / 1000.0; };
    const char* what = o.mode == "produce"      ? "produce latency (send to ack)"
                       : o.mode == "round-trip" ? "end-to-end latency (send to receive)"
                       : o.mode == "metadata"   ? "metadata latency"
                                                : "";
    std::printf("mode %s, %d x %s, %" PRIu64 " messages of %d bytes in %.2f s\n", o.mode.c_str(),
                o.concurrency, o.mode == "consume" ? "consumers" : "clients", msgs, o.message_size, seconds);
    std::printf("throughput     %12.0f msg/s   %10.2f MB/s (10^6 bytes)\n", msg_s, mb_s);
    if (t.latency.count() > 0) {
        std::printf("%s, us: p50 %.0f  p95 %.0f  p99 %.0f  p99.9 %.0f  max %.0f\n", what,
                    us(t.latency.percentile(0.50)), us(t.latency.percentile(0.95)),
                    us(t.latency.percentile(0.99)), us(t.latency.percentile(0.999)), us(t.latency.max()));
    }
    std::printf("errors %" PRIu64 "%s\n", t.errors.load(),
                o.validate ? (" invalid " + std::to_string(t.invalid.load())).c_str() : "");
    if (create_ms >= 0) {
        std::printf("topic creation %.1f ms\n", create_ms);
    }
    auto write = [&](const std::string& path, bool json) {
        FILE* f = std::fopen(path.c_str(), "w");
        if (f == nullptr) {
            std::fprintf(stderr, "chronik-bench: cannot write %s\n", path.c_str());
            return;
        }
        if (json) {
            std::fprintf(
              f,
              "{\"mode\":\"%s\",\"concurrency\":%d,\"message_size\":%d,\"acks\":\"%s\",\"compression\":\"%"
              "s\","
              "\"messages\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"seconds\":%.3f,\"msg_per_sec\":%.1f,"
              "\"mb_per_sec\":%.3f,\"errors\":%" PRIu64 ",\"invalid\":%" PRIu64 ",\"latency_us\":"
              "{\"p50\":%.1f,\"p95\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},\"topic_creation_ms\":%."
              "2f}\n",
              o.mode.c_str(), o.concurrency, o.message_size, o.acks.c_str(), o.compression.c_str(), msgs,
              bytes, seconds, msg_s, mb_s, t.errors.load(), t.invalid.load(), us(t.latency.percentile(0.5)),
              us(t.latency.percentile(0.95)), us(t.latency.percentile(0.99)), us(t.latency.percentile(0.999)),
              us(t.latency.max()), create_ms);
        } else {
            std::fprintf(
              f, "mode,concurrency,message_size,acks,compression,messages,seconds,msg_per_sec,mb_per_sec,"
                 "errors,p50_us,p99_us,p999_us,max_us\n");
            std::fprintf(f, "%s,%d,%d,%s,%s,%" PRIu64 ",%.3f,%.1f,%.3f,%" PRIu64 ",%.1f,%.1f,%.1f,%.1f\n",
                         o.mode.c_str(), o.concurrency, o.message_size, o.acks.c_str(), o.compression.c_str(),
                         msgs, seconds, msg_s, mb_s, t.errors.load(), us(t.latency.percentile(0.5)),
                         us(t.latency.percentile(0.99)), us(t.latency.percentile(0.999)),
                         us(t.latency.max()));
        }
        std::fclose(f);
    };
    if (!o.json_output.empty()) {
        write(o.json_output, true);
    }
    if (!o.csv_output.empty()) {
        write(o.csv_output, false);
    }
    if (t.errors.load() > 0 || t.invalid.load() > 0) {
        return 1;
    }
    if (o.min_throughput > 0 && msg_s < o.min_throughput) {
        std::fprintf(stderr, "chronik-bench: %.0f msg/s is below --min-throughput %.0f\n", msg_s,
                     o.min_throughput);
        return 3;
    }
    return 0;
}
