#pragma once
#include <system_error>

namespace chronik::record {

enum class [[nodiscard]] errc{
    corrupt_message = 1,     // bad CRC, bad sizes, truncated batch
    invalid_record,          // a record inside a batch does not parse or counts disagree
    unsupported_compression, // codec bits 5..7, or a codec with bad framing
    bad_compressed_data,     // the compressed payload does not decompress
    too_large,               // decompressed data beyond the caller's limit
    unsupported_magic,
};

const std::error_category& error_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
    return { int(e), error_category() };
}

} // namespace chronik::record

template<>
struct std::is_error_code_enum<chronik::record::errc> : std::true_type {};
