#pragma once
// Spare segments in tests that drive a partition_log without a log manager: what
// log_manager::prepare_spare does, done at once on the calling thread.
#include "storage/partition_log.h"
#include "storage/segment.h"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace chronik::storage::testing {

// If the log wants a spare segment now, opens its file and offers it.
inline void offer_spare_if_wanted(partition_log& log, int64_t now_ms = 5000) {
    if (auto name = log.spare_wanted(now_ms)) {
        log.spare_requested();
        auto s = segment::create(file_ops::real(), log.dir(), *name, true);
        ASSERT_TRUE(s) << s.error().message();
        ASSERT_TRUE(log.offer_spare(std::move(s).value()));
    }
}

// The offset a segment's file is named by (at most its base offset).
inline int64_t name_of(const segment& s) {
    return std::stoll(std::filesystem::path(s.path()).stem().string());
}

} // namespace chronik::storage::testing
