#include "record/compression.h"

#include "base/endian.h"
#include "record/errc.h"

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

// Xerial's framing, which the Java client writes: a 16-byte header, then blocks of
// [int32 compressed length][raw snappy block]. librdkafka writes one raw block.
constexpr uint8_t xerial_magic[8] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0 };

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

result<bytes> zstd_compress(std::span<const uint8_t> in) {
    bytes out(ZSTD_compressBound(in.size()));
    size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
    if (ZSTD_isError(n)) {
        return bad();
    }
    out.resize(n);
    return out;
}

// The decoders below each fill the caller's buffer from their input and keep only
// their own bounded state between calls.

class plain_stream final : public decompressor {
public:
    explicit plain_stream(std::span<const uint8_t> in) : _in(in) {}
    result<size_t> read(std::span<uint8_t> out) override {
        size_t n = std::min(out.size(), _in.size() - _pos);
        std::memcpy(out.data(), _in.data() + _pos, n);
        _pos += n;
        return n;
    }

private:
    std::span<const uint8_t> _in;
    size_t _pos = 0;
};

class gzip_stream final : public decompressor {
public:
    explicit gzip_stream(std::span<const uint8_t> in) {
        _zs.next_in = const_cast<Bytef*>(in.data());
        _zs.avail_in = uInt(in.size());
        _ok = inflateInit2(&_zs, 15 + 32) == Z_OK; // gzip or zlib header, detected
    }
    ~gzip_stream() override {
        if (_ok) {
            inflateEnd(&_zs);
        }
    }
    gzip_stream(const gzip_stream&) = delete;
    gzip_stream& operator=(const gzip_stream&) = delete;

    result<size_t> read(std::span<uint8_t> out) override {
        if (!_ok) {
            return bad();
        }
        _zs.next_out = out.data();
        _zs.avail_out = uInt(out.size());
        while (_zs.avail_out > 0 && !_ended) {
            int rc = inflate(&_zs, Z_NO_FLUSH);
            if (rc == Z_STREAM_END) {
                _ended = true;
            } else if ((rc == Z_BUF_ERROR && _zs.avail_in == 0) || (rc != Z_OK && rc != Z_BUF_ERROR)) {
                return bad(); // damaged, or the input ended inside the stream
            }
        }
        return out.size() - _zs.avail_out;
    }

private:
    z_stream _zs{};
    bool _ok = false;
    bool _ended = false;
};

// Snappy blocks (xerial_magic above) decode whole, so a block may be at most
// `max_block` long.
class snappy_stream final : public decompressor {
public:
    snappy_stream(std::span<const uint8_t> in, size_t max_block) : _in(in), _max_block(max_block) {
        _xerial = in.size() >= 16 && std::memcmp(in.data(), xerial_magic, 8) == 0;
        _pos = _xerial ? 16 : 0;
    }
    result<size_t> read(std::span<uint8_t> out) override {
        size_t produced = 0;
        while (produced < out.size()) {
            if (_block_pos == _block.size()) {
                auto more = next_block();
                if (!more) {
                    return more.error();
                }
                if (!more.value()) {
                    break;
                }
                continue;
            }
            size_t n = std::min(out.size() - produced, _block.size() - _block_pos);
            std::memcpy(out.data() + produced, _block.data() + _block_pos, n);
            produced += n;
            _block_pos += n;
        }
        return produced;
    }

private:
    // Decodes the next block; false at the end of the input.
    result<bool> next_block() {
        std::span<const uint8_t> raw;
        if (_xerial) {
            if (_pos == _in.size()) {
                return false;
            }
            if (_in.size() - _pos < 4) {
                return bad();
            }
            uint32_t n = load_be<uint32_t>(_in.data() + _pos);
            _pos += 4;
            if (n > _in.size() - _pos) {
                return bad();
            }
            raw = _in.subspan(_pos, n);
            _pos += n;
        } else {
            if (_pos != 0) {
                return false;
            }
            raw = _in;
            _pos = 1; // the one block is taken
        }
        size_t len = 0;
        const char* src = reinterpret_cast<const char*>(raw.data());
        if (snappy_uncompressed_length(src, raw.size(), &len) != SNAPPY_OK) {
            return bad();
        }
        if (len > _max_block) {
            return too_large();
        }
        _block.resize(len);
        if (snappy_uncompress(src, raw.size(), reinterpret_cast<char*>(_block.data()), &len) != SNAPPY_OK) {
            return bad();
        }
        _block.resize(len);
        _block_pos = 0;
        return true;
    }

    std::span<const uint8_t> _in;
    size_t _max_block;
    bool _xerial = false;
    size_t _pos = 0;
    bytes _block;
    size_t _block_pos = 0;
};

