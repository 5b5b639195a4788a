#include "storage/producer_state.h"

#include <limits>

namespace chronik::storage {

namespace {
int32_t next_sequence(int32_t seq) noexcept {
    return seq == std::numeric_limits<int32_t>::max() ? 0 : seq + 1;
}
} // namespace

int32_t producer_state::last_sequence(int32_t first_seq, int32_t record_count) noexcept {
    // Sequences wrap to 0 after INT32_MAX, as Kafka's do.
    int64_t last = int64_t(first_seq) + record_count - 1;
    return int32_t(last % (int64_t(std::numeric_limits<int32_t>::max()) + 1));
}

producer_state::verdict producer_state::check(int64_t producer_id, int16_t epoch, int32_t first_seq,
                                              int32_t last_seq) const {
    auto it = _producers.find(producer_id);
    if (it == _producers.end()) {
        // Unknown producer (new, or its state expired with the log): accept, as Kafka does.
        return {};
    }
    const entry& e = it->second;
    if (epoch < e.epoch) {
        return { sequence_check::fenced, {} };
    }
    if (epoch > e.epoch) {
        return first_seq == 0 ? verdict{} : verdict{ sequence_check::out_of_order, {} };
    }
    for (const auto& b : e.batches) {
        if (b.first_seq == first_seq && b.last_seq == last_seq) {
            return { sequence_check::duplicate, b };
        }
    }
    if (!e.batches.empty() && first_seq != next_sequence(e.batches.back().last_seq)) {
        return { sequence_check::out_of_order, {} };
    }
    return {};
}

void producer_state::record(int64_t producer_id, int16_t epoch, const producer_batch& b) {
    entry& e = _producers[producer_id];
    if (epoch != e.epoch) {
        e.epoch = epoch;
        e.batches.clear();
    }
    e.batches.push_back(b);
    while (e.batches.size() > batches_kept) {
        e.batches.pop_front();
    }
}

void producer_state::trim(int64_t log_start_offset) {
    for (auto it = _producers.begin(); it != _producers.end();) {
        auto& q = it->second.batches;
        while (!q.empty() && q.front().last_offset < log_start_offset) {
            q.pop_front();
        }
        it = q.empty() ? _producers.erase(it) : std::next(it);
    }
}

} // namespace chronik::storage
