#include "cluster/errc.h"

#include <string>

namespace chronik::cluster {

namespace {
struct category final : std::error_category {
    const char* name() const noexcept override { return "cluster"; }
    std::string message(int c) const override {
        switch (errc(c)) {
            case errc::not_leader:
                return "this replica does not lead the partition";
            case errc::shutting_down:
                return "the partition is closing";
        }
        return "unknown cluster error";
    }
};
} // namespace

const std::error_category& error_category() noexcept {
    static category c;
    return c;
}

} // namespace chronik::cluster
