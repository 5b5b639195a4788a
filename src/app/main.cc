// chronik-server: the broker process.
//
//   chronik-server start [--listen HOST:PORT] [--data-dir DIR] [--config FILE] [...]
//
// SIGINT/SIGTERM stop it cleanly: stop accepting, answer in-flight requests, close;
// within shutdown_bound (10 s) in any case.
#include "base/logger.h"
#include "cluster/config_catalog.h"
#include "cluster/leadership_notice.h"
#include "cluster/raft_service.h"
#include "cluster/topic_store.h"
#include "kafka/server/forward.h"
#include "kafka/server/server.h"
#include "rpc/client.h"
#include "rpc/server.h"
#include "runtime/config.h"
#include "runtime/io_worker.h"
#include "runtime/shard.h"
#include "runtime/stall_detector.h"
#include "storage/log_manager.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <fmt/core.h>
#include <malloc.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

extern char** environ;

namespace {

chronik::logger log{ "main" };

// The longest a SIGINT/SIGTERM shutdown may take before the process exits anyway.
constexpr auto shutdown_bound = std::chrono::seconds(10);

// Partition directories of topics deleted while the broker was down; blocking,
// before any shard serves.
void remove_orphan_partitions(const std::string& data_dir, const chronik::cluster::topic_table& table) {
    namespace fs = std::filesystem;
    std::set<std::string> expected;
    for (const auto* t : table.all()) {
        for (int32_t p = 0; p < t->partitions; ++p) {
            expected.insert(
              fs::path(chronik::storage::log_manager::partition_dir(data_dir, t->name, t->id, p))
                .filename()
                .string());
        }
    }
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(data_dir + "/logs", ec)) {
        if (e.is_directory() && !expected.contains(e.path().filename().string())) {
            log.info("removing {} (its topic no longer exists)", e.path().string());
            fs::remove_all(e.path(), ec);
        }
    }
}

// Holds `<data_dir>/.lock` (flock) for the life of the process, as Kafka locks each
// log directory: a second broker on the same directory refuses to start instead of
// writing the same segments. The kernel drops the lock when the process exits, so
// a restarted broker can start only once the old one is really gone. The file
// holds the owner's pid, for the message.
bool lock_data_dir(const std::string& data_dir, std::string& error) {
    std::string path = data_dir + "/.lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        error = fmt::format("cannot open {}: {}", path, std::strerror(errno));
        return false;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        char pid[32] = {};
        ssize_t n = ::pread(fd, pid, sizeof(pid) - 1, 0);
        std::string owner = n > 0 ? std::string(pid, size_t(n)) : "?";
        while (!owner.empty() && (owner.back() == '\n' || owner.back() == ' ')) {
            owner.pop_back();
        }
        error =
          err == EWOULDBLOCK
            ? fmt::format("data directory {} is in use by another chronik-server (pid {})", data_dir, owner)
            : fmt::format("cannot lock {}: {}", path, std::strerror(err));
        ::close(fd);
        return false;
    }
    auto text = fmt::format("{}\n", ::getpid());
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) < 0) {
        log.warn("cannot write the pid into {}: {}", path, std::strerror(errno));
    }
    return true; // the descriptor stays open until exit
}

// Every partition placed on this node is opened at start and holds a descriptor,
// so the soft limit on open files (often 1024) is raised to the hard one, as
// Kafka's operators are told to do by hand.
void raise_open_file_limit() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        rlim_t was = lim.rlim_cur;
        lim.rlim_cur = lim.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
            log.warn("cannot raise the open-file limit from {}: {}", was, std::strerror(errno));
        }
    }
}

// HOST:PORT as a TCP endpoint (a name is resolved once, at start); why not, if it
// cannot be.
std::optional<boost::asio::ip::tcp::endpoint> resolve(const std::string& host, uint16_t port,
                                                      std::string& why) {
    boost::asio::io_context ctx;
    boost::asio::ip::tcp::resolver r(ctx);
    boost::system::error_code ec;
    auto found = r.resolve(host, std::to_string(port), ec);
    if (ec || found.empty()) {
        why = fmt::format("cannot resolve {}: {}", host, ec ? ec.message() : "no address");
        return std::nullopt;
    }
    return found.begin()->endpoint();
}

