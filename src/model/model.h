#pragma once
// Identifiers shared by every module.
#include "base/strong_type.h"

#include <cstdint>

namespace chronik::model {

using offset = strong_type<int64_t, struct offset_tag>;
using term_id = strong_type<int64_t, struct term_tag>;
using node_id = strong_type<int32_t, struct node_tag>;
using partition_id = strong_type<int32_t, struct partition_tag>;
using producer_id = strong_type<int64_t, struct producer_tag>;
using producer_epoch = strong_type<int16_t, struct producer_epoch_tag>;
using shard_id = strong_type<uint32_t, struct shard_tag>;

} // namespace chronik::model
