#pragma once
// Raft messages on the wire between nodes. Every group's messages for one peer
// travel in one rpc frame (so one tick's heartbeats cost one frame per node pair),
// encoded as the schema-generated `raft_messages_data`
// (kafka/protocol/schema/raft_messages.schema: Chronik's own schema, built with
// the same generator as the Kafka messages).
#include "base/iobuf.h"
#include "base/result.h"
#include "raft/types.h"

#include <cstdint>
#include <span>
#include <vector>

namespace chronik::cluster {

// A message and the Raft group it belongs to (0: the controller).
struct addressed_message {
    int64_t group = 0;
    raft::message msg;
};

iobuf encode_raft_messages(std::span<const addressed_message> msgs);

// A peer's frame. Bytes the schema cannot decode, or a message a correct peer
// never sends, fail the whole frame with errc::invalid_request and never abort:
// an unknown type, a term or index below zero, an entry covering no index, entries
// that do not follow each other, or a snapshot chunk past the snapshot's size.
result<std::vector<addressed_message>> decode_raft_messages(byte_slice frame);

} // namespace chronik::cluster
