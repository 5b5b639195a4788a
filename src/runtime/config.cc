#include "runtime/config.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace chronik::runtime {

namespace {

template<class T>
bool parse_int(std::string_view v, T& out, T min, T max, std::string& why) {
    long long x = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (ec != std::errc{} || p != v.data() + v.size()) {
        why = fmt::format("'{}' is not an integer", v);
        return false;
    }
    if (x < (long long)min || x > (long long)max) {
        why = fmt::format("{} is outside [{}, {}]", x, min, max);
        return false;
    }
    out = T(x);
    return true;
}

bool parse_ms(std::string_view v, std::chrono::milliseconds& out, int64_t min, int64_t max,
              std::string& why) {
    int64_t ms = 0;
    if (!parse_int<int64_t>(v, ms, min, max, why)) {
        return false;
    }
    out = std::chrono::milliseconds(ms);
    return true;
}

bool valid_host_port(std::string_view v, std::string& why) {
    auto colon = v.rfind(':');
    uint32_t port = 0;
    if (colon == std::string_view::npos || colon == 0 ||
        !parse_int<uint32_t>(v.substr(colon + 1), port, 0, 65535, why)) {
        why = fmt::format("'{}' is not HOST:PORT", v);
        return false;
    }
    return true;
}

} // namespace

bool parse_voters(std::string_view v, std::vector<config::voter>& out, std::string& why) {
    out.clear();
    while (!v.empty()) {
        auto comma = v.find(',');
        std::string_view one = v.substr(0, comma);
        v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
        auto at = one.find('@');
        config::voter w;
        if (at == std::string_view::npos ||
            !parse_int<int32_t>(one.substr(0, at), w.node_id, 0, 1 << 30, why) ||
            !valid_host_port(one.substr(at + 1), why)) {
            why = fmt::format("'{}' is not NODE_ID@HOST:PORT", one);
            return false;
        }
        auto hp = one.substr(at + 1);
        auto colon = hp.rfind(':');
        w.host = std::string(hp.substr(0, colon));
        uint32_t port = 0;
        (void)parse_int<uint32_t>(hp.substr(colon + 1), port, 1, 65535, why);
        w.port = uint16_t(port);
        if (w.port == 0) {
            why = fmt::format("'{}': port 0 cannot be reached", one);
            return false;
        }
        if (std::any_of(out.begin(), out.end(),
                        [&](const config::voter& o) { return o.node_id == w.node_id; })) {
            why = fmt::format("node {} is listed twice", w.node_id);
            return false;
        }
        out.push_back(std::move(w));
    }
    if (out.empty()) {
        why = "no voters listed";
        return false;
    }
    return true;
}

