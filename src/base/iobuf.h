#pragma once
// An output buffer made of fragments: small writes are appended to an owned tail
// buffer; large byte_slices (record batches read from a segment) are linked in
// without a copy, and so are file extents (zero-copy fetch), which a connection
// sends with sendfile between gathered sends of the memory fragments.
#include "base/bytes.h"

#include <cstdint>
#include <span>
#include <vector>

#include <unistd.h>

namespace chronik {

class iobuf {
public:
    // Slices at least this large are linked rather than copied.
    static constexpr size_t link_threshold = 512;

    void append(const void* p, size_t n) {
        if (n == 0) {
            return;
        }
        auto* b = static_cast<const uint8_t*>(p);
        tail().insert(tail().end(), b, b + n);
        _size += n;
    }
    void append(std::span<const uint8_t> s) { append(s.data(), s.size()); }
    void append(const byte_slice& s) {
        if (s.file_backed()) {
            if (s.size() > 0) {
                _frags.push_back(fragment{ {}, s });
                _size += s.size();
            }
            return;
        }
        if (s.size() < link_threshold) {
            append(s.data(), s.size());
            return;
        }
        _frags.push_back(fragment{ {}, s });
        _size += s.size();
    }
    void append_byte(uint8_t b) {
        tail().push_back(b);
        ++_size;
    }
    // Reserves n bytes in the tail and returns the position, for values (sizes,
    // CRCs) that are only known after what follows has been written.
    struct placeholder {
        size_t frag;
        size_t pos;
    };
    placeholder reserve(size_t n) {
        auto& t = tail();
        placeholder ph{ _frags.size() - 1, t.size() };
        t.resize(t.size() + n);
        _size += n;
        return ph;
    }
    uint8_t* at(placeholder ph) noexcept { return _frags[ph.frag].owned.data() + ph.pos; }

    size_t size() const noexcept { return _size; }
    bool empty() const noexcept { return _size == 0; }

    // Each fragment in order: memory as a span, a file extent as its byte_slice.
    template<class M, class F>
    void for_each_piece(M&& on_memory, F&& on_file) const {
        for (const auto& fr : _frags) {
            if (fr.linked.file_backed()) {
                on_file(fr.linked);
            } else if (fr.linked.size() > 0) {
                on_memory(fr.linked.span());
            } else if (!fr.owned.empty()) {
                on_memory(std::span<const uint8_t>(fr.owned));
            }
        }
    }
    // Each fragment's bytes, in order; file extents are read (blocking: tests and
    // tools only, never a shard's data path).
    template<class F>
    void for_each_fragment(F&& f) const {
        for_each_piece(f, [&](const byte_slice& s) {
            bytes tmp(s.size());
            size_t got = 0;
            while (got < tmp.size()) {
                ssize_t n =
                  ::pread(s.file_fd(), tmp.data() + got, tmp.size() - got, off_t(s.file_offset() + got));
                if (n <= 0) {
                    break;
                }
                got += size_t(n);
            }
            tmp.resize(got);
            f(std::span<const uint8_t>(tmp));
        });
    }
    // Another buffer's fragments, linked where they were linked.
    void append(const iobuf& other) {
        if (&other == this) {
            return;
        }
        for (const auto& fr : other._frags) {
            if (fr.linked.size() > 0) {
                _frags.push_back(fr);
                _size += fr.linked.size();
            } else {
                append(std::span<const uint8_t>(fr.owned));
            }
        }
    }
    // Flattens into contiguous bytes (tests, small responses).
    bytes linearize() const {
        bytes out;
        out.reserve(_size);
        for_each_fragment([&](std::span<const uint8_t> s) { out.insert(out.end(), s.begin(), s.end()); });
        return out;
    }
    void clear() {
        _frags.clear();
        _size = 0;
    }

private:
    struct fragment {
        bytes owned;
        byte_slice linked;
    };
    bytes& tail() {
        if (_frags.empty() || _frags.back().linked.size() > 0) {
            _frags.push_back(fragment{});
            _frags.back().owned.reserve(256);
        }
        return _frags.back().owned;
    }

    std::vector<fragment> _frags;
    size_t _size = 0;
};

} // namespace chronik
