#include "cluster/topic_store.h"

#include "base/assert.h"
#include "base/endian.h"
#include "base/logger.h"
#include "cluster/controller_commands.h"
#include "cluster/raft_service.h"
#include "record/batch.h"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

namespace chronik::cluster {

namespace {

logger log{ "cluster" };

constexpr const char* file_name =
  "topics"; // the table before the controller log (read once, then superseded)
constexpr const char* snapshot_file = "snapshot";
// The controller log: Raft group 0, a log of the store's own log manager (under
// <dir>/logs/), with a fixed topic id.
constexpr const char* controller_topic = "__controller";
constexpr model::uuid controller_id{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } };
// The producer-id block end of versions before it was a controller command (read,
// never written).
constexpr const char* producer_ids_file = "producer_ids";
constexpr const char* cluster_id_file = "cluster_id";
constexpr const char* node_id_file = "node_id";

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

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The controller log keeps everything until a snapshot covers it; small segments
// so that covered ones can be dropped.
storage::log_config controller_log_config() {
    storage::log_config c;
    c.segment_bytes = 1u << 20;
    c.retention_ms = -1;
    c.retention_bytes = -1;
    return c;
}

} // namespace

topic_store::topic_store(std::string dir, model::node_id self, runtime::io_worker& io,
                         runtime::shard_group& shards, publish_fn publish, controller_options ctl)
  : _dir(std::move(dir)), _self(self), _ctl(std::move(ctl)),
    _peers(std::any_of(_ctl.voters.begin(), _ctl.voters.end(), [&](model::node_id v) { return v != self; })),
    _io(io), _shards(shards), _publish(std::move(publish)) {
    CHRONIK_ASSERT(!_peers || (_ctl.raft != nullptr && _ctl.pool != nullptr),
                   "a controller with peers has a transport");
    if (!_peers) {
        _leader = self();
    }
}

