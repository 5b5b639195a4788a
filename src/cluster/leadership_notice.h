#pragma once
// What a partition's leader tells the nodes that hold no replica of it, so their
// Metadata and FindCoordinator name the real leader (a node with a replica learns
// it from its own replica). Sent over rpc (`method`) when a replica takes the lead
// or its ISR changes, and again to a node that registers anew (a restart). The
// wire form: an int32 count, then per notice the topic id (16 bytes), partition,
// leader and epoch (int32 each), an int16 ISR count and the ISR's node ids.
#include "base/bytes.h"
#include "base/result.h"
#include "model/uuid.h"

#include <cstdint>
#include <span>
#include <vector>

namespace chronik::cluster {

struct leadership_notice {
    model::uuid topic;
    int32_t partition = 0;
    int32_t leader = -1;
    int32_t epoch = -1;
    std::vector<int32_t> isr;
    bool operator==(const leadership_notice&) const = default;
};

inline constexpr uint16_t leadership_notice_method = 0x13;
// The most notices one frame carries (a sender splits beyond it).
inline constexpr size_t max_notices_per_frame = 10'000;

bytes encode_notices(std::span<const leadership_notice> notices);
// errc::invalid_request for bytes a correct peer never sends (short, trailing
// bytes, more notices or ISR members than the frame can hold, negative ids).
result<std::vector<leadership_notice>> decode_notices(std::span<const uint8_t> frame);

} // namespace chronik::cluster
