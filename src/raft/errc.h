#pragma once
// Raft errors as values: what a proposal, read or membership change can fail with.
#include <system_error>

namespace chronik::raft {

enum class [[nodiscard]] errc{
    not_leader = 1,        // only the leader takes proposals; retry at the current leader
    transfer_in_progress,  // leadership is being handed over; retry at the new leader
    proposal_dropped,      // the uncommitted-bytes bound is reached (backpressure)
    config_change_pending, // an earlier change is uncommitted, or no entry of this term is committed yet
    invalid_config,        // more than one voter changes, no voters, or a node is voter and learner
    no_leader,             // a read or transfer needs a known leader
    bad_message,           // a peer sent something malformed
};

const std::error_category& error_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
    return { int(e), error_category() };
}

} // namespace chronik::raft

template<>
struct std::is_error_code_enum<chronik::raft::errc> : std::true_type {};
