#pragma once
// Transport errors as values. A call that fails with `disconnected` or `timed_out`
// may or may not have run on the peer: callers (Raft) treat both as "no answer".
#include <system_error>

namespace chronik::rpc {

enum class [[nodiscard]] errc{
    timed_out = 1,  // no answer before the call's deadline
    disconnected,   // the connection failed or closed before the answer arrived
    overloaded,     // the peer's queue of unanswered calls is full: refused at once
    unknown_peer,   // no address is known for the node
    unknown_method, // the peer serves no such method
    remote_error,   // the peer's handler failed
    shutting_down,  // the pool or the server is stopping
    frame_too_large // the request is larger than the frame limit
};

const std::error_category& error_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
    return { int(e), error_category() };
}

} // namespace chronik::rpc

template<>
struct std::is_error_code_enum<chronik::rpc::errc> : std::true_type {};