namespace {

const std::vector<config_key> keys = {
    { "listen", "HOST:PORT the Kafka listener binds (default 127.0.0.1:9092)",
      [](config& c, std::string_view v, std::string& why) {
          c.listen = v;
          return valid_host_port(v, why);
      } },
    { "advertised_listener", "HOST:PORT given to clients in metadata (default: listen)",
      [](config& c, std::string_view v, std::string& why) {
          c.advertised_listener = v;
          return v.empty() || valid_host_port(v, why);
      } },
    { "data_dir", "directory holding the logs (default ./data)",
      [](config& c, std::string_view v, std::string& why) {
          if (v.empty()) {
              why = "must not be empty";
              return false;
          }
          c.data_dir = v;
          return true;
      } },
    { "node_id", "this broker's id (default 0)",
      [](config& c, std::string_view v, std::string& why) {
          return parse_int<int32_t>(v, c.node_id, 0, 1 << 30, why);
      } },
    { "rpc_listen", "HOST:PORT of the internal listener other nodes of the cluster reach (default: none)",
      [](config& c, std::string_view v, std::string& why) {
          c.rpc_listen = v;
          return v.empty() || valid_host_port(v, why);
      } },
    { "voters",
      "the controller's voters, NODE_ID@HOST:RPC_PORT,... (default: none, a single node); a node not "
      "listed joins as a broker",
      [](config& c, std::string_view v, std::string& why) {
          return v.empty() ? (c.voters.clear(), true) : parse_voters(v, c.voters, why);
      } },
    { "smp", "number of shards, one thread each (default: one per core)",
      [](config& c, std::string_view v, std::string& why) {
          return parse_int<uint32_t>(v, c.smp, 0, 256, why);
      } },
    { "log_level", "trace, debug, info, warn, error or off (default info)",
      [](config& c, std::string_view v, std::string& why) {
          if (!parse_log_level(v, c.log)) {
              why = fmt::format("'{}' is not one of trace, debug, info, warn, error, off", v);
              return false;
          }
          return true;
      } },
    { "stall_threshold_ms", "report a shard whose task runs longer than this (default 50)",
      [](config& c, std::string_view v, std::string& why) {
          return parse_ms(v, c.stall_threshold, 1, 3'600'000, why);
      } },
    { "max_frame_bytes",
      "largest request accepted; a larger size prefix closes the connection (default 104857600)",
      [](config& c, std::string_view v, std::string& why) {
          return parse_int<uint64_t>(v, c.max_frame_bytes, 64, 1ull << 31, why);
      } },
    { "max_inflight_requests_per_connection",
      "requests read ahead of their responses on one connection (default 32)",
      [](config& c, std::string_view v, std::string& why) {
          return parse_int<uint32_t>(v, c.max_inflight_requests_per_connection, 1, 1024, why);
      } },
    { "request_memory_bytes",
      "per shard, bytes of requests read but not yet answered; readers wait beyond it (default 268435456)",
      [](config& c, std::string_view v, std::string& why) {
          return parse_int<uint64_t>(v, c.request_memory_bytes, 1 << 20, 1ull << 40, why);
      } },
    { "max_connections", "connections accepted per shard before new ones are refused (default 10000)",
      [](config& c, std::string_view v, std::string& why) {
          return parse_int<uint32_t>(v, c.max_connections, 1, 1'000'000, why);
      } },
    { "request_read_timeout_ms",
      "a partial request is closed after this long without enough bytes arriving (default 30000)",
      [](config& c, std::string_view v, std::string& why) {
          return parse_ms(v, c.request_read_timeout, 1, 86'400'000, why);
      } },
    { "request_min_read_rate_bytes",
      "bytes per second a partial request must arrive at to earn time beyond request_read_timeout_ms; "
      "0: the whole request within it (default 65536)",
      [](config& c, std::string_view v, std::string& why) {
          return parse_int<uint64_t>(v, c.request_min_read_rate, 0, 1ull << 40, why);
      } },
};

const config_key* find_key(std::string_view name) {
    auto it = std::find_if(keys.begin(), keys.end(), [&](const config_key& k) { return k.name == name; });
    return it == keys.end() ? nullptr : &*it;
}

// Kafka-named settings ("num.partitions") go to config::kafka and are validated by
// the broker; ours are snake_case without dots.
bool is_kafka_name(std::string_view name) {
    return name.find('.') != std::string_view::npos;
}

bool apply(config& c, std::string_view name, std::string_view value, std::string_view source,
           std::string& error) {
    if (is_kafka_name(name)) {
        c.kafka[std::string(name)] = std::string(value);
        return true;
    }
    const config_key* k = find_key(name);
    if (k == nullptr && name == "admin_listen") {
        // Refused by name until the endpoint exists, so nobody waits for a port
        // that never opens.
        error = fmt::format("'admin_listen' (from {}): the HTTP admin and /metrics endpoint is not built yet",
                            source);
        return false;
    }
    if (k == nullptr) {
        error = fmt::format("unknown configuration key '{}' (from {})", name, source);
        return false;
    }
    std::string why;
    if (!k->set(c, value, why)) {
        error = fmt::format("bad value for '{}' (from {}): {}", name, source, why);
        return false;
    }
    return true;
}

std::string toml_scalar(const toml::node& n) {
    if (auto s = n.value<std::string>()) {
        return *s;
    }
    if (auto i = n.value<int64_t>()) {
        return std::to_string(*i);
    }
    if (auto b = n.value<bool>()) {
        return *b ? "true" : "false";
    }
    if (auto d = n.value<double>()) {
        return fmt::format("{}", *d);
    }
    return {};
}

bool load_toml(config& c, const std::string& path, std::string& error) {
    toml::table table;
    try {
        table = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        error = fmt::format("cannot read config file {}: {}", path, e.description());
        return false;
    }
    bool ok = true;
    // Top-level keys are ours; a [kafka] table carries Kafka-named settings.
    table.for_each([&](const toml::key& key, const toml::node& node) {
        if (!ok) {
            return;
        }
        std::string source = fmt::format("{} line {}", path, key.source().begin.line);
        if (key.str() == "kafka" && node.is_table()) {
            node.as_table()->for_each([&](const toml::key& k2, const toml::node& n2) {
                if (ok && !n2.is_table() && !n2.is_array()) {
                    c.kafka[std::string(k2.str())] = toml_scalar(n2);
                }
            });
            return;
        }
        if (node.is_table() || node.is_array()) {
            error = fmt::format("unknown configuration key '{}' (from {})", key.str(), source);
            ok = false;
            return;
        }
        ok = apply(c, key.str(), toml_scalar(node), source, error);
    });
    return ok;
}

} // namespace

