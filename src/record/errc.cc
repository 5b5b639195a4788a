#include "record/errc.h"

#include <string>

namespace chronik::record {

namespace {
class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "kafka.record"; }
    std::string message(int c) const override {
        switch (errc(c)) {
            case errc::corrupt_message:
                return "corrupt message: bad CRC, size or framing";
            case errc::invalid_record:
                return "invalid record";
            case errc::unsupported_compression:
                return "unsupported compression";
            case errc::bad_compressed_data:
                return "compressed payload does not decompress";
            case errc::too_large:
                return "decompressed data over the limit";
            case errc::unsupported_magic:
                return "unsupported magic";
        }
        return "unknown record error";
    }
};
} // namespace

const std::error_category& error_category() noexcept {
    static const category c;
    return c;
}

} // namespace chronik::record
