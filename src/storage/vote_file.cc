#include "storage/vote_file.h"

#include "base/assert.h"
#include "storage/errc.h"

#include <string_view>
#include <system_error>

namespace chronik::storage {

namespace {
constexpr size_t max_vote_bytes = 64; // "0\n" and two numbers
} // namespace

result<raft_vote> load_vote(file_ops& ops, const std::string& dir) {
    CHRONIK_TRY(auto text, read_checkpoint(ops, dir + "/" + vote_file_name, max_vote_bytes));
    if (!text) {
        return raft_vote{};
    }
    std::string_view in = *text;
    int version = -1;
    int64_t term = -1;
    int32_t voted = -2;
    if (!take_number(in, '\n', version) || version != 0 || !take_number(in, ' ', term) ||
        !take_number(in, '\n', voted) || !in.empty() || term < 0 || voted < -1) {
        return errc::corrupt_checkpoint;
    }
    raft_vote v{ model::term_id{ term }, std::nullopt };
    if (voted >= 0) {
        v.voted_for = model::node_id{ voted };
    }
    return v;
}

result<void> store_vote(file_ops& ops, const std::string& dir, const raft_vote& prev, const raft_vote& next) {
    CHRONIK_ASSERT(next.term > prev.term ||
                     (next.term == prev.term && (!prev.voted_for || prev.voted_for == next.voted_for)),
                   "a Raft vote never goes back: a lower term, or a second vote in one term");
    std::string text = "0\n" + std::to_string(next.term.value()) + " " +
                       std::to_string(next.voted_for ? next.voted_for->value() : -1) + "\n";
    if (int rc = replace_file(ops, dir + "/" + vote_file_name, text.data(), text.size()); rc < 0) {
        return std::error_code(-rc, std::system_category());
    }
    if (int rc = sync_dir(dir); rc < 0) {
        return std::error_code(-rc, std::system_category());
    }
    return outcome::success();
}

} // namespace chronik::storage