const std::vector<config_key>& config_keys() {
    return keys;
}

result<config> load_config(const std::vector<std::string>& args, char** envp, std::string& error) {
    config c;
    auto fail = [&] { return std::make_error_code(std::errc::invalid_argument); };

    // 1. the file named by --config (or CHRONIK_CONFIG).
    std::string file;
    if (const char* e = std::getenv("CHRONIK_CONFIG")) {
        file = e;
    }
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--config" && i + 1 < args.size()) {
            file = args[i + 1];
        } else if (args[i].rfind("--config=", 0) == 0) {
            file = args[i].substr(9);
        }
    }
    if (!file.empty() && !load_toml(c, file, error)) {
        return fail();
    }

    // 2. CHRONIK_<KEY> environment variables (CHRONIK_CONFIG names the file).
    for (char** e = envp; e != nullptr && *e != nullptr; ++e) {
        std::string_view kv(*e);
        if (kv.rfind("CHRONIK_", 0) != 0) {
            continue;
        }
        auto eq = kv.find('=');
        if (eq == std::string_view::npos) {
            continue;
        }
        std::string name(kv.substr(8, eq - 8));
        if (name == "CONFIG") {
            continue;
        }
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char ch) { return std::tolower(ch); });
        if (!apply(c, name, kv.substr(eq + 1), fmt::format("environment variable {}", kv.substr(0, eq)),
                   error)) {
            return fail();
        }
    }

    // 3. flags: --data-dir DIR or --data-dir=DIR; --smp N; --set kafka.name=value.
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a.rfind("--", 0) != 0) {
            error = fmt::format("unexpected argument '{}'", a);
            return fail();
        }
        std::string name = a.substr(2);
        std::string value;
        auto eq = name.find('=');
        if (eq != std::string::npos) {
            value = name.substr(eq + 1);
            name.resize(eq);
        } else if (i + 1 < args.size()) {
            value = args[++i];
        } else {
            error = fmt::format("flag '{}' needs a value", a);
            return fail();
        }
        if (name == "config") {
            continue;
        }
        if (name == "set") {
            auto e2 = value.find('=');
            if (e2 == std::string::npos) {
                error = fmt::format("--set wants NAME=VALUE, got '{}'", value);
                return fail();
            }
            // --set names Kafka settings, a few of which have no dot ("listeners").
            if (find_key(value.substr(0, e2)) == nullptr) {
                c.kafka[value.substr(0, e2)] = value.substr(e2 + 1);
                continue;
            }
            if (!apply(c, value.substr(0, e2), value.substr(e2 + 1), "flag --set", error)) {
                return fail();
            }
            continue;
        }
        std::replace(name.begin(), name.end(), '-', '_');
        if (!apply(c, name, value, fmt::format("flag {}", a), error)) {
            return fail();
        }
    }
    if (c.advertised_listener.empty()) {
        c.advertised_listener = c.listen;
    }
    if (!c.voters.empty() && c.rpc_listen.empty()) {
        error = "'voters' needs 'rpc_listen': the other nodes reach this one there";
        return fail();
    }
    if (c.voters.empty() && !c.rpc_listen.empty()) {
        error = "'rpc_listen' needs 'voters': the cluster's controller voters";
        return fail();
    }
    return c;
}

std::string config_usage() {
    std::string out;
    for (const auto& k : keys) {
        std::string flag(k.name);
        std::replace(flag.begin(), flag.end(), '_', '-');
        out += fmt::format("  --{:<40} {}\n", flag + " VALUE", k.help);
    }
    out +=
      fmt::format("  --{:<40} {}\n", "config FILE", "TOML file with the keys above (and a [kafka] table)");
    out += fmt::format("  --{:<40} {}\n", "set NAME=VALUE", "a Kafka broker setting, e.g. num.partitions=3");
    return out;
}

} // namespace chronik::runtime
