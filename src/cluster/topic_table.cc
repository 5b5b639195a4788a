#include "cluster/topic_table.h"

#include <algorithm>
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
    next->_version = _version + 1;
    return next;
}

std::shared_ptr<const topic_table> topic_table::with_all(std::vector<topic_info> ts) const {
    auto next = std::make_shared<topic_table>(*this);
    for (auto& t : ts) {
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
    // "broker <node>\t<key>\t<value>" lines, then per topic
    // "topic <name> <id-hex> <partitions>" and its "config <key>\t<value>" lines.
    std::string out = "chronik-topics 1\n";
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
    }
    out += "end\n";
    return out;
}

std::optional<topic_table> topic_table::parse(std::string_view text) {
    std::istringstream in{ std::string(text) };
    std::string line;
    if (!std::getline(in, line) || line != "chronik-topics 1") {
        return std::nullopt;
    }
    std::map<std::string, topic_info> topics;
    std::map<int32_t, settings> broker;
    topic_info* current = nullptr;
    bool ended = false;
    while (std::getline(in, line)) {
        if (line == "end") {
            ended = true;
            break;
        }
        if (line.rfind("topic ", 0) == 0) {
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
            *current = topic_info{ name, *uid, partitions, {} };
        } else if (line.rfind("broker ", 0) == 0 && current == nullptr) {
            auto t1 = line.find('\t');
            auto t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
            if (t2 == std::string::npos) {
                return std::nullopt;
            }
            int32_t node = 0;
            auto digits = std::string_view(line).substr(7, t1 - 7);
            auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), node);
            if (ec != std::errc() || end != digits.data() + digits.size() || node < cluster_default) {
                return std::nullopt;
            }
            broker[node][line.substr(t1 + 1, t2 - t1 - 1)] = line.substr(t2 + 1);
        } else if (line.rfind("config ", 0) == 0 && current != nullptr) {
            auto tab = line.find('\t');
            if (tab == std::string::npos) {
                return std::nullopt;
            }
            current->configs[line.substr(7, tab - 7)] = line.substr(tab + 1);
        } else {
            return std::nullopt;
        }
    }
    if (!ended) {
        return std::nullopt; // a torn write; the previous file is still in place
    }
    topic_table t(std::move(topics));
    t._broker = std::move(broker);
    return t;
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
