#include "storage/epoch_cache.h"

#include "base/assert.h"
#include "storage/errc.h"

#include <algorithm>
#include <string_view>
#include <system_error>

#include <fcntl.h>

namespace chronik::storage {

namespace {

// A checkpoint holds one line per epoch; more than this many is not one of ours.
constexpr size_t max_checkpoint_bytes = 16u << 20;

} // namespace

result<epoch_cache> epoch_cache::load(file_ops& ops, const std::string& dir) {
    CHRONIK_TRY(auto text, read_checkpoint(ops, dir + "/" + file_name, max_checkpoint_bytes));
    if (!text) {
        return epoch_cache{};
    }
    std::string_view in = *text;
    int version = -1;
    size_t count = 0;
    if (!take_number(in, '\n', version) || version != 0 || !take_number(in, '\n', count) ||
        count > in.size() / 4) { // each line takes at least "0 0\n"
        return errc::corrupt_checkpoint;
    }
    std::vector<epoch_entry> entries;
    entries.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        epoch_entry e{};
        if (!take_number(in, ' ', e.epoch) || !take_number(in, '\n', e.start_offset) || e.epoch < 0 ||
            e.start_offset < 0 ||
            (!entries.empty() &&
             (e.epoch <= entries.back().epoch || e.start_offset < entries.back().start_offset))) {
            return errc::corrupt_checkpoint;
        }
        entries.push_back(e);
    }
    if (!in.empty()) {
        return errc::corrupt_checkpoint;
    }
    return epoch_cache(std::move(entries));
}

result<void> epoch_cache::store(file_ops& ops, const std::string& dir) const {
    std::string text = "0\n" + std::to_string(_entries.size()) + "\n";
    for (const auto& e : _entries) {
        text += std::to_string(e.epoch) + " " + std::to_string(e.start_offset) + "\n";
    }
    if (int rc = replace_file(ops, dir + "/" + file_name, text.data(), text.size()); rc < 0) {
        return std::error_code(-rc, std::system_category());
    }
    return outcome::success();
}

void epoch_cache::assign(int32_t epoch, int64_t base) {
    if (!_entries.empty() && epoch == _entries.back().epoch) {
        return;
    }
    CHRONIK_ASSERT(epoch >= 0 && (_entries.empty() ||
                                  (epoch > _entries.back().epoch && base >= _entries.back().start_offset)),
                   "a new leader epoch is newer than the last and starts after it");
    _entries.push_back({ epoch, base });
    _dirty = true;
}

int32_t epoch_cache::epoch_at(int64_t offset) const noexcept {
    int32_t found = -1;
    for (const auto& e : _entries) {
        if (e.start_offset > offset) {
            break;
        }
        found = e.epoch;
    }
    return found;
}

void epoch_cache::truncate_from(int64_t offset) {
    auto it = std::find_if(_entries.begin(), _entries.end(),
                           [&](const epoch_entry& e) { return e.start_offset >= offset; });
    if (it != _entries.end()) {
        _entries.erase(it, _entries.end());
        _dirty = true;
    }
}

void epoch_cache::truncate_to_start(int64_t offset) {
    // The last entry starting at or before offset - 1 holds the batch that ends at
    // the new start: it stays, with its own start, so the epoch of that batch (the
    // term of a Raft snapshot at the log start) stays known. Those before it go.
    auto covering = std::find_if(_entries.rbegin(), _entries.rend(),
                                 [&](const epoch_entry& e) { return e.start_offset < offset; });
    if (covering == _entries.rend()) {
        return; // every epoch starts at or after the new log start
    }
    auto first_kept = std::prev(covering.base());
    if (first_kept != _entries.begin()) {
        _entries.erase(_entries.begin(), first_kept);
        _dirty = true;
    }
}

epoch_end epoch_cache::end_offset_for(int32_t epoch, int64_t log_end) const noexcept {
    if (epoch < 0 || _entries.empty()) {
        return {};
    }
    if (epoch == _entries.back().epoch) {
        return { epoch, log_end };
    }
    auto higher = std::upper_bound(_entries.begin(), _entries.end(), epoch,
                                   [](int32_t e, const epoch_entry& x) { return e < x.epoch; });
    if (higher == _entries.end()) {
        return {}; // newer than any epoch this log has seen
    }
    if (higher == _entries.begin()) {
        // Older than the first epoch still in the log: it ended where that one began.
        return { epoch, higher->start_offset };
    }
    return { std::prev(higher)->epoch, higher->start_offset };
}

} // namespace chronik::storage