class lz4_stream final : public decompressor {
public:
    explicit lz4_stream(std::span<const uint8_t> in) : _in(in) {
        _ok = !LZ4F_isError(LZ4F_createDecompressionContext(&_ctx, LZ4F_VERSION));
    }
    ~lz4_stream() override {
        if (_ctx != nullptr) {
            LZ4F_freeDecompressionContext(_ctx);
        }
    }
    lz4_stream(const lz4_stream&) = delete;
    lz4_stream& operator=(const lz4_stream&) = delete;

    result<size_t> read(std::span<uint8_t> out) override {
        if (!_ok) {
            return bad();
        }
        size_t produced = 0;
        while (produced < out.size() && !_ended) {
            size_t src = _in.size() - _pos;
            size_t dst = out.size() - produced;
            size_t hint =
              LZ4F_decompress(_ctx, out.data() + produced, &dst, _in.data() + _pos, &src, nullptr);
            if (LZ4F_isError(hint)) {
                return bad();
            }
            _pos += src;
            produced += dst;
            if (hint == 0) {
                _ended = true; // the frame is complete
            } else if (src == 0 && dst == 0) {
                return bad(); // the input ended inside the frame
            }
        }
        return produced;
    }

private:
    std::span<const uint8_t> _in;
    size_t _pos = 0;
    LZ4F_dctx* _ctx = nullptr;
    bool _ok = false;
    bool _ended = false;
};

// A zstd frame names the window its decoder must keep; a hostile one can ask for
// gigabytes. Producers' windows are a few MiB (level 3 streams use 2 MiB; level 19,
// 8 MiB); a frame that needs more is refused as undecodable.
constexpr int zstd_max_window_log = 23;

class zstd_stream final : public decompressor {
public:
    explicit zstd_stream(std::span<const uint8_t> in)
      : _ds(ZSTD_createDStream()), _ib{ in.data(), in.size(), 0 } {
        _ok = _ds != nullptr && !ZSTD_isError(ZSTD_initDStream(_ds)) &&
              !ZSTD_isError(ZSTD_DCtx_setParameter(_ds, ZSTD_d_windowLogMax, zstd_max_window_log));
    }
    ~zstd_stream() override { ZSTD_freeDStream(_ds); }
    zstd_stream(const zstd_stream&) = delete;
    zstd_stream& operator=(const zstd_stream&) = delete;

    result<size_t> read(std::span<uint8_t> out) override {
        if (!_ok) {
            return bad();
        }
        ZSTD_outBuffer ob{ out.data(), out.size(), 0 };
        while (ob.pos < ob.size && !_ended) {
            size_t in_before = _ib.pos, out_before = ob.pos;
            size_t rc = ZSTD_decompressStream(_ds, &ob, &_ib);
            if (ZSTD_isError(rc)) {
                return bad();
            }
            if (rc == 0) {
                _ended = _ib.pos == _ib.size; // otherwise another frame follows
            } else if (_ib.pos == _ib.size && in_before == _ib.pos && out_before == ob.pos) {
                return bad(); // the input ended inside a frame
            }
        }
        return ob.pos;
    }

private:
    ZSTD_DStream* _ds;
    ZSTD_inBuffer _ib;
    bool _ok = false;
    bool _ended = false;
};

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

result<std::unique_ptr<decompressor>> make_decompressor(codec c, std::span<const uint8_t> in,
                                                        size_t max_block) {
    switch (c) {
        case codec::none:
            return std::unique_ptr<decompressor>(std::make_unique<plain_stream>(in));
        case codec::gzip:
            return std::unique_ptr<decompressor>(std::make_unique<gzip_stream>(in));
        case codec::snappy:
            return std::unique_ptr<decompressor>(std::make_unique<snappy_stream>(in, max_block));
        case codec::lz4:
            return std::unique_ptr<decompressor>(std::make_unique<lz4_stream>(in));
        case codec::zstd:
            return std::unique_ptr<decompressor>(std::make_unique<zstd_stream>(in));
    }
    return make_error_code(errc::unsupported_compression);
}

result<bytes> decompress(codec c, std::span<const uint8_t> in, size_t max_out) {
    CHRONIK_TRY(auto d, make_decompressor(c, in, max_out));
    // Grows geometrically as the decoder fills it, never past max_out.
    bytes out(std::min<size_t>(max_out, std::max<size_t>(in.size() * 4, 1024)));
    size_t used = 0;
    for (;;) {
        if (used == out.size()) {
            uint8_t probe = 0;
            if (used == max_out) {
                CHRONIK_TRY(auto more, d->read({ &probe, 1 }));
                if (more > 0) {
                    return too_large();
                }
                break;
            }
            out.resize(std::min(max_out, out.size() * 2));
        }
        CHRONIK_TRY(auto n, d->read({ out.data() + used, out.size() - used }));
        if (n == 0) {
            break;
        }
        used += n;
    }
    out.resize(used);
    return out;
}

} // namespace chronik::record
