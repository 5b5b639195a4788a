#include "cluster/topic_store.h"

#include "base/logger.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

namespace chronik::cluster {

namespace {

logger log{ "cluster" };

constexpr const char* file_name = "topics";
constexpr const char* producer_ids_file = "producer_ids";
constexpr const char* cluster_id_file = "cluster_id";
constexpr int64_t producer_id_block = 1000;

// Writes `text` to dir/name durably: tmp file, fdatasync, rename, fsync of the dir.
// Runs on the I/O worker. Returns 0 or an errno.
int write_durably(const std::string& dir, const std::string& text, const char* name = file_name) {
    std::string tmp = dir + "/" + name + ".tmp";
    std::string final_path = dir + "/" + name;
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return errno;
    }
    size_t off = 0;
    while (off < text.size()) {
        ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            int e = errno;
            ::close(fd);
            return e;
        }
        off += size_t(n);
    }
    if (::fdatasync(fd) != 0) {
        int e = errno;
        ::close(fd);
        return e;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
        return errno;
    }
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        return errno;
    }
    int rc = ::fsync(dfd) == 0 ? 0 : errno;
    ::close(dfd);
    return rc;
}

} // namespace

topic_store::topic_store(std::string dir, runtime::io_worker& io, runtime::shard_group& shards,
                         publish_fn publish)
  : _dir(std::move(dir)), _io(io), _shards(shards), _publish(std::move(publish)) {}

result<void> topic_store::load_blocking(std::string& error) {
    std::error_code ec;
    std::filesystem::create_directories(_dir, ec);
    if (ec) {
        error = "cannot create " + _dir + ": " + ec.message();
        return ec;
    }
    std::ifstream in(_dir + "/" + file_name);
    if (in) {
        std::stringstream ss;
        ss << in.rdbuf();
        auto t = topic_table::parse(ss.str());
        if (!t) {
            error = "the topic table in " + _dir + "/" + file_name + " is damaged";
            return std::make_error_code(std::errc::illegal_byte_sequence);
        }
        _table = std::make_shared<topic_table>(std::move(*t));
    }
    // The cluster id: made once, at the first start, and kept (Kafka's base64url form).
    std::ifstream cid(_dir + "/" + cluster_id_file);
    if (!(cid >> _cluster_id) || _cluster_id.size() != 22) {
        _cluster_id = random_topic_id().to_string();
        if (int rc = write_durably(_dir, _cluster_id + "\n", cluster_id_file); rc != 0) {
            error = "cannot store the cluster id in " + _dir + ": " + std::strerror(rc);
            return std::error_code(rc, std::generic_category());
        }
    }
    std::ifstream ids(_dir + "/" + producer_ids_file);
    int64_t end = 0;
    if (ids >> end && end > 0) {
        _next_pid = _pid_block_end = end;
    }
    // Each shard installs its table on its own thread, and serves nothing before.
    for (unsigned s = 0; s < _shards.size(); ++s) {
        std::promise<void> installed;
        asio::post(_shards.at(s).executor(), [&] {
            _publish(s, _table);
            installed.set_value();
        });
        installed.get_future().wait();
    }
    return outcome::success();
}

awaitable<topic_store::change_turn> topic_store::take_turn() {
    _owner.check_owner("topic_store");
    if (!_change_done) {
        _change_done.emplace(co_await asio::this_coro::executor);
    }
    while (_changing) {
        co_await _change_done->wait();
    }
    _changing = true;
    co_return change_turn(*this);
}

awaitable<protocol::error_code> topic_store::remove(std::string name) {
    _owner.check_owner("topic_store");
    auto turn = co_await take_turn();
    if (_table->find(name) == nullptr) {
        co_return protocol::error_code::unknown_topic_or_partition;
    }
    if (!co_await install(_table->without(name))) {
        co_return protocol::error_code::kafka_storage_error;
    }
    co_return protocol::error_code::none;
}

