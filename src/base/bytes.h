#pragma once
// Byte ownership for the data path. A request frame is read once into a shared
// buffer; decoded `bytes`/`records` fields are byte_slices into it (no copy), and
// keep the frame alive for as long as any slice of it is held.
//
// A slice may also stand for bytes still in a file (zero-copy fetch): it has a
// size and a file extent but no bytes in memory (data() is null, span() empty).
// Only an iobuf carries such a slice; a connection sends it with sendfile, and
// iobuf::linearize() reads it (tests).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace chronik {

using bytes = std::vector<uint8_t>;

class byte_slice {
public:
    byte_slice() = default;
    byte_slice(std::shared_ptr<const void> owner, std::span<const uint8_t> data) noexcept
      : _owner(std::move(owner)), _data(data) {}

    // Takes ownership of a buffer and views all of it.
    static byte_slice from(bytes b) {
        auto owner = std::make_shared<const bytes>(std::move(b));
        return byte_slice(owner, std::span<const uint8_t>(owner->data(), owner->size()));
    }
    static byte_slice copy_of(std::span<const uint8_t> s) { return from(bytes(s.begin(), s.end())); }
    static byte_slice copy_of(std::string_view s) {
        return copy_of(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
    }

    // `size` bytes at `offset` of `fd`, which `owner` keeps open.
    static byte_slice in_file(std::shared_ptr<const void> owner, int fd, uint64_t offset, size_t size) {
        byte_slice s;
        s._owner = std::move(owner);
        s._fd = fd;
        s._file_offset = offset;
        s._file_size = size;
        return s;
    }
    bool file_backed() const noexcept { return _fd >= 0; }
    int file_fd() const noexcept { return _fd; }
    uint64_t file_offset() const noexcept { return _file_offset; }

    const uint8_t* data() const noexcept { return _data.data(); }
    size_t size() const noexcept { return _fd >= 0 ? _file_size : _data.size(); }
    bool empty() const noexcept { return size() == 0; }
    std::span<const uint8_t> span() const noexcept { return _data; }
    std::string_view as_string_view() const noexcept {
        return { reinterpret_cast<const char*>(_data.data()), _data.size() };
    }
    const uint8_t& operator[](size_t i) const noexcept { return _data[i]; }

    // A sub-range sharing the same owner. Caller guarantees bounds.
    byte_slice sub(size_t pos, size_t len) const noexcept {
        if (_fd >= 0) {
            return in_file(_owner, _fd, _file_offset + pos, len);
        }
        return byte_slice(_owner, _data.subspan(pos, len));
    }
    const std::shared_ptr<const void>& owner() const noexcept { return _owner; }

    friend bool operator==(const byte_slice& a, const byte_slice& b) noexcept {
        return a.size() == b.size() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size()) == 0);
    }

private:
    std::shared_ptr<const void> _owner;
    std::span<const uint8_t> _data;
    int _fd = -1;
    uint64_t _file_offset = 0;
    size_t _file_size = 0;
};

} // namespace chronik
