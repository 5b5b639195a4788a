#pragma once
// Storage errors as values. The Kafka layer maps them to protocol error codes.
#include <system_error>

namespace chronik::storage {

enum class [[nodiscard]] errc{
    storage_error = 1,   // the disk failed (EIO, ENOSPC, ...): KAFKA_STORAGE_ERROR
    offset_out_of_range, // below the log start or beyond the log end
    out_of_order_sequence,
    producer_fenced,    // an idempotent producer's epoch is older than the newest seen
    corrupt_log,        // a stored batch does not parse
    corrupt_checkpoint, // a checkpoint file (leader epochs) is not one this code wrote
    busy,               // a suffix truncation is running, or one cannot start yet; retry
};

const std::error_category& error_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
    return { int(e), error_category() };
}

} // namespace chronik::storage

template<>
struct std::is_error_code_enum<chronik::storage::errc> : std::true_type {};