// The cluster's transport on this node: each shard's connection pool and Raft
// groups (shard 0's include the controller), and the internal listener on shard 0,
// which hands each shard's Raft frames to that shard. Built only with voters.
struct cluster_transport {
    std::vector<std::unique_ptr<chronik::rpc::connection_pool>> pools;
    std::vector<std::unique_ptr<chronik::cluster::raft_service>> rafts;
    std::unique_ptr<chronik::rpc::server> server;

    std::vector<chronik::cluster::raft_service*> raft_services() const {
        std::vector<chronik::cluster::raft_service*> out;
        for (const auto& r : rafts) {
            out.push_back(r.get());
        }
        return out;
    }

    // Blocking: stops listening, then on every shard ends calls in flight and the
    // groups' traffic.
    void stop(chronik::runtime::shard_group& shards) {
        if (pools.empty()) {
            return;
        }
        if (server) {
            std::promise<void> done;
            chronik::asio::co_spawn(
              shards.at(0).executor(),
              [](chronik::rpc::server& s) -> chronik::awaitable<void> { co_await s.stop(); }(*server),
              [&done](std::exception_ptr) { done.set_value(); });
            done.get_future().wait();
        }
        for (unsigned s = 0; s < pools.size(); ++s) {
            std::promise<void> done;
            chronik::asio::co_spawn(
              shards.at(s).executor(),
              [](chronik::rpc::connection_pool& pool,
                 chronik::cluster::raft_service& raft) -> chronik::awaitable<void> {
                  co_await pool.stop();
                  co_await raft.stop();
              }(*pools[s], *rafts[s]),
              [&done](std::exception_ptr) { done.set_value(); });
            done.get_future().wait();
        }
    }
};

void usage() {
    fmt::print(stderr,
               "usage: chronik-server start [options]\n\n"
               "Starts a Kafka-compatible broker. Options (also settable as CHRONIK_<NAME> environment\n"
               "variables or keys in a TOML --config file):\n{}",
               chronik::runtime::config_usage());
}

