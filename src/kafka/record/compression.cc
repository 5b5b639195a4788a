#include "kafka/record/compression.h"

#include "base/endian.h"
#include "kafka/record/errc.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

namespace chronik::record {

namespace {

std::error_code bad() {
    return make_error_code(errc::bad_compressed_data);
}
std::error_code too_large() {
    return make_error_code(errc::too_large);
}

// Grows `out` geometrically up to `max_out` while a streaming decoder fills it.
bool grow(bytes& out, size_t used, size_t max_out) {
    if (out.size() >= max_out) {
        return false;
    }
    out.resize(std::min(max_out, std::max<size_t>(out.size() * 2, used + 4096)));
    return true;
}

result<bytes> gzip_compress(std::span<const uint8_t> in) {
    z_stream zs{};
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return bad();
    }
    bytes out(deflateBound(&zs, uLong(in.size())) + 32);
    zs.next_in = const_cast<Bytef*>(in.data());
    zs.avail_in = uInt(in.size());
    zs.next_out = out.data();
    zs.avail_out = uInt(out.size());
    int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        return bad();
    }
    return out;
}

result<bytes> gzip_decompress(std::span<const uint8_t> in, size_t max_out) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 32) != Z_OK) { // gzip or zlib header, detected
        return bad();
    }
    bytes out(std::min<size_t>(max_out, std::max<size_t>(in.size() * 4, 1024)));
    zs.next_in = const_cast<Bytef*>(in.data());
    zs.avail_in = uInt(in.size());
    int rc = Z_OK;
    while (true) {
        zs.next_out = out.data() + zs.total_out;
        zs.avail_out = uInt(out.size() - zs.total_out);
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            inflateEnd(&zs);
            return bad();
        }
        if (zs.avail_out == 0) {
            if (!grow(out, zs.total_out, max_out)) {
                inflateEnd(&zs);
                return too_large();
            }
        } else if (zs.avail_in == 0) {
            inflateEnd(&zs);
            return bad(); // input ended inside the stream
        }
    }
    out.resize(zs.total_out);
    inflateEnd(&zs);
    return out;
}

// Xerial's framing, which the Java client writes: a 16-byte header, then blocks of
// [int32 compressed length][raw snappy block].
constexpr uint8_t xerial_magic[8] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0 };

result<bytes> snappy_raw_decompress(std::span<const uint8_t> in, size_t max_out, bytes& out) {
    size_t len = 0;
    if (snappy_uncompressed_length(reinterpret_cast<const char*>(in.data()), in.size(), &len) != SNAPPY_OK) {
        return bad();
    }
    if (len > max_out - std::min(max_out, out.size())) {
        return too_large();
    }
    size_t at = out.size();
    out.resize(at + len);
    if (snappy_uncompress(reinterpret_cast<const char*>(in.data()), in.size(),
                          reinterpret_cast<char*>(out.data() + at), &len) != SNAPPY_OK) {
        return bad();
    }
    out.resize(at + len);
    return bytes{};
}

result<bytes> snappy_decompress(std::span<const uint8_t> in, size_t max_out) {
    bytes out;
    if (in.size() >= 16 && std::memcmp(in.data(), xerial_magic, 8) == 0) {
        size_t pos = 16;
        while (pos < in.size()) {
            if (in.size() - pos < 4) {
                return bad();
            }
            uint32_t n = load_be<uint32_t>(in.data() + pos);
            pos += 4;
            if (n > in.size() - pos) {
                return bad();
            }
            auto r = snappy_raw_decompress(in.subspan(pos, n), max_out, out);
            if (!r) {
                return r.error();
            }
            pos += n;
        }
        return out;
    }
    auto r = snappy_raw_decompress(in, max_out, out);
    if (!r) {
        return r.error();
    }
    return out;
}

result<bytes> snappy_compress_xerial(std::span<const uint8_t> in) {
    constexpr size_t block = 32 * 1024;
    bytes out(xerial_magic, xerial_magic + 8);
    out.resize(16);
    store_be<int32_t>(out.data() + 8, 1);  // version
    store_be<int32_t>(out.data() + 12, 1); // minimum compatible version
    for (size_t pos = 0; pos < in.size(); pos += block) {
        size_t n = std::min(block, in.size() - pos);
        size_t cap = snappy_max_compressed_length(n);
        size_t at = out.size();
        out.resize(at + 4 + cap);
        size_t written = cap;
        if (snappy_compress(reinterpret_cast<const char*>(in.data() + pos), n,
                            reinterpret_cast<char*>(out.data() + at + 4), &written) != SNAPPY_OK) {
            return bad();
        }
        store_be<uint32_t>(out.data() + at, uint32_t(written));
        out.resize(at + 4 + written);
    }
    return out;
}

