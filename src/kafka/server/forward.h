#pragma once
// Admin requests from any node (KIP-590's forwarding, over Chronik's rpc instead
// of an Envelope request). DeleteTopics, CreatePartitions, AlterConfigs and
// IncrementalAlterConfigs change the controller's table, which only the
// controller's leader may do; one that reaches another node goes to the leader as
// it came (API key, version, client id and body bytes), is handled there as if a
// client had sent it, and the leader's response frame goes back to the client with
// the client's correlation id. A forwarded request is never forwarded again: if
// the lead moved meanwhile its handler answers NOT_CONTROLLER and the client
// retries. With no leader known, or the leader unreachable, the request is handled
// where it arrived (and answers NOT_CONTROLLER / the controller's unavailability).
// CreateTopics is forwarded by the topic store itself (topic_store::forward_create).
#include "base/iobuf.h"
#include "base/result.h"
#include "kafka/protocol/reader.h"
#include "kafka/server/request_context.h"
#include "runtime/asio.h"

#include <cstdint>
#include <optional>

namespace chronik::kafka {

class broker;

// The rpc method, on shard 0 of the controller's leader.
inline constexpr uint16_t forward_method = 0x14;

// Whether `api_key` changes the controller's table and is forwarded.
bool forwarded_api(int16_t api_key) noexcept;

// The response frame from the controller's leader, or nullopt when the request is
// to be handled here (this node leads the controller, none is known, or the call
// failed). `body` is left where it was.
awaitable<std::optional<iobuf>> forward_to_controller(const request_context& ctx,
                                                      const protocol::reader& body);

// The controller's side: runs a forwarded request through `b` (shard 0's broker)
// and answers its response frame.
awaitable<result<iobuf>> serve_forwarded(broker& b, byte_slice payload);

} // namespace chronik::kafka
