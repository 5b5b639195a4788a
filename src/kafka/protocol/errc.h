#pragma once
// Why a request could not be decoded. These never reach a client as such: a request
// that does not decode closes the connection, as Kafka does.
#include <system_error>

namespace chronik::protocol {

enum class [[nodiscard]] errc{
    truncated = 1,    // fewer bytes than a length or fixed-size field needs
    bad_length,       // a negative length where none is allowed, or longer than the frame
    bad_varint,       // an unsigned varint over 5 bytes or past the end
    null_not_allowed, // a null string/bytes/array where this version has none
    bad_string,       // a compact string length of 0 where null is not allowed
    unsupported_version,
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return { int(e), error_category() };
}
inline std::error_code make_error(errc e) noexcept {
    return make_error_code(e);
}

} // namespace chronik::protocol

template<>
struct std::is_error_code_enum<chronik::protocol::errc> : std::true_type {};
