#include "storage/errc.h"

#include <string>

namespace chronik::storage {

namespace {
struct category final : std::error_category {
    const char* name() const noexcept override { return "storage"; }
    std::string message(int c) const override {
        switch (errc(c)) {
            case errc::storage_error:
                return "storage error";
            case errc::offset_out_of_range:
                return "offset out of range";
            case errc::out_of_order_sequence:
                return "out of order sequence number";
            case errc::producer_fenced:
                return "producer epoch is older than the newest seen";
            case errc::corrupt_log:
                return "stored batch does not parse";
            case errc::corrupt_checkpoint:
                return "checkpoint file is damaged";
            case errc::busy:
                return "log is being truncated or compacted";
        }
        return "unknown storage error";
    }
};
} // namespace

const std::error_category& error_category() noexcept {
    static category c;
    return c;
}

} // namespace chronik::storage
