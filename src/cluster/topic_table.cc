#include "cluster/topic_table.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <functional>
#include <random>
#include <sstream>

#include <fmt/format.h>

namespace chronik::cluster {

topic_table::topic_table(std::map<std::string, topic_info> topics) {
    for (auto& [k, v] : topics) {
        put(std::move(v));
    }
}

uint64_t topic_table::next_identity() noexcept {
    static std::atomic<uint64_t> next{ 1 };
    return next.fetch_add(1, std::memory_order_relaxed);
}

std::optional<model::shard_id> topic_info::shard_on(model::node_id node, int32_t p) const {
    if (!placement || p < 0 || size_t(p) >= placement->size()) {
        return std::nullopt;
    }
    for (const auto& r : (*placement)[size_t(p)].replicas) {
        if (r.node == node) {
            return r.shard;
        }
    }
    return std::nullopt;
}

size_t topic_table::bucket_of(std::string_view name) noexcept {
    return std::hash<std::string_view>{}(name) % bucket_count;
}

size_t topic_table::bucket_of(const model::uuid& id) noexcept {
    uint64_t h = 0;
    std::memcpy(&h, id.bytes.data(), sizeof h); // random bits (random_topic_id)
    return size_t(h % bucket_count);
}

topic_table::name_bucket& topic_table::own_name_bucket(size_t i) {
    if (!_name_owned[i]) {
        _by_name[i] = _by_name[i] ? std::make_shared<const name_bucket>(*_by_name[i])
                                  : std::make_shared<const name_bucket>();
        _name_owned[i] = true;
    }
    // Owned: no other snapshot shares this bucket, and this table is not yet published.
    return const_cast<name_bucket&>(*_by_name[i]); // NOLINT(cppcoreguidelines-pro-type-const-cast)
}

topic_table::id_bucket& topic_table::own_id_bucket(size_t i) {
    if (!_id_owned[i]) {
        _by_id[i] =
          _by_id[i] ? std::make_shared<const id_bucket>(*_by_id[i]) : std::make_shared<const id_bucket>();
        _id_owned[i] = true;
    }
    return const_cast<id_bucket&>(*_by_id[i]); // NOLINT(cppcoreguidelines-pro-type-const-cast)
}

void topic_table::put(topic_info t) {
    erase(t.name);
    auto info = std::make_shared<const topic_info>(std::move(t));
    own_name_bucket(bucket_of(info->name)).emplace(info->name, info);
    own_id_bucket(bucket_of(info->id)).emplace(info->id.bytes, info);
    ++_size;
}

void topic_table::erase(std::string_view name) {
    size_t b = bucket_of(name);
    if (!_by_name[b]) {
        return;
    }
    auto found = _by_name[b]->find(name);
    if (found == _by_name[b]->end()) {
        return;
    }
    auto info = found->second;
    auto& names = own_name_bucket(b);
    names.erase(names.find(name));
    own_id_bucket(bucket_of(info->id)).erase(info->id.bytes);
    --_size;
}

const topic_info* topic_table::find(std::string_view name) const {
    const auto& b = _by_name[bucket_of(name)];
    if (!b) {
        return nullptr;
    }
    auto it = b->find(name);
    return it == b->end() ? nullptr : it->second.get();
}

const topic_info* topic_table::find(const model::uuid& id) const {
    const auto& b = _by_id[bucket_of(id)];
    if (!b) {
        return nullptr;
    }
    auto it = b->find(id.bytes);
    return it == b->end() ? nullptr : it->second.get();
}

std::vector<const topic_info*> topic_table::all() const {
    std::vector<const topic_info*> out;
    out.reserve(_size);
    for (const auto& b : _by_name) {
        if (b) {
            for (const auto& [_, t] : *b) {
                out.push_back(t.get());
            }
        }
    }
    std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
    return out;
}

std::shared_ptr<const topic_table> topic_table::with(topic_info t) const {
    std::vector<topic_info> one;
    one.push_back(std::move(t));
    return with_all(std::move(one));
}

std::shared_ptr<const topic_table> topic_table::without(std::string_view name) const {
    auto next = std::make_shared<topic_table>(*this);
    next->erase(name);
    next->_change.topics.emplace_back(name);
    next->_version = _version + 1;
    return next;
}

std::shared_ptr<const topic_table> topic_table::with_all(std::vector<topic_info> ts) const {
    auto next = std::make_shared<topic_table>(*this);
    next->_change.topics.reserve(ts.size());
    for (auto& t : ts) {
        next->_change.topics.push_back(t.name);
        next->put(std::move(t));
    }
    next->_version = _version + 1;
    return next;
}

const topic_table::settings& topic_table::broker_overrides(int32_t node) const {
    static const settings none;
    auto it = _broker.find(node);
    return it == _broker.end() ? none : it->second;
}

std::shared_ptr<const topic_table> topic_table::with_broker_overrides(int32_t node, settings s) const {
    auto next = std::make_shared<topic_table>(*this);
    if (s.empty()) {
        next->_broker.erase(node);
    } else {
        next->_broker[node] = std::move(s);
    }
    next->_change.settings = true;
    next->_version = _version + 1;
    return next;
}

std::shared_ptr<const topic_table> topic_table::with_broker(broker_registration r) const {
    auto next = std::make_shared<topic_table>(*this);
    int32_t node = r.node();
    next->_brokers.insert_or_assign(node, std::move(r));
    next->_version = _version + 1;
    return next;
}

std::shared_ptr<const topic_table> topic_table::with_producer_id_end(int64_t end) const {
    auto next = std::make_shared<topic_table>(*this);
    next->_producer_id_end = std::max(_producer_id_end, end);
    next->_version = _version + 1;
    return next;
}

namespace {

std::string hex(const model::uuid& u) {
    std::string s;
    for (uint8_t b : u.bytes) {
        s += fmt::format("{:02x}", b);
    }
    return s;
}

std::optional<model::uuid> unhex(std::string_view s) {
    if (s.size() != 32) {
        return std::nullopt;
    }
    model::uuid u;
    for (size_t i = 0; i < 16; ++i) {
        unsigned v = 0;
        for (char c : s.substr(i * 2, 2)) {
            v <<= 4;
            if (c >= '0' && c <= '9') {
                v |= unsigned(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                v |= unsigned(c - 'a' + 10);
            } else {
                return std::nullopt;
            }
        }
        u.bytes[i] = uint8_t(v);
    }
    return u;
}

// Config keys and values are Kafka names and values; neither contains a tab or newline
// once validated, and topic names cannot contain spaces.
bool plain(std::string_view s) {
    return s.find_first_of("\t\n") == std::string_view::npos;
}

} // namespace

std::string topic_table::serialize() const {
    // "producer-ids <end>", "node <id> <host> <port> <shards> <incarnation-hex>
    // <rack or ->" lines and "broker <node>\t<key>\t<value>" lines, then per topic
    // "topic <name> <id-hex> <partitions>", its "config <key>\t<value>" lines and
    // one "assign <partition> <revision> <node>:<shard>,..." line per partition.
    std::string out = "chronik-topics 1\n";
    if (_producer_id_end > 0) {
        out += fmt::format("producer-ids {}\n", _producer_id_end);
    }
    for (const auto& [node, r] : _brokers) {
        out += fmt::format("node {} {} {} {} {} {}\n", node, r.host, r.port, r.shards, hex(r.incarnation),
                           r.rack ? *r.rack : std::string("-"));
    }
    for (const auto& [node, kv] : _broker) {
        for (const auto& [k, v] : kv) {
            if (plain(k) && plain(v)) {
                out += fmt::format("broker {}\t{}\t{}\n", node, k, v);
            }
        }
    }
    for (const auto* t : all()) {
        out += fmt::format("topic {} {} {}\n", t->name, hex(t->id), t->partitions);
        for (const auto& [k, v] : t->configs) {
            if (plain(k) && plain(v)) {
                out += fmt::format("config {}\t{}\n", k, v);
            }
        }
        if (t->placement) {
            for (size_t p = 0; p < t->placement->size(); ++p) {
                const auto& a = (*t->placement)[p];
                out += fmt::format("assign {} {} ", p, a.revision);
                for (size_t i = 0; i < a.replicas.size(); ++i) {
                    out +=
                      fmt::format("{}{}:{}", i == 0 ? "" : ",", a.replicas[i].node(), a.replicas[i].shard());
                }
                out += '\n';
            }
        }
    }
    out += "end\n";
    return out;
}

namespace {

template<class T>
bool parse_number(std::string_view s, T& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// "<partition> <revision> <node>:<shard>,..." for partition `expected`.
std::optional<partition_assignment> parse_assignment(std::string_view s, size_t expected) {
    auto sp1 = s.find(' ');
    auto sp2 = sp1 == std::string_view::npos ? sp1 : s.find(' ', sp1 + 1);
    size_t p = 0;
    partition_assignment a;
    if (sp2 == std::string_view::npos || !parse_number(s.substr(0, sp1), p) || p != expected ||
        !parse_number(s.substr(sp1 + 1, sp2 - sp1 - 1), a.revision) || a.revision < 0) {
        return std::nullopt;
    }
    std::string_view list = s.substr(sp2 + 1);
    while (!list.empty()) {
        auto comma = list.find(',');
        auto one = list.substr(0, comma);
        auto colon = one.find(':');
        int32_t node = 0;
        uint32_t shard = 0;
        if (colon == std::string_view::npos || !parse_number(one.substr(0, colon), node) || node < 0 ||
            !parse_number(one.substr(colon + 1), shard)) {
            return std::nullopt;
        }
        for (const auto& r : a.replicas) {
            if (r.node() == node) {
                return std::nullopt; // two replicas on one node
            }
        }
        a.replicas.push_back({ model::node_id{ node }, model::shard_id{ shard } });
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
    if (a.replicas.empty()) {
        return std::nullopt;
    }
    return a;
}

// "<id> <host> <port> <shards> <incarnation-hex> <rack or ->".
std::optional<broker_registration> parse_registration(const std::string& s) {
    std::istringstream ls(s);
    broker_registration r;
    int32_t node = -1;
    std::string incarnation, rack;
    if (!(ls >> node >> r.host >> r.port >> r.shards >> incarnation) || node < 0 || r.port < 0 ||
        r.port > 65535 || r.shards == 0) {
        return std::nullopt;
    }
    std::getline(ls >> std::ws, rack);
    auto inc = unhex(incarnation);
    if (!inc || rack.empty()) {
        return std::nullopt;
    }
    r.node = model::node_id{ node };
    r.incarnation = *inc;
    if (rack != "-") {
        r.rack = rack;
    }
    return r;
}

} // namespace

std::optional<topic_table> topic_table::parse(std::string_view text) {
    std::istringstream in{ std::string(text) };
    std::string line;
    if (!std::getline(in, line) || line != "chronik-topics 1") {
        return std::nullopt;
    }
    std::map<std::string, topic_info> topics;
    std::map<int32_t, settings> broker;
    std::map<int32_t, broker_registration> brokers;
    int64_t producer_id_end = 0;
    topic_info* current = nullptr;
    assignments placed;
    // A topic's placement is whole (one line per partition, in order) or absent.
    auto close_topic = [&] {
        if (current == nullptr) {
            return true;
        }
        if (placed.empty()) {
            return true;
        }
        if (placed.size() != size_t(current->partitions)) {
            return false;
        }
        current->placement = std::make_shared<const assignments>(std::move(placed));
        placed.clear();
        return true;
    };
    bool ended = false;
    while (std::getline(in, line)) {
        if (line == "end") {
            ended = true;
            break;
        }
        if (line.rfind("topic ", 0) == 0) {
            if (!close_topic()) {
                return std::nullopt;
            }
            std::istringstream ls(line.substr(6));
            std::string name, id;
            int32_t partitions = 0;
            if (!(ls >> name >> id >> partitions) || partitions <= 0 || invalid_topic_name(name)) {
                return std::nullopt;
            }
            auto uid = unhex(id);
            if (!uid) {
                return std::nullopt;
            }
            current = &topics[name];
            *current = topic_info{ name, *uid, partitions, {}, nullptr };
        } else if (line.rfind("assign ", 0) == 0 && current != nullptr) {
            auto a = parse_assignment(std::string_view(line).substr(7), placed.size());
            if (!a || placed.size() >= size_t(current->partitions)) {
                return std::nullopt;
            }
            placed.push_back(std::move(*a));
        } else if (line.rfind("node ", 0) == 0 && current == nullptr) {
            auto r = parse_registration(line.substr(5));
            if (!r) {
                return std::nullopt;
            }
            int32_t node = r->node();
            brokers.insert_or_assign(node, std::move(*r));
        } else if (line.rfind("producer-ids ", 0) == 0 && current == nullptr) {
            if (!parse_number(std::string_view(line).substr(13), producer_id_end) || producer_id_end < 0) {
                return std::nullopt;
            }
        } else if (line.rfind("broker ", 0) == 0 && current == nullptr) {
            auto t1 = line.find('\t');
            auto t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
            if (t2 == std::string::npos) {
                return std::nullopt;
            }
            int32_t node = 0;
            auto digits = std::string_view(line).substr(7, t1 - 7);
            if (!parse_number(digits, node) || node < cluster_default) {
                return std::nullopt;
            }
            broker[node][line.substr(t1 + 1, t2 - t1 - 1)] = line.substr(t2 + 1);
        } else if (line.rfind("config ", 0) == 0 && current != nullptr && placed.empty()) {
            auto tab = line.find('\t');
            if (tab == std::string::npos) {
                return std::nullopt;
            }
            current->configs[line.substr(7, tab - 7)] = line.substr(tab + 1);
        } else {
            return std::nullopt;
        }
    }
    if (!ended || !close_topic()) {
        return std::nullopt; // a torn write; the previous file is still in place
    }
    topic_table t(std::move(topics));
    t._broker = std::move(broker);
    t._brokers = std::move(brokers);
    t._producer_id_end = producer_id_end;
    return t;
}

uint64_t group_prefix(const model::uuid& topic) noexcept {
    uint64_t h = 0;
    std::memcpy(&h, topic.bytes.data() + 8, sizeof h); // random bits (random_topic_id)
    constexpr uint64_t bits = 43;
    return (h & ((uint64_t(1) << bits) - 1)) | (uint64_t(1) << (bits - 1));
}

int64_t partition_group(const model::uuid& topic, int32_t p) noexcept {
    return int64_t((group_prefix(topic) << 20) | (uint64_t(p) & uint64_t(max_partitions_per_group_id - 1)));
}

std::optional<std::string> invalid_topic_name(std::string_view name) {
    if (name.empty()) {
        return "the empty string is not a valid topic name";
    }
    if (name == "." || name == "..") {
        return fmt::format("'{}' is not a valid topic name", name);
    }
    if (name.size() > 249) {
        return fmt::format("topic name is {} characters; at most 249 are allowed", name.size());
    }
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '-';
        if (!ok) {
            return fmt::format(
              "topic name '{}' contains a character other than ASCII alphanumerics, '.', '_' "
              "and '-'",
              name);
        }
    }
    return std::nullopt;
}

model::uuid random_topic_id() {
    static thread_local std::mt19937_64 rng{ std::random_device{}() };
    model::uuid u;
    do {
        for (size_t i = 0; i < 16; i += 8) {
            uint64_t r = rng();
            for (size_t j = 0; j < 8; ++j) {
                u.bytes[i + j] = uint8_t(r >> (8 * j));
            }
        }
    } while (u.is_zero());
    return u;
}

} // namespace chronik::cluster