result<bytes> lz4_compress(std::span<const uint8_t> in) {
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    bytes out(LZ4F_compressFrameBound(in.size(), &prefs));
    size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
    if (LZ4F_isError(n)) {
        return bad();
    }
    out.resize(n);
    return out;
}

result<bytes> lz4_decompress(std::span<const uint8_t> in, size_t max_out) {
    LZ4F_dctx* ctx = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) {
        return bad();
    }
    std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> guard(
      ctx, &LZ4F_freeDecompressionContext);
    bytes out(std::min<size_t>(max_out, std::max<size_t>(in.size() * 4, 1024)));
    size_t in_pos = 0, out_pos = 0;
    size_t hint = 1;
    while (in_pos < in.size() && hint != 0) {
        if (out_pos == out.size() && !grow(out, out_pos, max_out)) {
            return too_large();
        }
        size_t src = in.size() - in_pos;
        size_t dst = out.size() - out_pos;
        hint = LZ4F_decompress(ctx, out.data() + out_pos, &dst, in.data() + in_pos, &src, nullptr);
        if (LZ4F_isError(hint)) {
            return bad();
        }
        in_pos += src;
        out_pos += dst;
        if (src == 0 && dst == 0 && out_pos < out.size()) {
            return bad();
        }
    }
    // Flush what the decoder still holds (output buffer was full).
    while (hint != 0) {
        if (out_pos == out.size() && !grow(out, out_pos, max_out)) {
            return too_large();
        }
        size_t src = 0;
        size_t dst = out.size() - out_pos;
        hint = LZ4F_decompress(ctx, out.data() + out_pos, &dst, nullptr, &src, nullptr);
        if (LZ4F_isError(hint)) {
            return bad();
        }
        out_pos += dst;
        if (dst == 0 && hint != 0) {
            return bad(); // the frame is incomplete
        }
    }
    out.resize(out_pos);
    return out;
}

result<bytes> zstd_compress(std::span<const uint8_t> in) {
    bytes out(ZSTD_compressBound(in.size()));
    size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
    if (ZSTD_isError(n)) {
        return bad();
    }
    out.resize(n);
    return out;
}

result<bytes> zstd_decompress(std::span<const uint8_t> in, size_t max_out) {
    std::unique_ptr<ZSTD_DStream, decltype(&ZSTD_freeDStream)> ds(ZSTD_createDStream(), &ZSTD_freeDStream);
    if (!ds || ZSTD_isError(ZSTD_initDStream(ds.get()))) {
        return bad();
    }
    bytes out(std::min<size_t>(max_out, std::max<size_t>(in.size() * 4, 1024)));
    ZSTD_inBuffer ib{ in.data(), in.size(), 0 };
    ZSTD_outBuffer ob{ out.data(), out.size(), 0 };
    size_t rc = 1;
    while (rc != 0) {
        if (ob.pos == ob.size) {
            if (!grow(out, ob.pos, max_out)) {
                return too_large();
            }
            ob.dst = out.data();
            ob.size = out.size();
        }
        size_t before_in = ib.pos, before_out = ob.pos;
        rc = ZSTD_decompressStream(ds.get(), &ob, &ib);
        if (ZSTD_isError(rc)) {
            return bad();
        }
        if (rc != 0 && ib.pos == ib.size && ob.pos < ob.size && before_in == ib.pos && before_out == ob.pos) {
            return bad(); // the input ended inside a frame
        }
        if (rc == 0 && ib.pos < ib.size) {
            rc = 1; // another frame follows
        }
    }
    out.resize(ob.pos);
    return out;
}

} // namespace

result<bytes> compress(codec c, std::span<const uint8_t> in) {
    switch (c) {
        case codec::none:
            return bytes(in.begin(), in.end());
        case codec::gzip:
            return gzip_compress(in);
        case codec::snappy:
            return snappy_compress_xerial(in);
        case codec::lz4:
            return lz4_compress(in);
        case codec::zstd:
            return zstd_compress(in);
    }
    return make_error_code(errc::unsupported_compression);
}

result<bytes> decompress(codec c, std::span<const uint8_t> in, size_t max_out) {
    switch (c) {
        case codec::none:
            if (in.size() > max_out) {
                return too_large();
            }
            return bytes(in.begin(), in.end());
        case codec::gzip:
            return gzip_decompress(in, max_out);
        case codec::snappy:
            return snappy_decompress(in, max_out);
        case codec::lz4:
            return lz4_decompress(in, max_out);
        case codec::zstd:
            return zstd_decompress(in, max_out);
    }
    return make_error_code(errc::unsupported_compression);
}

} // namespace chronik::record