awaitable<protocol::error_code> topic_store::add_partitions(std::string name, int32_t count,
                                                            bool validate_only) {
    _owner.check_owner("topic_store");
    auto turn = co_await take_turn();
    const topic_info* t = _table->find(name);
    if (t == nullptr) {
        co_return protocol::error_code::unknown_topic_or_partition;
    }
    if (count <= t->partitions) {
        co_return protocol::error_code::invalid_partitions;
    }
    if (validate_only) {
        co_return protocol::error_code::none;
    }
    topic_info grown = *t;
    grown.partitions = count;
    if (!co_await install(_table->with(std::move(grown)))) {
        co_return protocol::error_code::kafka_storage_error;
    }
    co_return protocol::error_code::none;
}

awaitable<bool> topic_store::install(std::shared_ptr<const topic_table> next) {
    auto previous = _table;
    _table = std::move(next);
    if (!co_await persist_and_publish()) {
        _table = previous;
        co_return false;
    }
    co_return true;
}

namespace {

topic_store::alter_outcome refused(const config_refusal& r) {
    return { r.malformed ? protocol::error_code::invalid_request : protocol::error_code::invalid_config,
             r.message };
}

} // namespace

awaitable<topic_store::alter_outcome> topic_store::alter_topic_configs(std::string name,
                                                                       std::vector<config_change> changes,
                                                                       bool replace_all, bool validate_only) {
    _owner.check_owner("topic_store");
    auto turn = co_await take_turn();
    const topic_info* t = _table->find(name);
    if (t == nullptr) {
        co_return alter_outcome{ protocol::error_code::unknown_topic_or_partition, "unknown topic " + name };
    }
    topic_info next = *t;
    if (auto why = apply_config_changes(next.configs, changes, replace_all, config_scope::topic)) {
        co_return refused(*why);
    }
    if (validate_only || next.configs == t->configs) {
        co_return alter_outcome{};
    }
    if (!co_await install(_table->with(std::move(next)))) {
        co_return alter_outcome{ protocol::error_code::kafka_storage_error, "cannot store the topic table" };
    }
    co_return alter_outcome{};
}

awaitable<topic_store::alter_outcome> topic_store::alter_broker_configs(int32_t node,
                                                                        std::vector<config_change> changes,
                                                                        bool replace_all,
                                                                        bool validate_only) {
    _owner.check_owner("topic_store");
    auto turn = co_await take_turn();
    auto settings = _table->broker_overrides(node);
    auto scope = node == topic_table::cluster_default ? config_scope::cluster_default : config_scope::broker;
    if (auto why = apply_config_changes(settings, changes, replace_all, scope)) {
        co_return refused(*why);
    }
    if (validate_only || settings == _table->broker_overrides(node)) {
        co_return alter_outcome{};
    }
    if (!co_await install(_table->with_broker_overrides(node, std::move(settings)))) {
        co_return alter_outcome{ protocol::error_code::kafka_storage_error, "cannot store the topic table" };
    }
    co_return alter_outcome{};
}

awaitable<int64_t> topic_store::allocate_producer_id() {
    _owner.check_owner("topic_store");
    if (!_pid_ready) {
        _pid_ready.emplace(co_await asio::this_coro::executor);
    }
    while (_next_pid == _pid_block_end) {
        if (_pid_allocating) {
            co_await _pid_ready->wait();
            continue;
        }
        // The block's end is durable before any id in it is handed out, so ids are
        // never reused after a crash.
        _pid_allocating = true;
        int64_t new_end = _pid_block_end + producer_id_block;
        auto write = [dir = _dir, text = std::to_string(new_end) + "\n"] {
            return write_durably(dir, text, producer_ids_file);
        };
        int err = 0;
        try {
            err = co_await _io.run(std::move(write));
        } catch (const runtime::io_worker::queue_full&) {
            err = EAGAIN;
        }
        _pid_allocating = false;
        _pid_ready->notify_all();
        if (err != 0) {
            log.error("cannot store the producer id block: {}", std::strerror(err));
            co_return -1;
        }
        _pid_block_end = new_end;
    }
    co_return _next_pid++;
}

