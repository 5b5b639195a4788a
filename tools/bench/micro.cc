// chronik-microbench: Google Benchmark over the hot pieces of the data path, so a
// change that slows one shows up as a number, on a quiet run, not as a flaky timed
// test. `build/bin/chronik-microbench` (add --benchmark_filter=... to pick).
#include "kafka/protocol/messages.h"
#include "raft_group.h"
#include "record/batch.h"
#include "record/crc.h"
#include "storage/partition_log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

#include <benchmark/benchmark.h>

using namespace chronik;

namespace {

bytes make_batch(int records, size_t value_size, record::codec c = record::codec::none) {
    std::vector<record::record_input> in(static_cast<size_t>(records));
    std::mt19937_64 rng(1);
    for (auto& r : in) {
        r.value = bytes(value_size);
        for (auto& b : *r.value) {
            b = uint8_t(rng());
        }
        r.timestamp = 1000;
    }
    record::batch_options o;
    o.compression = c;
    return record::build_batch(in, o).value();
}

void crc32c(benchmark::State& s) {
    bytes data(size_t(s.range(0)), 7);
    for (auto _ : s) {
        benchmark::DoNotOptimize(record::crc32c(data));
    }
    s.SetBytesProcessed(int64_t(s.iterations()) * s.range(0));
}
BENCHMARK(crc32c)->Arg(1024)->Arg(16 * 1024)->Arg(1 << 20);

// What Produce checks of every batch: sizes, CRC, and each record of a plain batch.
void validate_batch(benchmark::State& s) {
    bytes b = make_batch(int(s.range(0)), 1024);
    for (auto _ : s) {
        benchmark::DoNotOptimize(record::validate_batch(b));
    }
    s.SetBytesProcessed(int64_t(s.iterations()) * int64_t(b.size()));
    s.SetItemsProcessed(int64_t(s.iterations()) * s.range(0));
}
BENCHMARK(validate_batch)->Arg(1)->Arg(16)->Arg(256);

// Offset assignment and the page-cache append of a 16-record 1 KiB batch.
void partition_append(benchmark::State& s) {
    auto dir = std::filesystem::temp_directory_path() / ("chronik-microbench-" + std::to_string(::getpid()));
    storage::log_config cfg;
    cfg.segment_bytes = 256u << 20;
    auto log = storage::partition_log::open(storage::file_ops::real(), dir.string(), cfg, 0).value();
    bytes proto = make_batch(16, 1024);
    bytes b = proto;
    for (auto _ : s) {
        std::copy(proto.begin(), proto.end(), b.begin());
        benchmark::DoNotOptimize(log->append(std::span<uint8_t>(b), 1000));
    }
    s.SetBytesProcessed(int64_t(s.iterations()) * int64_t(b.size()));
    s.SetItemsProcessed(int64_t(s.iterations()) * 16);
    log.reset();
    std::filesystem::remove_all(dir);
}
BENCHMARK(partition_append);

// A fetch-sized read at a random offset: index lookup plus one pread.
void partition_read(benchmark::State& s) {
    auto dir =
      std::filesystem::temp_directory_path() / ("chronik-microbench-r-" + std::to_string(::getpid()));
    storage::log_config cfg;
    cfg.segment_bytes = 64u << 20;
    auto log = storage::partition_log::open(storage::file_ops::real(), dir.string(), cfg, 0).value();
    bytes proto = make_batch(16, 1024);
    for (int i = 0; i < 8192; ++i) {
        bytes b = proto;
        (void)log->append(std::span<uint8_t>(b), 1000);
    }
    log->set_high_watermark(log->log_end_offset());
    std::mt19937_64 rng(2);
    for (auto _ : s) {
        int64_t at = int64_t(rng() % uint64_t(log->log_end_offset()));
        benchmark::DoNotOptimize(log->read(at, size_t(s.range(0)), true));
    }
    s.SetBytesProcessed(int64_t(s.iterations()) * s.range(0));
    log.reset();
    std::filesystem::remove_all(dir);
}
BENCHMARK(partition_read)->Arg(64 * 1024)->Arg(1 << 20);

// Decoding a Produce request (v9, flexible) carrying one 16-record batch.
void produce_request_decode(benchmark::State& s) {
    protocol::produce_request_data req;
    req.acks = -1;
    req.timeout_ms = 30000;
    auto& t = req.topic_data.emplace_back();
    t.name = "orders";
    auto& p = t.partition_data.emplace_back();
    p.index = 3;
    p.records = byte_slice::from(make_batch(16, 1024));
    iobuf out;
    protocol::writer w(out);
    req.encode(w, 9);
    auto frame = byte_slice::from(out.linearize());
    for (auto _ : s) {
        protocol::reader r(frame);
        protocol::produce_request_data d;
        benchmark::DoNotOptimize(d.decode(r, 9));
    }
    s.SetBytesProcessed(int64_t(s.iterations()) * int64_t(frame.size()));
}
BENCHMARK(produce_request_decode);

// One three-node Raft group in memory committing small entries, in batches of
// range(0) proposals: entries/s through the whole protocol on all three nodes.
void raft_commit(benchmark::State& s) {
    bench::raft_group g;
    uint64_t n = 0;
    for (auto _ : s) {
        n += g.commit(size_t(s.range(0)), 64);
    }
    s.SetItemsProcessed(int64_t(n));
}
BENCHMARK(raft_commit)->Arg(1)->Arg(64);

} // namespace

// `chronik-microbench --raft-commit-entries N` commits N 64-byte entries in batches
// of 64 and exits: bench/run.py runs it under callgrind at two N and divides the
// difference, for instructions per committed entry without start-up costs.
int main(int argc, char** argv) {
    if (argc == 3 && std::strcmp(argv[1], "--raft-commit-entries") == 0) {
        uint64_t want = std::strtoull(argv[2], nullptr, 10), done = 0;
        bench::raft_group g;
        while (done < want) {
            done += g.commit(64, 64);
        }
        std::printf("%llu entries committed\n", (unsigned long long)done);
        return 0;
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
