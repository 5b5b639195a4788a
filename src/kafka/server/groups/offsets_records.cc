#include "kafka/server/groups/offsets_records.h"

#include "base/be_buffer.h"

namespace chronik::kafka::groups {

namespace {

using out_buf = be_writer;
using in_buf = be_reader;

std::error_code malformed() {
    return std::make_error_code(std::errc::illegal_byte_sequence);
}

} // namespace

int32_t java_string_hash(std::string_view utf8) noexcept {
    uint32_t h = 0;
    auto add = [&](uint32_t unit) { h = 31 * h + unit; };
    for (size_t i = 0; i < utf8.size();) {
        auto c = uint8_t(utf8[i]);
        uint32_t cp = c;
        size_t len = 1;
        size_t rest = utf8.size() - i;
        if (c >= 0xf0 && rest >= 4) {
            cp = (c & 0x07u) << 18 | (uint8_t(utf8[i + 1]) & 0x3fu) << 12 |
                 (uint8_t(utf8[i + 2]) & 0x3fu) << 6 | (uint8_t(utf8[i + 3]) & 0x3fu);
            len = 4;
        } else if (c >= 0xe0 && rest >= 3) {
            cp = (c & 0x0fu) << 12 | (uint8_t(utf8[i + 1]) & 0x3fu) << 6 | (uint8_t(utf8[i + 2]) & 0x3fu);
            len = 3;
        } else if (c >= 0xc0 && rest >= 2) {
            cp = (c & 0x1fu) << 6 | (uint8_t(utf8[i + 1]) & 0x3fu);
            len = 2;
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            add(0xd800 + (cp >> 10));
            add(0xdc00 + (cp & 0x3ff));
        } else {
            add(cp);
        }
        i += len;
    }
    return int32_t(h);
}

int32_t offsets_partition_for(std::string_view group, int32_t partitions) noexcept {
    if (partitions <= 0) {
        return 0;
    }
    return int32_t(uint32_t(java_string_hash(group)) & 0x7fffffffu) % partitions;
}

bytes encode_offset_key(const offset_key& k) {
    out_buf o;
    o.put<int16_t>(1);
    o.str(k.group);
    o.str(k.topic);
    o.put<int32_t>(k.partition);
    return o.take();
}

bytes encode_offset_value(const offset_value& v) {
    out_buf o;
    o.put<int16_t>(3);
    o.put<int64_t>(v.offset);
    o.put<int32_t>(v.leader_epoch);
    o.str(v.metadata);
    o.put<int64_t>(v.commit_timestamp);
    return o.take();
}

bytes encode_group_key(const group_key& k) {
    out_buf o;
    o.put<int16_t>(2);
    o.str(k.group);
    return o.take();
}

bytes encode_group_value(const group_value& v) {
    out_buf o;
    o.put<int16_t>(3);
    o.str(v.protocol_type);
    o.put<int32_t>(v.generation);
    o.nullable_str(v.protocol);
    o.nullable_str(v.leader);
    o.put<int64_t>(v.state_timestamp);
    o.put<int32_t>(int32_t(v.members.size()));
    for (const auto& m : v.members) {
        o.str(m.id);
        o.nullable_str(m.instance_id);
        o.str(m.client_id);
        o.str(m.client_host);
        o.put<int32_t>(m.rebalance_timeout_ms);
        o.put<int32_t>(m.session_timeout_ms);
        o.blob(m.subscription);
        o.blob(m.assignment);
    }
    return o.take();
}

result<group_value> decode_group_value(std::span<const uint8_t> in) {
    in_buf r(in);
    auto version = r.get<int16_t>();
    if (!version || *version < 0 || *version > 4) {
        return malformed();
    }
    group_value v;
    auto type = r.str();
    auto generation = r.get<int32_t>();
    auto protocol = r.nullable_str();
    auto leader = r.nullable_str();
    if (!type || !generation || !protocol || !leader) {
        return malformed();
    }
    v.protocol_type = std::move(*type);
    v.generation = *generation;
    v.protocol = std::move(*protocol);
    v.leader = std::move(*leader);
    if (*version >= 2) {
        auto ts = r.get<int64_t>();
        if (!ts) {
            return malformed();
        }
        v.state_timestamp = *ts;
    }
    auto n = r.get<int32_t>();
    // Every member takes at least 18 bytes: no allocation beyond what the bytes back.
    if (!n || *n < 0 || size_t(*n) > r.remaining() / 18) {
        return malformed();
    }
    for (int32_t i = 0; i < *n; ++i) {
        group_value::member m;
        auto id = r.str();
        std::optional<std::optional<std::string>> instance = std::optional<std::string>();
        if (*version >= 3) {
            instance = r.nullable_str();
        }
        auto client = r.str();
        auto host = r.str();
        std::optional<int32_t> rebalance = 0;
        if (*version >= 1) {
            rebalance = r.get<int32_t>();
        }
        auto session = r.get<int32_t>();
        auto sub = r.blob();
        auto assignment = r.blob();
        if (!id || !instance || !client || !host || !rebalance || !session || !sub || !assignment) {
            return malformed();
        }
        m.id = std::move(*id);
        m.instance_id = std::move(*instance);
        m.client_id = std::move(*client);
        m.client_host = std::move(*host);
        m.rebalance_timeout_ms = *rebalance;
        m.session_timeout_ms = *session;
        m.subscription = std::move(*sub);
        m.assignment = std::move(*assignment);
        v.members.push_back(std::move(m));
    }
    return v;
}

result<std::variant<offset_key, group_key, other_key>> decode_key(std::span<const uint8_t> in) {
    using key = std::variant<offset_key, group_key, other_key>;
    in_buf r(in);
    auto version = r.get<int16_t>();
    if (!version) {
        return malformed();
    }
    if (*version == 2) {
        auto group = r.str();
        if (!group || r.remaining() != 0) {
            return malformed();
        }
        return key(group_key{ std::move(*group) });
    }
    if (*version != 0 && *version != 1) {
        return key(other_key{ *version });
    }
    offset_key k;
    auto group = r.str();
    auto topic = r.str();
    auto partition = r.get<int32_t>();
    if (!group || !topic || !partition || r.remaining() != 0) {
        return malformed();
    }
    k.group = std::move(*group);
    k.topic = std::move(*topic);
    k.partition = *partition;
    return key(std::move(k));
}

result<offset_value> decode_offset_value(std::span<const uint8_t> in) {
    in_buf r(in);
    auto version = r.get<int16_t>();
    if (!version || *version < 0 || *version > 4) {
        return malformed();
    }
    offset_value v;
    auto offset = r.get<int64_t>();
    if (!offset) {
        return malformed();
    }
    v.offset = *offset;
    if (*version >= 3) {
        auto epoch = r.get<int32_t>();
        if (!epoch) {
            return malformed();
        }
        v.leader_epoch = *epoch;
    }
    auto metadata = r.str();
    auto ts = r.get<int64_t>();
    if (!metadata || !ts) {
        return malformed();
    }
    v.metadata = std::move(*metadata);
    v.commit_timestamp = *ts;
    if (*version == 1 && !r.get<int64_t>()) { // expire timestamp, unused since Kafka 2.1
        return malformed();
    }
    return v;
}

} // namespace chronik::kafka::groups