awaitable<bool> topic_store::persist_and_publish() {
    auto snapshot = _table;
    int err = 0;
    // Named, not a temporary inside the co_await: GCC 12 mishandles non-trivial
    // temporaries in a co_await full-expression (a double destruction under ASan).
    auto write = [dir = _dir, text = snapshot->serialize()] { return write_durably(dir, text); };
    try {
        err = co_await _io.run(std::move(write));
    } catch (const runtime::io_worker::queue_full&) {
        err = EAGAIN;
    }
    if (err != 0) {
        log.error("cannot store the topic table in {}: {}", _dir, std::strerror(err));
        co_return false;
    }
    for (unsigned s = 0; s < _shards.size(); ++s) {
        auto install = [this, s, snapshot] { _publish(s, snapshot); };
        co_await _shards.invoke_on(s, std::move(install));
    }
    co_return true;
}

awaitable<protocol::error_code> topic_store::create(topic_info t, bool validate_only) {
    _owner.check_owner("topic_store");
    auto turn = co_await take_turn();
    if (_table->find(t.name) != nullptr) {
        co_return protocol::error_code::topic_already_exists;
    }
    if (validate_only) {
        co_return protocol::error_code::none;
    }
    if (!co_await install(_table->with(std::move(t)))) {
        co_return protocol::error_code::kafka_storage_error;
    }
    co_return protocol::error_code::none;
}

size_t topic_store::queue_auto_create(std::vector<topic_info> topics) {
    _owner.check_owner("topic_store");
    if (_background.is_closed()) {
        return 0;
    }
    size_t on_their_way = 0;
    for (auto& t : topics) {
        if (_table->find(t.name) != nullptr || _auto_queued.contains(t.name)) {
            ++on_their_way;
            continue;
        }
        if (_auto_queue.size() >= max_auto_create_queue) {
            continue;
        }
        _auto_queued.insert(t.name);
        _auto_queue.push_back(std::move(t));
        ++on_their_way;
    }
    if (!_auto_creating && !_auto_queue.empty()) {
        if (auto holder = _background.try_enter()) {
            _auto_creating = true;
            asio::co_spawn(_shards.at(0).executor(), auto_create(std::move(*holder)), asio::detached);
        }
    }
    return on_their_way;
}

awaitable<void> topic_store::auto_create(runtime::gate::holder) {
    // Shutdown waits for the batch being stored, never for the whole queue.
    while (!_auto_queue.empty() && !_background.is_closed()) {
        auto turn = co_await take_turn();
        std::vector<topic_info> batch;
        while (!_auto_queue.empty() && batch.size() < auto_create_batch) {
            topic_info t = std::move(_auto_queue.front());
            _auto_queue.pop_front();
            _auto_queued.erase(t.name);
            // CreateTopics (or a delete and re-create) may have come first.
            if (_table->find(t.name) == nullptr) {
                batch.push_back(std::move(t));
            }
        }
        if (batch.empty()) {
            continue;
        }
        // One table change for the batch: a request that arrives while it is stored
        // finds these names in _table, so nothing is queued twice.
        size_t n = batch.size();
        if (!co_await install(_table->with_all(std::move(batch)))) {
            // The clients' retries queue them again.
            log.warn("could not store {} auto-created topics", n);
        }
    }
    _auto_creating = false;
}

awaitable<void> topic_store::stop() {
    _owner.check_owner("topic_store");
    co_await _background.close();
    if (!_auto_queue.empty()) {
        log.info("auto-creation stopped with {} topics still queued (not created)", _auto_queue.size());
    }
    _auto_queue.clear();
    _auto_queued.clear();
}

} // namespace chronik::cluster
