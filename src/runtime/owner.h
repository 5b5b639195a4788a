#pragma once
// Debug-build check that an object belonging to one shard is touched only there
// (DESIGN.md principle 1). Compiled in with CHRONIK_DEBUG_CHECKS (the debug and
// tsan presets); in Release a shard_owned is empty and every check is a no-op.
//
// An owner is bound either at construction (`shard_owned(shard)`, for objects that
// know their shard) or by the first touch from a shard thread (objects built on the
// I/O worker or before the shards start, such as a partition recovered at open).
// Once bound, a touch from any other thread, shard or not, aborts with the object's
// name, the owner and the offender.
#include "runtime/shard.h"

namespace chronik::runtime {

namespace detail {
[[noreturn]] void wrong_shard(const char* what, unsigned owner, unsigned current, const char* file,
                              unsigned line) noexcept;
}

class shard_owned {
public:
#if CHRONIK_DEBUG_CHECKS
    shard_owned() noexcept = default;
    explicit shard_owned(unsigned shard) noexcept : _owner(shard) {}
    // Copies are new objects: they bind afresh.
    shard_owned(const shard_owned&) noexcept {}
    shard_owned& operator=(const shard_owned&) noexcept {
        return *this;
    }

    void check_owner(const char* what, const char* file = __builtin_FILE(),
                     unsigned line = __builtin_LINE()) const noexcept {
        const unsigned current = this_shard_id();
        if (_owner == unbound) {
            if (current != unbound) {
                _owner = current;
            }
            return;
        }
        if (current != _owner) [[unlikely]] {
            detail::wrong_shard(what, _owner, current, file, line);
        }
    }

private:
    static constexpr unsigned unbound = ~0u;
    mutable unsigned _owner = unbound;
#else
    shard_owned() noexcept = default;
    explicit shard_owned(unsigned) noexcept {}
    void check_owner(const char*, const char* = nullptr, unsigned = 0) const noexcept {}
#endif
};

} // namespace chronik::runtime
