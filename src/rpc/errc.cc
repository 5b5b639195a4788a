#include "rpc/errc.h"

#include <string>

namespace chronik::rpc {

namespace {
struct category final : std::error_category {
    const char* name() const noexcept override { return "rpc"; }
    std::string message(int c) const override {
        switch (errc(c)) {
            case errc::timed_out:
                return "no answer before the deadline";
            case errc::disconnected:
                return "the connection to the peer closed";
            case errc::overloaded:
                return "too many unanswered calls to the peer";
            case errc::unknown_peer:
                return "no address for the node";
            case errc::unknown_method:
                return "the peer serves no such method";
            case errc::remote_error:
                return "the peer's handler failed";
            case errc::shutting_down:
                return "the transport is stopping";
            case errc::frame_too_large:
                return "the message is larger than the frame limit";
        }
        return "unknown rpc error";
    }
};
} // namespace

const std::error_category& error_category() noexcept {
    static category c;
    return c;
}

} // namespace chronik::rpc
