#include "base/endian.h"
#include "record/batch.h"
#include "record/compression.h"
#include "record/crc.h"
#include "record/errc.h"
#include "record/legacy.h"

#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

namespace chronik::record {
namespace {

std::span<const uint8_t> as_span(std::string_view s) {
    return { reinterpret_cast<const uint8_t*>(s.data()), s.size() };
}
bytes b(std::string_view s) {
    return bytes(s.begin(), s.end());
}

constexpr codec all_codecs[] = { codec::none, codec::gzip, codec::snappy, codec::lz4, codec::zstd };

std::vector<record_input> sample_records(int n) {
    std::vector<record_input> rs;
    for (int i = 0; i < n; ++i) {
        record_input r;
        if (i % 4 != 0) {
            r.key = b("key-" + std::to_string(i));
        }
        if (i % 5 != 1) {
            r.value = b("value-" + std::to_string(i) + std::string(size_t(i % 50), 'x'));
        }
        if (i % 3 == 0) {
            r.headers.push_back({ "h", b("v" + std::to_string(i)) });
            r.headers.push_back({ "null-header", std::nullopt });
        }
        r.timestamp = 1'700'000'000'000 + i;
        rs.push_back(std::move(r));
    }
    return rs;
}

TEST(crc, known_vectors_and_both_paths_agree) {
    EXPECT_EQ(crc32c_table(as_span("123456789")), 0xE3069283u);
    if (crc32c_hardware_available()) {
        EXPECT_EQ(crc32c_hardware(as_span("123456789")), 0xE3069283u);
    }
    EXPECT_EQ(crc32_ieee(as_span("123456789")), 0xCBF43926u);
    std::mt19937 rng(7);
    for (size_t len = 0; len < 300; ++len) {
        bytes data(len);
        for (auto& x : data) {
            x = uint8_t(rng());
        }
        EXPECT_EQ(crc32c_table(data), crc32c(data));
        if (crc32c_hardware_available()) {
            EXPECT_EQ(crc32c_table(data), crc32c_hardware(data));
        }
    }
}

TEST(batch, build_validate_iterate_every_codec) {
    auto input = sample_records(200);
    for (codec c : all_codecs) {
        batch_options o;
        o.compression = c;
        o.producer_id = 77;
        o.producer_epoch = 3;
        o.base_sequence = 10;
        auto built = build_batch(input, o);
        ASSERT_TRUE(built) << int(c);
        auto h = validate_batch(built.value());
        ASSERT_TRUE(h) << int(c) << ": " << h.error().message();
        EXPECT_EQ(h.value().record_count, 200);
        EXPECT_EQ(h.value().last_offset_delta, 199);
        EXPECT_EQ(h.value().compression(), c);
        EXPECT_EQ(h.value().producer_id, 77);
        EXPECT_EQ(h.value().max_timestamp, 1'700'000'000'199);
        size_t i = 0;
        auto ok = for_each_record(built.value(), 1 << 20, [&](const record_view& rv) {
            const auto& in = input[i];
            EXPECT_EQ(rv.offset_delta, int32_t(i));
            EXPECT_EQ(rv.key.has_value(), in.key.has_value());
            if (rv.key) {
                EXPECT_EQ(bytes(rv.key->begin(), rv.key->end()), *in.key);
            }
            EXPECT_EQ(rv.value.has_value(), in.value.has_value());
            if (rv.value) {
                EXPECT_EQ(bytes(rv.value->begin(), rv.value->end()), *in.value);
            }
            EXPECT_EQ(rv.headers.size(), in.headers.size());
            EXPECT_EQ(h.value().base_timestamp + rv.timestamp_delta, in.timestamp);
            ++i;
        });
        ASSERT_TRUE(ok) << ok.error().message();
        EXPECT_EQ(i, input.size());
    }
}

// A batch laid out by hand from the format description: one record, key "k",
// value "v", no headers, timestamp 1000, producer -1.
TEST(batch, golden_bytes_of_one_record) {
    record_input r;
    r.key = b("k");
    r.value = b("v");
    r.timestamp = 1000;
    auto built = build_batch({ r }, batch_options{});
    ASSERT_TRUE(built);
    bytes record = { 0x10 /* length 8, zig-zag */, 0x00, 0x00, 0x00, 0x02, 'k', 0x02, 'v', 0x00 };
    bytes expected(61);
    store_be<int64_t>(expected.data(), 0);
    store_be<int32_t>(expected.data() + 8, int32_t(49 + record.size()));
    store_be<int32_t>(expected.data() + 12, -1);
    expected[16] = 2;
    store_be<int16_t>(expected.data() + 21, 0);
    store_be<int32_t>(expected.data() + 23, 0);
    store_be<int64_t>(expected.data() + 27, 1000);
    store_be<int64_t>(expected.data() + 35, 1000);
    store_be<int64_t>(expected.data() + 43, -1);
    store_be<int16_t>(expected.data() + 51, -1);
    store_be<int32_t>(expected.data() + 53, -1);
    store_be<int32_t>(expected.data() + 57, 1);
    expected.insert(expected.end(), record.begin(), record.end());
    store_be<uint32_t>(expected.data() + 17, crc32c(std::span<const uint8_t>(expected).subspan(21)));
    EXPECT_EQ(built.value(), expected);
}

TEST(batch, every_single_byte_corruption_is_caught_or_harmless) {
    auto built = build_batch(sample_records(5), batch_options{}).value();
    for (size_t pos = 0; pos < built.size(); ++pos) {
        for (uint8_t flip : { uint8_t(0x01), uint8_t(0x80), uint8_t(0xff) }) {
            auto copy = built;
            copy[pos] ^= flip;
            auto r = validate_batch(copy);
            // Base offset and leader epoch are outside the CRC; everything else is not.
            if (pos < 8 || (pos >= 12 && pos < 16)) {
                EXPECT_TRUE(r) << pos;
            } else {
                EXPECT_FALSE(r) << "corruption at byte " << pos << " not detected";
            }
        }
    }
}

TEST(batch, truncated_blobs_and_trailing_garbage_fail) {
    auto built = build_batch(sample_records(3), batch_options{}).value();
    for (size_t len = 0; len < built.size(); ++len) {
        auto s = byte_slice::copy_of(std::span<const uint8_t>(built.data(), len));
        EXPECT_FALSE(for_each_batch(s, [](auto&, auto&) -> result<void> { return outcome::success(); }))
          << len;
    }
    auto two = built;
    two.insert(two.end(), built.begin(), built.end());
    int n = 0;
    EXPECT_TRUE(for_each_batch(byte_slice::from(two), [&](auto&, auto&) -> result<void> {
        ++n;
        return outcome::success();
    }));
    EXPECT_EQ(n, 2);
    two.push_back(0);
    EXPECT_FALSE(
      for_each_batch(byte_slice::from(two), [](auto&, auto&) -> result<void> { return outcome::success(); }));
}

TEST(batch, patching_offsets_keeps_the_crc_valid_and_log_append_time_recomputes_it) {
    auto built = build_batch(sample_records(4), batch_options{}).value();
    set_base_offset_and_epoch(built.data(), 12345, 7);
    auto h = validate_batch(built);
    ASSERT_TRUE(h);
    EXPECT_EQ(h.value().base_offset, 12345);
    EXPECT_EQ(h.value().partition_leader_epoch, 7);
    set_log_append_time(built, 999);
    h = validate_batch(built);
    ASSERT_TRUE(h);
    EXPECT_TRUE(h.value().log_append_time());
    EXPECT_EQ(h.value().max_timestamp, 999);
}

TEST(compression, round_trips_and_garbage_fails) {
    bytes data;
    for (int i = 0; i < 100000; ++i) {
        data.push_back(uint8_t(i % 251));
    }
    for (codec c : all_codecs) {
        auto z = compress(c, data);
        ASSERT_TRUE(z);
        auto back = decompress(c, z.value(), data.size());
        ASSERT_TRUE(back) << int(c) << ": " << back.error().message();
        EXPECT_EQ(back.value(), data);
        if (c != codec::none) {
            EXPECT_FALSE(decompress(c, as_span("definitely not compressed data"), 1 << 20)) << int(c);
            // Truncated payloads fail.
            auto cut = std::span<const uint8_t>(z.value()).first(z.value().size() / 2);
            EXPECT_FALSE(decompress(c, cut, 1 << 20)) << int(c);
        }
    }
}

TEST(compression, decompression_is_bounded) {
    bytes zeros(8 << 20, 0); // 8 MiB of zeros compresses to a few KiB
    for (codec c : { codec::gzip, codec::snappy, codec::lz4, codec::zstd }) {
        auto z = compress(c, zeros).value();
        auto r = decompress(c, z, 1 << 20);
        ASSERT_FALSE(r) << int(c);
        EXPECT_EQ(r.error(), make_error_code(errc::too_large)) << int(c);
    }
}

bytes legacy_message(int64_t offset, int8_t magic, int8_t attrs, int64_t ts, std::optional<bytes> key,
                     std::optional<bytes> value) {
    bytes m = { 0, 0, 0, 0, uint8_t(magic), uint8_t(attrs) };
    if (magic == 1) {
        m.resize(14);
        store_be<int64_t>(m.data() + 6, ts);
    }
    for (auto* x : { &key, &value }) {
        size_t at = m.size();
        m.resize(at + 4);
        store_be<int32_t>(m.data() + at, *x ? int32_t((*x)->size()) : -1);
        if (*x) {
            m.insert(m.end(), (*x)->begin(), (*x)->end());
        }
    }
    store_be<uint32_t>(m.data(), crc32_ieee(std::span<const uint8_t>(m).subspan(4)));
    bytes out(12);
    store_be<int64_t>(out.data(), offset);
    store_be<int32_t>(out.data() + 8, int32_t(m.size()));
    out.insert(out.end(), m.begin(), m.end());
    return out;
}

TEST(legacy, magic0_and_magic1_sets_convert_to_v2_and_back) {
    for (int8_t magic : { int8_t(0), int8_t(1) }) {
        bytes set;
        for (int i = 0; i < 10; ++i) {
            auto m = legacy_message(i, magic, 0, 5000 + i, i % 2 ? std::optional(b("k")) : std::nullopt,
                                    b("v" + std::to_string(i)));
            set.insert(set.end(), m.begin(), m.end());
        }
        EXPECT_EQ(detect_magic(set), magic);
        auto v2 = convert_legacy_to_v2(set, 1 << 20);
        ASSERT_TRUE(v2) << v2.error().message();
        auto h = validate_batch(v2.value());
        ASSERT_TRUE(h);
        EXPECT_EQ(h.value().record_count, 10);
        set_base_offset_and_epoch(v2.value().data(), 100, 0);
        auto back = convert_v2_to_legacy(v2.value(), magic, 1 << 20);
        ASSERT_TRUE(back);
        // Same messages at absolute offsets 100..109.
        bytes expected;
        for (int i = 0; i < 10; ++i) {
            auto m = legacy_message(100 + i, magic, 0, magic == 1 ? 5000 + i : -1,
                                    i % 2 ? std::optional(b("k")) : std::nullopt, b("v" + std::to_string(i)));
            expected.insert(expected.end(), m.begin(), m.end());
        }
        EXPECT_EQ(back.value(), expected);
    }
}

TEST(legacy, compressed_wrapper_and_bad_crc) {
    bytes inner;
    for (int i = 0; i < 3; ++i) {
        auto m = legacy_message(i, 1, 0, 7, std::nullopt, b("inner" + std::to_string(i)));
        inner.insert(inner.end(), m.begin(), m.end());
    }
    auto z = compress(codec::gzip, inner).value();
    auto wrapper = legacy_message(2, 1, 1, 7, std::nullopt, z);
    auto v2 = convert_legacy_to_v2(wrapper, 1 << 20);
    ASSERT_TRUE(v2) << v2.error().message();
    EXPECT_EQ(validate_batch(v2.value()).value().record_count, 3);
    EXPECT_EQ(validate_batch(v2.value()).value().compression(), codec::gzip);
    wrapper[20] ^= 1;
    EXPECT_FALSE(convert_legacy_to_v2(wrapper, 1 << 20));
}

bytes read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return bytes(std::istreambuf_iterator<char>(in), {});
}

// Record blobs captured from real clients' produce requests validate and iterate.
TEST(golden, captured_client_batches) {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(CHRONIK_BATCH_GOLDEN_DIR)) {
        if (e.path().extension() != ".batch") {
            continue;
        }
        auto blob = byte_slice::from(read_file(e.path()));
        auto ok = for_each_batch(blob, [&](const batch_header&, const byte_slice& s) -> result<void> {
            return for_each_record(s.span(), 1 << 24, [](const record_view&) {});
        });
        EXPECT_TRUE(ok) << e.path() << ": " << (ok ? "" : ok.error().message());
        ++n;
    }
    EXPECT_GE(n, 0);
}

TEST(seed_corpus, DISABLED_write) {
    auto input = sample_records(20);
    for (codec c : all_codecs) {
        batch_options o;
        o.compression = c;
        auto built = build_batch(input, o).value();
        std::ofstream(std::string(CHRONIK_BATCH_CORPUS_DIR) + "/v2_codec" + std::to_string(int(c)),
                      std::ios::binary)
          .write(reinterpret_cast<const char*>(built.data()), std::streamsize(built.size()));
    }
    bytes set;
    for (int i = 0; i < 3; ++i) {
        auto m = legacy_message(i, 1, 0, 7, b("k"), b("v"));
        set.insert(set.end(), m.begin(), m.end());
    }
    std::ofstream(std::string(CHRONIK_BATCH_CORPUS_DIR) + "/legacy_v1", std::ios::binary)
      .write(reinterpret_cast<const char*>(set.data()), std::streamsize(set.size()));
}

} // namespace
} // namespace chronik::record
