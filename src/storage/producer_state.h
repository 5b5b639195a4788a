#pragma once
// Idempotent-producer state of one partition: for each producer id, its epoch and
// its last five batches, so a retried batch is recognised and answered with the
// offsets it got the first time. Rebuilt from the log's batch headers at start-up.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>

namespace chronik::storage {

struct producer_batch {
    int32_t first_seq;
    int32_t last_seq;
    int64_t base_offset;
    int64_t last_offset;
    int64_t max_timestamp = -1;
};

enum class sequence_check { accept, duplicate, out_of_order, fenced };

class producer_state {
public:
    static constexpr size_t batches_kept = 5;

    struct verdict {
        sequence_check check = sequence_check::accept;
        producer_batch original{}; // for duplicate
    };

    verdict check(int64_t producer_id, int16_t epoch, int32_t first_seq, int32_t last_seq) const;
    void record(int64_t producer_id, int16_t epoch, const producer_batch& b);
    size_t producers() const noexcept { return _producers.size(); }
    // DescribeProducers: every producer with its epoch and newest batch.
    template<class F>
    void for_each(F&& visit) const {
        for (const auto& [id, e] : _producers) {
            if (!e.batches.empty()) {
                visit(id, e.epoch, e.batches.back());
            }
        }
    }
    // Forgets batches below the log start offset (their records are gone).
    void trim(int64_t log_start_offset);

    static int32_t last_sequence(int32_t first_seq, int32_t record_count) noexcept;

private:
    struct entry {
        int16_t epoch = -1;
        std::deque<producer_batch> batches;
    };
    std::unordered_map<int64_t, entry> _producers;
};

} // namespace chronik::storage
