#pragma once
// A Raft group's durable vote: the newest term this replica has seen and the node it
// voted for in that term. Raft needs both on disk before a vote or an append answer
// leaves the node. A replica that forgot them in a restart could vote twice in one
// term and elect two leaders. A sole voter has no one to vote for, and its term
// lives in the leader-epoch checkpoint (cluster/README.md). Groups with peers keep
// this file:
//
//     0          version
//     7 2        term, then the node voted for in it (-1: none)
//
// stored as `<dir>/raft-vote`. It is written whole to a temporary file, fdatasynced
// and renamed over the old one, then the directory is synced: a crash leaves the old
// vote or the new one, and a stored vote is durable when store returns.
#include "base/result.h"
#include "model/model.h"
#include "storage/file_ops.h"

#include <optional>
#include <string>

namespace chronik::storage {

struct raft_vote {
    model::term_id term{ 0 };
    std::optional<model::node_id> voted_for;
    bool operator==(const raft_vote&) const = default;
};

inline constexpr const char* vote_file_name = "raft-vote";

// The stored vote. An absent file is term 0 with no vote; a file this code did not
// write is errc::corrupt_checkpoint.
result<raft_vote> load_vote(file_ops& ops, const std::string& dir);
// Blocking (the I/O worker, or start-up). A vote may not go back in time: a lower
// term, or another node in the same term, is a caller bug (asserted against `prev`).
result<void> store_vote(file_ops& ops, const std::string& dir, const raft_vote& prev, const raft_vote& next);

} // namespace chronik::storage
