#include "fuzz/decode_any.h"

#include "kafka/protocol/messages.h"
#include "kafka/protocol/request_header.h"

#include <cstdlib>

namespace chronik::protocol {

namespace {

template<class Api>
void decode_body(reader& r, const request_header& h, decode_any_result& out) {
    typename Api::request req;
    size_t body_start = r.position();
    reader body = r;
    auto ok = req.decode(r, h.api_version);
    if (!ok) {
        out.error = ok.error().message();
        return;
    }
    out.body_ok = true;
    out.consumed_all = r.remaining() == 0;
    iobuf buf;
    writer w(buf);
    req.encode(w, h.api_version);
    auto encoded = buf.linearize();
    size_t body_len = r.position() - body_start;
    auto raw = body.raw(body_len);
    out.reencode_matches = raw && raw.value() == byte_slice::copy_of(encoded);
    reader again(byte_slice::copy_of(encoded));
    typename Api::request req2;
    auto ok2 = req2.decode(again, h.api_version);
    // What decoded must re-encode into something that decodes to the same value;
    // anything else is a codec bug, which the fuzzer reports by crashing.
    if (!ok2 || !(req2 == req) || again.remaining() != 0) {
        std::abort();
    }
    out.redecode_equal = true;
}

template<class... A>
void dispatch(type_list<A...>, reader& r, const request_header& h, decode_any_result& out) {
    ((h.api_key == A::key ? decode_body<A>(r, h, out) : void()), ...);
}

} // namespace

decode_any_result decode_any_request(const byte_slice& frame) {
    decode_any_result out;
    reader r(frame);
    auto h = decode_request_header(r);
    if (!h) {
        out.error = h.error().message();
        return out;
    }
    out.header_ok = true;
    out.api_key = h.value().api_key;
    out.api_version = h.value().api_version;
    out.known = h.value().known;
    if (out.known) {
        dispatch(all_apis{}, r, h.value(), out);
    }
    return out;
}

} // namespace chronik::protocol
