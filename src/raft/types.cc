#include "raft/types.h"

#include "base/endian.h"
#include "raft/errc.h"

#include <string>

namespace chronik::raft {

// voters: u32 count, i32 ids; learners: u32 count, i32 ids (big-endian).
bytes encode_config(const configuration& c) {
    bytes out(8 + 4 * (c.voters.size() + c.learners.size()));
    uint8_t* p = out.data();
    auto put = [&](const std::set<node_id>& s) {
        store_be<uint32_t>(p, uint32_t(s.size()));
        p += 4;
        for (auto n : s) {
            store_be<int32_t>(p, n());
            p += 4;
        }
    };
    put(c.voters);
    put(c.learners);
    return out;
}

result<configuration> decode_config(std::span<const uint8_t> in) {
    configuration c;
    size_t pos = 0;
    auto get = [&](std::set<node_id>& s) -> bool {
        if (in.size() - pos < 4) {
            return false;
        }
        uint32_t n = load_be<uint32_t>(in.data() + pos);
        pos += 4;
        if (n > (in.size() - pos) / 4) {
            return false; // the count is checked against the bytes before anything is built
        }
        for (uint32_t k = 0; k < n; ++k) {
            s.insert(node_id{ load_be<int32_t>(in.data() + pos) });
            pos += 4;
        }
        return true;
    };
    if (!get(c.voters) || !get(c.learners) || pos != in.size()) {
        return errc::bad_message;
    }
    return c;
}

const char* to_string(msg_type t) noexcept {
    switch (t) {
        case msg_type::vote:
            return "vote";
        case msg_type::vote_response:
            return "vote_response";
        case msg_type::pre_vote:
            return "pre_vote";
        case msg_type::pre_vote_response:
            return "pre_vote_response";
        case msg_type::append:
            return "append";
        case msg_type::append_response:
            return "append_response";
        case msg_type::heartbeat:
            return "heartbeat";
        case msg_type::heartbeat_response:
            return "heartbeat_response";
        case msg_type::snapshot:
            return "snapshot";
        case msg_type::snapshot_response:
            return "snapshot_response";
        case msg_type::timeout_now:
            return "timeout_now";
        case msg_type::read_index:
            return "read_index";
        case msg_type::read_index_response:
            return "read_index_response";
    }
    return "?";
}

namespace {
struct category final : std::error_category {
    const char* name() const noexcept override { return "raft"; }
    std::string message(int c) const override {
        switch (errc(c)) {
            case errc::not_leader:
                return "not the leader";
            case errc::transfer_in_progress:
                return "leadership transfer in progress";
            case errc::proposal_dropped:
                return "too many uncommitted bytes";
            case errc::config_change_pending:
                return "a membership change is pending";
            case errc::invalid_config:
                return "invalid membership change";
            case errc::no_leader:
                return "no known leader";
            case errc::bad_message:
                return "malformed message";
        }
        return "unknown raft error";
    }
};
} // namespace

const std::error_category& error_category() noexcept {
    static category c;
    return c;
}

} // namespace chronik::raft
