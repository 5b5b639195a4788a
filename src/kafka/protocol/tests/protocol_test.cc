#include "kafka/protocol/error_code.h"
#include "kafka/protocol/messages.h"
#include "kafka/protocol/request_header.h"
#include "tests/round_trip.h"

#include <fstream>

#include <gtest/gtest.h>

namespace chronik::protocol {
namespace {

byte_slice slice(std::initializer_list<uint8_t> b) {
    return byte_slice::from(bytes(b));
}

bytes frame_of(const request_header& h, const auto& body) {
    iobuf out;
    writer w(out);
    encode_request_header(w, h);
    body.encode(w, h.api_version);
    return out.linearize();
}

// Byte layouts checked by hand against the protocol guide.
TEST(golden_bytes, api_versions_request_v3) {
    request_header h{ 18, 3, 1, std::string("test") };
    api_versions_request_data req;
    req.client_software_name = "librdkafka";
    req.client_software_version = "2.0.2";
    bytes expected = { 0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 't',
                       'e',  's',  't',  0x00, 0x0b, 'l',  'i',  'b',  'r',  'd',  'k',
                       'a',  'f',  'k',  'a',  0x06, '2',  '.',  '0',  '.',  '2',  0x00 };
    EXPECT_EQ(frame_of(h, req), expected);

    reader r(byte_slice::from(expected));
    auto hdr = decode_request_header(r);
    ASSERT_TRUE(hdr);
    EXPECT_TRUE(hdr.value().known);
    EXPECT_EQ(hdr.value().client_id, "test");
    api_versions_request_data back;
    ASSERT_TRUE(back.decode(r, 3));
    EXPECT_EQ(back, req);
    EXPECT_EQ(r.remaining(), 0u);
}

TEST(golden_bytes, metadata_request_v1_and_null_topics) {
    request_header h{ 3, 1, 7, std::string("c") };
    metadata_request_data req;
    req.topics.emplace().emplace_back().name = "t1";
    bytes expected = { 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0x00, 0x01,
                       'c',  0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 't',  '1' };
    EXPECT_EQ(frame_of(h, req), expected);
    req.topics.reset(); // null = all topics in v1+
    bytes all = { 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0x00, 0x01, 'c', 0xff, 0xff, 0xff, 0xff };
    EXPECT_EQ(frame_of(h, req), all);
}

TEST(golden_bytes, api_versions_response_header_is_always_v0) {
    EXPECT_EQ(response_header_version(18, 3), 0);
    EXPECT_EQ(response_header_version(3, 9), 1);
    EXPECT_EQ(response_header_version(3, 8), 0);
    EXPECT_EQ(request_header_version(3, 9), 2);
    EXPECT_EQ(request_header_version(0, 8), 1);
}

TEST(bad_input, huge_array_count_fails_before_allocating) {
    // Metadata v1 claiming 2^31-1 topics with two bytes left.
    metadata_request_data req;
    reader r(slice({ 0x7f, 0xff, 0xff, 0xff, 0x00, 0x01 }));
    auto res = req.decode(r, 1);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error(), make_error(errc::bad_length));
}

TEST(bad_input, negative_lengths_are_refused_where_null_is_not_allowed) {
    // Metadata v1 topic name with length -2; then -1 (null) for a non-nullable name.
    metadata_request_data req;
    reader r1(slice({ 0x00, 0x00, 0x00, 0x01, 0xff, 0xfe }));
    EXPECT_FALSE(req.decode(r1, 1));
    reader r2(slice({ 0x00, 0x00, 0x00, 0x01, 0xff, 0xff }));
    auto res = req.decode(r2, 1);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error(), make_error(errc::null_not_allowed));
    // A string length past the end of the frame.
    reader r3(slice({ 0x00, 0x00, 0x00, 0x01, 0x7f, 0xff, 'a' }));
    EXPECT_FALSE(req.decode(r3, 1));
}

TEST(bad_input, overlong_varint_and_unknown_tagged_fields) {
    // ApiVersions v3: a compact string whose length varint never ends.
    api_versions_request_data req;
    reader r(slice({ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }));
    EXPECT_FALSE(req.decode(r, 3));
    // Unknown tagged field 7 with 2 bytes: kept and re-encoded as it came.
    bytes in = { 0x01, 0x01, 0x01, 0x07, 0x02, 0xab, 0xcd };
    reader r2(byte_slice::from(in));
    api_versions_request_data req2;
    ASSERT_TRUE(req2.decode(r2, 3));
    ASSERT_EQ(req2.unknown_tagged_fields.size(), 1u);
    EXPECT_EQ(req2.unknown_tagged_fields[0].tag, 7u);
    EXPECT_EQ(encode_to_bytes(req2, 3), in);
    // A tagged field whose size runs past the end.
    reader r3(slice({ 0x01, 0x01, 0x01, 0x07, 0x09, 0xab }));
    api_versions_request_data req3;
    EXPECT_FALSE(req3.decode(r3, 3));
}

TEST(bad_input, records_are_zero_copy_slices_of_the_frame) {
    produce_request_data req;
    req.acks = -1;
    req.timeout_ms = 1000;
    auto& p = req.topic_data.emplace_back();
    p.name = "t";
    p.partition_data.emplace_back().records = byte_slice::from(bytes(100, 0x42));
    auto enc = byte_slice::from(encode_to_bytes(req, 9));
    reader r(enc);
    produce_request_data back;
    ASSERT_TRUE(back.decode(r, 9));
    const auto& rec = *back.topic_data[0].partition_data[0].records;
    EXPECT_GE(rec.data(), enc.data());
    EXPECT_LT(rec.data(), enc.data() + enc.size());
}

TEST(error_codes, names_and_values) {
    EXPECT_EQ(+error_code::unsupported_version, 35);
    EXPECT_EQ(error_name(error_code::unknown_topic_or_partition), "UNKNOWN_TOPIC_OR_PARTITION");
    EXPECT_EQ(error_name(error_code(-2)), "UNKNOWN");
    EXPECT_EQ(find_api(0)->name, "Produce");
    EXPECT_EQ(find_api(18)->max_version, 4);
    EXPECT_EQ(find_api(999), nullptr);
}

// Writes the fuzzer's seed corpus: one sample request of every API at its lowest
// and highest version. Run by hand (--gtest_also_run_disabled_tests) when schemas change.
template<class... A>
void write_seeds(type_list<A...>) {
    auto one = [](auto api, int16_t v) {
        using Api = decltype(api);
        typename Api::request req;
        req.fill_sample(v, 3);
        request_header h{ Api::key, v, 42, std::string("seed") };
        auto bytes = frame_of(h, req);
        std::ofstream(std::string(CHRONIK_FUZZ_CORPUS_DIR) + "/" + std::to_string(Api::key) + "_" +
                        std::to_string(v),
                      std::ios::binary)
          .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    };
    (one(A{}, A::min_version), ...);
    (one(A{}, A::max_version), ...);
}

TEST(seed_corpus, DISABLED_write) {
    write_seeds(all_apis{});
}

} // namespace
} // namespace chronik::protocol