int start(const std::vector<std::string>& args) {
    std::string error;
    auto loaded = chronik::runtime::load_config(args, environ, error);
    if (!loaded) {
        fmt::print(stderr, "chronik-server: {}\n", error);
        return 2;
    }
    const chronik::runtime::config cfg = std::move(loaded).value();
    chronik::set_log_level(cfg.log);
    // Kafka-named broker settings must be ones we know, with valid values.
    for (const auto& [name, value] : cfg.kafka) {
        if (auto why = chronik::cluster::validate_static_broker_setting(name, value)) {
            fmt::print(stderr, "chronik-server: broker setting '{}': {}\n", name, *why);
            return 2;
        }
    }

    std::error_code ec;
    std::filesystem::create_directories(cfg.data_dir, ec);
    if (ec) {
        fmt::print(stderr, "chronik-server: cannot create data_dir {}: {}\n", cfg.data_dir, ec.message());
        return 1;
    }
    if (!lock_data_dir(cfg.data_dir, error)) {
        fmt::print(stderr, "chronik-server: {}\n", error);
        return 1;
    }
    raise_open_file_limit();

    // Shard threads inherit this mask, so only the main thread takes the signals.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    unsigned smp = cfg.smp != 0 ? cfg.smp : std::max(1u, std::thread::hardware_concurrency());
    chronik::runtime::stall_detector stalls(cfg.stall_threshold);
    chronik::runtime::shard_group shards(smp, &stalls);
    // The topic store's own worker; every shard has one for its partitions.
    chronik::runtime::io_worker io;
    chronik::kafka::server* srv_ptr = nullptr;
    cluster_transport transport;
    chronik::cluster::controller_options ctl;
    if (auto it = cfg.kafka.find("default.replication.factor"); it != cfg.kafka.end()) {
        ctl.default_replication_factor = int16_t(std::clamp(std::stoi(it->second), 1, 32767));
    }
    std::optional<boost::asio::ip::tcp::endpoint> rpc_at;
    if (!cfg.voters.empty()) {
        if (std::none_of(cfg.voters.begin(), cfg.voters.end(),
                         [&](const auto& v) { return v.node_id == cfg.node_id; })) {
            fmt::print(stderr,
                       "chronik-server: node {} is not among the voters; broker-only nodes are not "
                       "supported yet\n",
                       cfg.node_id);
            return 2;
        }
        auto colon = cfg.rpc_listen.rfind(':');
        rpc_at = resolve(cfg.rpc_listen.substr(0, colon),
                         uint16_t(std::stoi(cfg.rpc_listen.substr(colon + 1))), error);
        if (!rpc_at) {
            fmt::print(stderr, "chronik-server: rpc_listen: {}\n", error);
            return 2;
        }
        for (unsigned s = 0; s < smp; ++s) {
            auto ex = shards.at(s).executor();
            transport.pools.push_back(
              std::make_unique<chronik::rpc::connection_pool>(ex, chronik::rpc::client_limits{}));
            transport.rafts.push_back(std::make_unique<chronik::cluster::raft_service>(
              ex, chronik::model::node_id{ cfg.node_id }, transport.pools.back().get(),
              chronik::cluster::raft_timing{}));
        }
        for (const auto& v : cfg.voters) {
            ctl.voters.push_back(chronik::model::node_id{ v.node_id });
            if (v.node_id == cfg.node_id) {
                continue;
            }
            auto at = resolve(v.host, v.port, error);
            if (!at) {
                fmt::print(stderr, "chronik-server: voters: {}\n", error);
                return 2;
            }
            for (auto& pool : transport.pools) {
                pool->set_peer(chronik::model::node_id{ v.node_id }, *at);
            }
        }
        ctl.raft = transport.rafts[0].get();
        ctl.pool = transport.pools[0].get();
    }
    chronik::cluster::topic_store topics(
      cfg.data_dir + "/cluster", chronik::model::node_id{ cfg.node_id }, io, shards,
      [&srv_ptr](unsigned shard, std::shared_ptr<const chronik::cluster::topic_table> t) {
          srv_ptr->broker_on(shard).set_topics(std::move(t));
      },
      ctl);
    chronik::kafka::server srv(cfg, shards, topics, transport.raft_services());
    srv_ptr = &srv;
    if (!topics.load_blocking(error)) {
        fmt::print(stderr, "chronik-server: {}\n", error);
        transport.stop(shards);
        shards.stop();
        return 1;
    }
    if (rpc_at) {
        // The internal listener, on shard 0: Raft frames for its groups, and the
        // controller's methods.
        std::promise<std::string> listening;
        chronik::asio::post(shards.at(0).executor(), [&] {
            transport.server =
              std::make_unique<chronik::rpc::server>(shards.at(0).executor(), chronik::rpc::server_limits{});
            for (unsigned s = 0; s < smp; ++s) {
                // A frame for another shard is decoded and stepped there.
                auto* raft = transport.rafts[s].get();
                transport.server->register_method(
                  chronik::cluster::raft_service::method_for(chronik::model::shard_id{ s }),
                  [raft, s,
                   &shards](chronik::byte_slice p) -> chronik::awaitable<chronik::result<chronik::iobuf>> {
                      // (An error_code: what crosses shards is default-constructible.)
                      auto step = [raft, p = std::move(p)]() {
                          auto ok = raft->deliver(p);
                          return ok ? std::error_code() : ok.error();
                      };
                      auto failed = co_await shards.invoke_on(s, std::move(step));
                      if (failed) {
                          co_return failed;
                      }
                      co_return chronik::iobuf{};
                  });
            }
            transport.server->register_method(
              chronik::cluster::topic_store::method_register_broker,
              [&topics](chronik::byte_slice p) { return topics.serve_register_broker(std::move(p)); });
            transport.server->register_method(
              chronik::cluster::topic_store::method_producer_ids,
              [&topics](chronik::byte_slice p) { return topics.serve_producer_ids(std::move(p)); });
            // A leader's word on partitions this node holds no replica of: every
            // shard's Metadata takes it.
            transport.server->register_method(
              chronik::cluster::leadership_notice_method,
              [&srv, &shards](chronik::byte_slice p) -> chronik::awaitable<chronik::result<chronik::iobuf>> {
                  auto notices = chronik::cluster::decode_notices(p.span());
                  if (!notices) {
                      co_return notices.error();
                  }
                  auto shared = std::make_shared<const std::vector<chronik::cluster::leadership_notice>>(
                    std::move(notices).value());
                  for (unsigned s = 0; s < shards.size(); ++s) {
                      chronik::asio::post(shards.at(s).executor(), [b = &srv.broker_on(s), shared] {
                          for (const auto& n : *shared) {
                              b->note_leadership(n.topic, n.partition, { n.leader, n.epoch, n.isr });
                          }
                      });
                  }
                  co_return chronik::iobuf{};
              });
            transport.server->register_method(
              chronik::cluster::topic_store::method_create_topics,
              [&topics](chronik::byte_slice p) { return topics.serve_create_topics(std::move(p)); });
            // Admin requests another node took from a client (kafka/server/forward.h).
            transport.server->register_method(chronik::kafka::forward_method, [&srv](chronik::byte_slice p) {
                return chronik::kafka::serve_forwarded(srv.broker_on(0), std::move(p));
            });
            auto bound = transport.server->listen(*rpc_at);
            listening.set_value(bound ? std::string() : bound.error().message());
        });
        error = listening.get_future().get();
        if (!error.empty()) {
            fmt::print(stderr, "chronik-server: cannot listen on {}: {}\n", cfg.rpc_listen, error);
            transport.stop(shards);
            shards.stop();
            return 1;
        }
    }
    if (!rpc_at) {
        // On a cluster the table at start is what this node knew committed when it
        // stopped: a topic created since is not in it yet, and its replica here
        // must not be taken for a deleted topic's.
        remove_orphan_partitions(cfg.data_dir, *topics.current());
    }
    srv.load_groups();
    auto port = srv.start(error);
    std::optional<std::string> rack;
    if (auto it = cfg.kafka.find("broker.rack"); it != cfg.kafka.end() && !it->second.empty()) {
        rack = it->second;
    }
    if (!port || !topics.register_blocking(srv.broker_on(0).advertised().host,
                                           srv.broker_on(0).advertised().port, rack, error)) {
        fmt::print(stderr, "chronik-server: {}\n", error);
        transport.stop(shards);
        srv.stop();
        shards.stop();
        return 1;
    }
    auto host = cfg.listen.substr(0, cfg.listen.rfind(':'));
    // Tests read this line to learn the port when started with port 0.
    fmt::print("chronik-server listening on {}:{} (node {}, {} shards, data {})\n", host, port.value(),
               cfg.node_id, smp, cfg.data_dir);
    std::fflush(stdout);

    int sig = 0;
    sigwait(&stop_signals, &sig);
    log.info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    // The last resort: shutdown stops its work (connections are force-closed after
    // 5 s, background creation after its current batch), but if something still
    // hangs (a disk that never answers), the process ends anyway, and says so.
    std::promise<void> stopped;
    std::thread watchdog([done = stopped.get_future()] {
        if (done.wait_for(shutdown_bound) != std::future_status::ready) {
            log.error("shutdown did not finish within {} s; exiting without it",
                      std::chrono::duration_cast<std::chrono::seconds>(shutdown_bound).count());
            std::_Exit(1);
        }
    });
    transport.stop(shards);
    srv.stop();
    shards.stop();
    stopped.set_value();
    watchdog.join();
    log.info("stopped");
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    // Request frames (up to a few MiB) are allocated and freed at line rate. Keeping
    // them on the heap instead of a fresh mmap each time saves a page fault per 4 KiB
    // of every produced byte; the heap is returned to the system above 64 MiB free.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        usage();
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "start") {
        return start(std::vector<std::string>(args.begin() + 1, args.end()));
    }
    fmt::print(stderr, "chronik-server: unknown command '{}'\n", args[0]);
    usage();
    return 2;
}
