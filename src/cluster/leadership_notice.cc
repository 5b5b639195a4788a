#include "cluster/leadership_notice.h"

#include "base/be_buffer.h"
#include "cluster/errc.h"

#include <algorithm>
#include <cstring>

namespace chronik::cluster {

bytes encode_notices(std::span<const leadership_notice> notices) {
    be_writer w;
    w.put<int32_t>(int32_t(notices.size()));
    for (const auto& n : notices) {
        for (uint8_t b : n.topic.bytes) {
            w.put<uint8_t>(b);
        }
        w.put<int32_t>(n.partition);
        w.put<int32_t>(n.leader);
        w.put<int32_t>(n.epoch);
        w.put<int16_t>(int16_t(n.isr.size()));
        for (int32_t r : n.isr) {
            w.put<int32_t>(r);
        }
    }
    return w.take();
}

result<std::vector<leadership_notice>> decode_notices(std::span<const uint8_t> frame) {
    be_reader r(frame);
    auto count = r.get<int32_t>();
    // Each notice takes at least 30 bytes: a count beyond what the frame holds is a lie.
    constexpr size_t min_notice = 16 + 3 * 4 + 2;
    if (!count || *count < 0 || size_t(*count) > max_notices_per_frame ||
        size_t(*count) > frame.size() / min_notice) {
        return errc::invalid_request;
    }
    std::vector<leadership_notice> out;
    out.reserve(size_t(*count));
    for (int32_t i = 0; i < *count; ++i) {
        leadership_notice n;
        for (auto& b : n.topic.bytes) {
            auto v = r.get<uint8_t>();
            if (!v) {
                return errc::invalid_request;
            }
            b = *v;
        }
        auto p = r.get<int32_t>();
        auto leader = r.get<int32_t>();
        auto epoch = r.get<int32_t>();
        auto isr = r.get<int16_t>();
        if (!p || !leader || !epoch || !isr || *p < 0 || *leader < -1 || *epoch < -1 || *isr < 0 ||
            size_t(*isr) > r.remaining() / 4) {
            return errc::invalid_request;
        }
        for (int16_t k = 0; k < *isr; ++k) {
            auto node = r.get<int32_t>();
            if (!node || *node < 0) {
                return errc::invalid_request;
            }
            n.isr.push_back(*node);
        }
        n.partition = *p;
        n.leader = *leader;
        n.epoch = *epoch;
        out.push_back(std::move(n));
    }
    if (r.remaining() != 0) {
        return errc::invalid_request;
    }
    return out;
}

} // namespace chronik::cluster
