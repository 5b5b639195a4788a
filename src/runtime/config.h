#pragma once
// Broker configuration. Precedence, lowest first: built-in defaults, the TOML file
// given with --config, CHRONIK_* environment variables (CHRONIK_DATA_DIR for
// data_dir), then command-line flags (--data-dir). Unknown keys and bad values are
// refused at start with a message that names the key and where it came from.
#include "base/logger.h"
#include "base/result.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace chronik::runtime {

struct config {
    std::string listen = "127.0.0.1:9092";
    std::string advertised_listener; // host:port given to clients; defaults to listen
    std::string data_dir = "./data";
    int32_t node_id = 0;
    // The cluster: HOST:PORT of the internal (node to node) listener, and the
    // controller's voters. No voters: a single node, as without a cluster.
    std::string rpc_listen;
    struct voter {
        int32_t node_id = 0;
        std::string host;
        uint16_t port = 0;
        bool operator==(const voter&) const = default;
    };
    std::vector<voter> voters;
    uint32_t smp = 0; // shards; 0 = one per core
    log_level log = log_level::info;
    std::chrono::milliseconds stall_threshold{ 50 };
    uint64_t max_frame_bytes = 100ull * 1024 * 1024;
    uint32_t max_inflight_requests_per_connection = 32;
    // Per shard: request bytes read but not yet answered (Kafka: queued.max.request.bytes).
    uint64_t request_memory_bytes = 256ull * 1024 * 1024;
    uint32_t max_connections = 10000;
    // A frame being read must arrive fast enough (see connection.h): it has this long
    // from its first byte, plus one second per `request_min_read_rate` bytes that
    // arrive, but never more than this long past the last bytes that arrived.
    std::chrono::milliseconds request_read_timeout{ 30'000 };
    uint64_t request_min_read_rate = 64 * 1024; // bytes per second
    // Kafka broker settings with Kafka's names (e.g. "num.partitions"), as given;
    // the broker validates the ones it knows when it starts.
    std::map<std::string, std::string> kafka;
};

// "1@host:9093,2@host:9094": the voters, each once; why not, if malformed.
bool parse_voters(std::string_view v, std::vector<config::voter>& out, std::string& why);

// What one configuration key is: its name (snake_case), help text and how to set it.
struct config_key {
    std::string_view name;
    std::string_view help;
    bool (*set)(config&, std::string_view value, std::string& why);
};
const std::vector<config_key>& config_keys();

// Builds the configuration from every source. `args` are the flags after the
// subcommand (e.g. {"--listen", "0.0.0.0:9092"}); env is consulted for CHRONIK_*.
// On error, the message names the offending key and its source.
result<config> load_config(const std::vector<std::string>& args, char** envp, std::string& error);

std::string config_usage();

} // namespace chronik::runtime
