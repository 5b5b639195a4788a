#include "kafka/protocol/errc.h"
#include "kafka/protocol/error_code.h"

#include <cctype>
#include <map>
#include <string>

namespace {
std::string upper(std::string s) {
    for (auto& c : s) {
        c = char(std::toupper(static_cast<unsigned char>(c)));
    }
    return s;
}
} // namespace

namespace chronik::protocol {

std::string_view error_name(error_code e) noexcept {
    // Built once, on first use: Kafka's upper-case spelling of each name.
    static const auto names = [] {
        std::map<int16_t, std::string> m;
#define CHRONIK_X(name, code) m[code] = upper(#name);
        CHRONIK_KAFKA_ERRORS(CHRONIK_X)
#undef CHRONIK_X
        return m;
    }();
    auto it = names.find(int16_t(e));
    return it == names.end() ? std::string_view("UNKNOWN") : std::string_view(it->second);
}

namespace {
class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "kafka.protocol"; }
    std::string message(int c) const override {
        switch (errc(c)) {
            case errc::truncated:
                return "truncated: fewer bytes than the field needs";
            case errc::bad_length:
                return "bad length: negative or past the end of the frame";
            case errc::bad_varint:
                return "bad varint";
            case errc::null_not_allowed:
                return "null where this version allows none";
            case errc::bad_string:
                return "bad string";
            case errc::unsupported_version:
                return "unsupported version";
        }
        return "unknown protocol error";
    }
};
} // namespace

const std::error_category& error_category() noexcept {
    static const category c;
    return c;
}

} // namespace chronik::protocol