result<void> topic_store::load_blocking(std::string& error) {
    std::error_code ec;
    std::filesystem::create_directories(_dir, ec);
    if (ec) {
        error = "cannot create " + _dir + ": " + ec.message();
        return ec;
    }
    // The directory's node: the placements in it name that node, so another one
    // must not take it over (Kafka's meta.properties check).
    std::ifstream nid(_dir + "/" + node_id_file);
    int32_t stored_node = -1;
    if (nid >> stored_node) {
        if (stored_node != _self()) {
            error = fmt::format("{} belongs to node {}, and this is node {}", _dir, stored_node, _self());
            return std::make_error_code(std::errc::invalid_argument);
        }
    } else if (int rc = write_durably(_dir, std::to_string(_self()) + "\n", node_id_file); rc != 0) {
        error = "cannot store the node id in " + _dir + ": " + std::strerror(rc);
        return std::error_code(rc, std::generic_category());
    }
    // The snapshot ("<offset>\n" then the table), or the whole-table file of
    // versions before the controller log (covering an empty log).
    std::ifstream snap(_dir + "/" + snapshot_file);
    std::ifstream legacy(_dir + "/" + file_name);
    if (snap || legacy) {
        std::stringstream ss;
        ss << (snap ? snap.rdbuf() : legacy.rdbuf());
        std::string text = ss.str();
        std::string_view body = text;
        if (snap) {
            auto nl = body.find('\n');
            auto [end, ec] =
              std::from_chars(body.data(), body.data() + std::min(nl, body.size()), _snapshot_offset);
            if (nl == std::string_view::npos || ec != std::errc() || end != body.data() + nl ||
                _snapshot_offset < 0) {
                error = "the topic snapshot in " + _dir + "/" + snapshot_file + " is damaged";
                return std::make_error_code(std::errc::illegal_byte_sequence);
            }
            body.remove_prefix(nl + 1);
        }
        auto t = topic_table::parse(body);
        if (!t) {
            error = "the topic table in " + _dir + "/" + (snap ? snapshot_file : file_name) + " is damaged";
            return std::make_error_code(std::errc::illegal_byte_sequence);
        }
        _table = std::make_shared<topic_table>(std::move(*t));
    }
    // The log and its group are shard 0's: opened, and replayed, there.
    _logs = std::make_unique<storage::log_manager>(
      _dir, _io, storage::file_ops::real(), _shards.at(0).executor(), [](std::vector<storage::watcher>) {});
    std::promise<std::string> opened;
    asio::co_spawn(
      _shards.at(0).executor(),
      [](topic_store& self) -> awaitable<std::string> {
          auto got = self._logs->get(controller_topic, controller_id, 0, controller_log_config());
          auto log = co_await std::move(got);
          if (!log) {
              co_return "cannot open the controller log in " + self._dir;
          }
          if (log->log_start_offset() > self._snapshot_offset) {
              co_return "the controller log in " + self._dir + " starts after its snapshot";
          }
          for (const auto* t : self._table->all()) {
              self.count_load(*t, +1);
          }
          self._applied = self._snapshot_offset;
          if (!self._peers) {
              // A sole voter's durable log is committed: all of it applies now.
              self._group = std::make_shared<partition>(log, *self._logs, model::node_id{ 0 });
              std::string why;
              if (!replay(*log, self._snapshot_offset, log->log_end_offset(), self._table, why,
                          [&self](const topic_table& before, const topic_table& after) {
                              self.count_changed(before, after);
                          })) {
                  co_return why;
              }
              self._applied = log->log_end_offset();
          } else {
              // With peers only what the group commits applies (a tail of this log
              // may yet be replaced), as the commit index is relearned.
              auto vote = storage::load_vote(storage::file_ops::real(), log->dir());
              if (!vote) {
                  co_return "cannot read the controller's Raft vote in " + log->dir();
              }
              group_spec spec;
              spec.group = 0;
              for (auto v : self._ctl.voters) {
                  spec.replicas.push_back({ v, model::shard_id{ 0 } });
              }
              spec.transport = self._ctl.raft;
              spec.election_ticks = self._ctl.raft->timing().election_ticks;
              spec.heartbeat_ticks = self._ctl.raft->timing().heartbeat_ticks;
              spec.log_is_state = false; // the table is, and each node snapshots its own
              self._group =
                std::make_shared<partition>(log, *self._logs, self._self, std::move(spec), vote.value());
              self._group->set_listener([&self](partition::change) {
                  self._leader.store(int32_t(self._group->leader()()), std::memory_order_relaxed);
                  if (self._group->high_watermark() > self._applied) {
                      self.schedule_catch_up();
                  }
              });
              self._ctl.raft->add(self._group);
          }
          self._group->start();
          // Producer ids: the table's block end, or the file of earlier versions.
          std::ifstream ids(self._dir + "/" + producer_ids_file);
          int64_t end = 0;
          if (!(ids >> end) || end < 0) {
              end = 0;
          }
          self._next_pid = self._pid_block_end = std::max(end, self._table->producer_id_end());
          if (self._peers) {
              co_return std::string(); // tables from before placements never had peers
          }
          auto placing = self.place_unplaced();
          co_return co_await std::move(placing);
      }(*this),
      [&opened](std::exception_ptr e, std::string why) {
          opened.set_value(e ? std::string("cannot open the controller log") : std::move(why));
      });
    error = opened.get_future().get();
    if (!error.empty()) {
        return std::make_error_code(std::errc::illegal_byte_sequence);
    }
    // The cluster id: made once, at the first start, and kept (Kafka's base64url form).
    std::ifstream cid(_dir + "/" + cluster_id_file);
    if (!(cid >> _cluster_id) || _cluster_id.size() != 22) {
        _cluster_id = random_topic_id().to_string();
        if (_peers) {
            // Every voter must name the same cluster, whichever starts first: the id
            // is made from the voters' ids (Kafka formats it into every node instead).
            std::string seed = "chronik-cluster";
            std::vector<int32_t> ids;
            for (auto v : _ctl.voters) {
                ids.push_back(v());
            }
            std::sort(ids.begin(), ids.end());
            for (auto id : ids) {
                seed += "/" + std::to_string(id);
            }
            model::uuid u;
            uint64_t h1 = std::hash<std::string>{}(seed), h2 = std::hash<std::string>{}(seed + "#");
            for (int k = 0; k < 8; ++k) {
                u.bytes[size_t(k)] = uint8_t(h1 >> (8 * k));
                u.bytes[size_t(8 + k)] = uint8_t(h2 >> (8 * k));
            }
            _cluster_id = u.to_string();
        }
        if (int rc = write_durably(_dir, _cluster_id + "\n", cluster_id_file); rc != 0) {
            error = "cannot store the cluster id in " + _dir + ": " + std::strerror(rc);
            return std::error_code(rc, std::generic_category());
        }
    }
    // Each shard installs its table on its own thread, and serves nothing before.
    _published = _applied;
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

awaitable<std::error_code> topic_store::remove(std::string name) {
    _owner.check_owner("topic_store");
    auto turn = co_await take_turn();
    const topic_info* t = _table->find(name);
    if (t == nullptr) {
        co_return errc::unknown_topic;
    }
    if (auto ec = co_await install(command::remove_topic, name)) {
        co_return ec;
    }
    co_return std::error_code();
}

awaitable<std::error_code> topic_store::add_partitions(std::string name, int32_t count, bool validate_only,
                                                       replica_nodes explicit_nodes) {
    _owner.check_owner("topic_store");
    auto turn = co_await take_turn();
    const topic_info* t = _table->find(name);
    if (t == nullptr) {
        co_return errc::unknown_topic;
    }
    if (count <= t->partitions) {
        co_return errc::invalid_partitions;
    }
    // The new partitions have as many replicas as the first one.
    auto rf = int16_t(t->placement && !t->placement->empty() ? t->placement->front().replicas.size() : 1);
    auto added = place(t->partitions, count - t->partitions, rf, explicit_nodes);
    if (!added) {
        co_return added.error();
    }
    if (validate_only) {
        co_return std::error_code();
    }
    topic_info grown = *t;
    grown.partitions = count;
    assignments all = t->placement ? *t->placement : assignments{};
    all.insert(all.end(), added.value().begin(), added.value().end());
    grown.placement = std::make_shared<const assignments>(std::move(all));
    auto value = put_topics_value({ std::move(grown) });
    if (auto ec = co_await install(command::put_topics, std::move(value))) {
        co_return ec;
    }
    co_return std::error_code();
}

awaitable<std::string> topic_store::place_unplaced() {
    std::vector<topic_info> unplaced;
    for (const auto* t : _table->all()) {
        if (!t->placement) {
            unplaced.push_back(*t);
        }
    }
    for (size_t i = 0; i < unplaced.size(); i += auto_create_batch) {
        auto turn = co_await take_turn();
        std::vector<topic_info> batch;
        for (size_t k = i; k < std::min(unplaced.size(), i + auto_create_batch); ++k) {
            topic_info t = std::move(unplaced[k]);
            auto placed = place(0, t.partitions, 1);
            CHRONIK_ASSERT(placed.has_value(), "one replica can always be placed");
            t.placement = std::make_shared<const assignments>(std::move(placed).value());
            count_load(t, +1); // the next topic of the batch sees this one's load
            batch.push_back(std::move(t));
        }
        for (const auto& t : batch) {
            count_load(t, -1); // counted again when the command is applied
        }
        auto value = put_topics_value(std::move(batch));
        if (co_await install(command::put_topics, std::move(value))) {
            co_return "cannot store the placement of the topics in " + _dir;
        }
    }
    co_return std::string();
}

awaitable<std::error_code> topic_store::install(command c, std::string value) {
    if (_group && !_group->is_leader()) {
        co_return errc::not_controller;
    }
    auto appended = append_command(c, std::move(value));
    auto end = co_await std::move(appended);
    if (!end) {
        co_return _group && !_group->is_leader() ? errc::not_controller : errc::controller_unavailable;
    }
    // Committed: applied (by this change, or by a catch-up already running) and
    // published to every shard before the change is answered.
    while (_published < *end) {
        if (!_catching_up) {
            auto caught_up = catch_up();
            co_await std::move(caught_up);
            continue;
        }
        co_await _caught_up->wait();
    }
    co_return std::error_code();
}

awaitable<void> topic_store::catch_up() {
    _catching_up = true;
    if (!_caught_up) {
        _caught_up.emplace(_shards.at(0).executor());
    }
    while (_group && _applied < _group->high_watermark()) {
        const int64_t upto = _group->high_watermark();
        auto table = _table;
        std::string why;
        if (!replay(_group->log(), _applied, upto, table, why,
                    [this](const topic_table& before, const topic_table& after) {
                        count_changed(before, after);
                    })) {
            // Committed commands that cannot be applied: nothing later can be either.
            log.error("the controller log cannot be applied: {}", why);
            _group->log().fail(std::make_error_code(std::errc::illegal_byte_sequence));
            break;
        }
        _table = table;
        _applied = upto;
        for (unsigned s = 0; s < _shards.size(); ++s) {
            auto install = [this, s, table] { _publish(s, table); };
            co_await _shards.invoke_on(s, std::move(install));
        }
        _published = upto;
        maybe_snapshot();
    }
    _catching_up = false;
    _caught_up->notify_all();
}

void topic_store::count_changed(const topic_table& before, const topic_table& after) {
    for (const auto& name : after.last_change().topics) {
        if (const auto* t = before.find(name)) {
            count_load(*t, -1);
        }
        if (const auto* t = after.find(name)) {
            count_load(*t, +1);
        }
    }
}

namespace {

topic_store::alter_outcome refused(const config_refusal& r) {
    return { r.malformed ? errc::invalid_request : errc::invalid_config, r.message };
}

} // namespace

awaitable<topic_store::alter_outcome> topic_store::alter_topic_configs(std::string name,
                                                                       std::vector<config_change> changes,
                                                                       bool replace_all, bool validate_only) {
    _owner.check_owner("topic_store");
    auto turn = co_await take_turn();
    const topic_info* t = _table->find(name);
    if (t == nullptr) {
        co_return alter_outcome{ errc::unknown_topic, "unknown topic " + name };
    }
    topic_info next = *t;
    if (auto why = apply_config_changes(next.configs, changes, replace_all, config_scope::topic)) {
        co_return refused(*why);
    }
    if (validate_only || next.configs == t->configs) {
        co_return alter_outcome{};
    }
    auto value = put_topics_value({ std::move(next) });
    if (auto ec = co_await install(command::put_topics, std::move(value))) {
        co_return alter_outcome{ ec, ec.message() };
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
    auto value = broker_overrides_value(node, std::move(settings));
    if (auto ec = co_await install(command::broker_overrides, std::move(value))) {
        co_return alter_outcome{ ec, ec.message() };
    }
    co_return alter_outcome{};
}

void topic_store::schedule_catch_up() {
    if (_catching_up || _catch_up_scheduled) {
        return;
    }
    auto holder = _background.try_enter();
    if (!holder) {
        return;
    }
    _catch_up_scheduled = true;
    asio::co_spawn(
      _shards.at(0).executor(),
      [](topic_store& self, runtime::gate::holder) -> awaitable<void> {
          co_await asio::post(use_awaitable); // not inside the group's step
          self._catch_up_scheduled = false;
          if (!self._catching_up) {
              auto caught_up = self.catch_up();
              co_await std::move(caught_up);
          }
      }(*this, std::move(*holder)),
      asio::detached);
}

awaitable<std::optional<int64_t>> topic_store::append_command(command c, std::string value) {
    if (!_group || _closed || _group->log().failure()) {
        co_return std::nullopt;
    }
    int64_t now = now_ms();
    bytes batch = command_batch(c, value, now);
    auto appended = _group->replicate(std::span<uint8_t>(batch), now);
    if (!appended) {
        log.error("cannot append to the controller log: {}", appended.error().message());
        co_return std::nullopt;
    }
    auto committed = _group->wait_committed(appended.value().last_offset);
    if (auto ec = co_await std::move(committed)) {
        // A failed sync takes the log offline (the command may be in it: a restart
        // replays it), so nothing more is appended behind it until then.
        log.error("cannot store a controller command in {}: {}", _group->log().dir(), ec.message());
        co_return std::nullopt;
    }
    co_return appended.value().last_offset + 1;
}

void topic_store::maybe_snapshot() {
    if (_snapshotting || _applied - _snapshot_offset < snapshot_every) {
        return;
    }
    auto holder = _background.try_enter();
    if (!holder) {
        return;
    }
    _snapshotting = true;
    // The table is the log applied up to _applied: the pair is consistent.
    asio::co_spawn(_shards.at(0).executor(), write_snapshot(_table, _applied, std::move(*holder)),
                   asio::detached);
}

awaitable<void> topic_store::write_snapshot(std::shared_ptr<const topic_table> table, int64_t upto,
                                            runtime::gate::holder) {
    // The table is immutable: it is written out on the I/O worker, off the shard.
    auto write = [dir = _dir, table, upto] {
        return write_durably(dir, std::to_string(upto) + "\n" + table->serialize(), snapshot_file);
    };
    int err = 0;
    try {
        err = co_await _io.run(std::move(write));
    } catch (const runtime::io_worker::queue_full&) {
        err = EAGAIN;
    }
    _snapshotting = false;
    if (err != 0) {
        log.warn("cannot store the topic snapshot in {}: {}; the log keeps growing until one is", _dir,
                 std::strerror(err));
        co_return;
    }
    _snapshot_offset = upto;
    // The segments the snapshot covers are no longer needed to start.
    if (_group->log().delete_records_before(upto)) {
        auto dropped = _logs->checkpoint_log_start(_group->log_ptr());
        if (auto ec = co_await std::move(dropped)) {
            log.warn("cannot drop the controller log below its snapshot now: {}", ec.message());
        }
    }
}

awaitable<void> topic_store::stop() {
    _owner.check_owner("topic_store");
    co_await _background.close();
    if (!_auto_queue.empty()) {
        log.info("auto-creation stopped with {} topics still queued (not created)", _auto_queue.size());
    }
    _auto_queue.clear();
    _auto_queued.clear();
    // The change being stored ends; later ones are refused. Then the log's last
    // group commit.
    auto turn = co_await take_turn();
    _closed = true;
    if (_logs) {
        co_await _logs->close();
    }
}

} // namespace chronik::cluster
