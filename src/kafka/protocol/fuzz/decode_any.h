#pragma once
// Decodes one request frame (header + body) of any API and version the protocol
// layer knows, checks that re-encoding what decoded and decoding again gives the
// same value, and reports what happened. Shared by the fuzzer and the golden tests.
#include "base/bytes.h"

#include <cstdint>
#include <string>

namespace chronik::protocol {

struct decode_any_result {
    bool header_ok = false;
    bool known = false;
    bool body_ok = false;
    bool consumed_all = false;
    bool reencode_matches = false; // re-encoding the decoded value gives the input bytes
    bool redecode_equal = false;   // decoding the re-encoding gives an equal value
    int16_t api_key = 0;
    int16_t api_version = 0;
    std::string error;
};

decode_any_result decode_any_request(const byte_slice& frame);

} // namespace chronik::protocol
