#include "runtime/shard.h"

#include "base/assert.h"
#include "base/logger.h"
#include "runtime/owner.h"

#include <fmt/format.h>

namespace chronik::runtime {

namespace {
thread_local shard* t_shard = nullptr;
logger log{ "runtime" };
} // namespace

void detail::wrong_shard(const char* what, unsigned owner, unsigned current, const char* file,
                         unsigned line) noexcept {
    const std::string who =
      current == ~0u ? std::string("a thread that is not a shard") : fmt::format("shard {}", current);
    const std::string msg = fmt::format("{} belongs to shard {} and was touched from {}", what, owner, who);
    ::chronik::detail::assert_failed("owner shard", msg, file, line, "check_owner");
}

shard* this_shard() noexcept {
    return t_shard;
}
unsigned this_shard_id() noexcept {
    return t_shard ? t_shard->id() : ~0u;
}
bool shard::is_current() const noexcept {
    return t_shard == this;
}

shard_group::shard_group(unsigned count, stall_detector* detector) {
    if (count == 0) {
        count = 1;
    }
    _shards.reserve(count);
    for (unsigned i = 0; i < count; ++i) {
        _shards.push_back(std::unique_ptr<shard>(new shard(i)));
    }
    for (auto& s : _shards) {
        s->_guard.emplace(s->_ctx.get_executor());
        s->_thread = std::thread([sh = s.get(), detector] {
            t_shard = sh;
            if (detector != nullptr) {
                detector->register_current_thread(sh->id());
            }
            for (;;) {
                try {
                    sh->_ctx.run();
                    break;
                } catch (const std::exception& e) {
                    // A detached fiber threw: a programming error. Keep the shard alive.
                    log.error("shard {}: unhandled exception in a task: {}", sh->id(), e.what());
                }
            }
            t_shard = nullptr;
        });
    }
}

shard_group::~shard_group() {
    stop();
}

void shard_group::stop() {
    if (_stopped) {
        return;
    }
    _stopped = true;
    for (auto& s : _shards) {
        s->_guard.reset();
        s->_ctx.stop();
    }
    for (auto& s : _shards) {
        if (s->_thread.joinable()) {
            s->_thread.join();
        }
    }
}

} // namespace chronik::runtime
