#include "fuzz/decode_any.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

namespace chronik::protocol {
namespace {

bytes read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return bytes(std::istreambuf_iterator<char>(in), {});
}

// Frames captured from real clients decode completely and re-encode byte for byte.
TEST(golden, captured_client_frames_round_trip_exactly) {
    int checked = 0;
    for (const auto& e : std::filesystem::directory_iterator(CHRONIK_GOLDEN_DIR)) {
        if (e.path().extension() != ".bin") {
            continue;
        }
        auto name = e.path().filename().string();
        auto r = decode_any_request(byte_slice::from(read_file(e.path())));
        ASSERT_TRUE(r.header_ok) << name << ": " << r.error;
        ASSERT_TRUE(r.known) << name;
        EXPECT_EQ(name.substr(0, name.find('_')), std::to_string(r.api_key)) << name;
        ASSERT_TRUE(r.body_ok) << name << ": " << r.error;
        EXPECT_TRUE(r.consumed_all) << name;
        EXPECT_TRUE(r.reencode_matches) << name;
        ++checked;
    }
    // The captures are checked in; an empty folder means they were lost.
    EXPECT_GE(checked, 5);
}

// The seed corpus of the fuzzer is made of valid frames too.
TEST(golden, fuzz_seed_corpus_decodes) {
    int checked = 0;
    for (const auto& e : std::filesystem::directory_iterator(CHRONIK_FUZZ_CORPUS_DIR)) {
        auto r = decode_any_request(byte_slice::from(read_file(e.path())));
        EXPECT_TRUE(r.body_ok && r.consumed_all) << e.path() << ": " << r.error;
        ++checked;
    }
    EXPECT_GE(checked, 10);
}

} // namespace
} // namespace chronik::protocol
