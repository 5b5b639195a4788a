#include "model/uuid.h"

namespace chronik::model {

std::string uuid::to_string() const {
    // URL-safe base64 without padding, as Kafka's Uuid.toString prints.
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (uint8_t b : bytes) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(alphabet[(acc >> bits) & 0x3f]);
        }
    }
    if (bits > 0) {
        out.push_back(alphabet[(acc << (6 - bits)) & 0x3f]);
    }
    return out;
}

} // namespace chronik::model
