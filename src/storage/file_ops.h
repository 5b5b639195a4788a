#pragma once
// The storage engine's only door to the file system. Every call returns a value or
// -errno, never throws. Tests substitute a file_ops that injects ENOSPC or EIO to
// prove that a failing disk gives clients KAFKA_STORAGE_ERROR and damages nothing
// already acknowledged.
#include "base/result.h"

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace chronik::storage {

class file_ops {
public:
    virtual ~file_ops() = default;
    virtual int open(const std::string& path, int flags, mode_t mode = 0644);
    virtual ssize_t pwrite(int fd, const void* data, size_t n, off_t pos);
    virtual ssize_t pread(int fd, void* data, size_t n, off_t pos);
    virtual int fdatasync(int fd);
    virtual int ftruncate(int fd, off_t size);
    virtual int close(int fd);
    virtual int64_t file_size(int fd);
    // The file's modification time in ms since the epoch, or -errno.
    virtual int64_t modified_ms(int fd);
    virtual int rename(const std::string& from, const std::string& to);
    virtual int unlink(const std::string& path);

    // Writes all n bytes or fails; a short write is retried, EINTR too.
    ssize_t pwrite_all(int fd, const void* data, size_t n, off_t pos);
    // Reads up to n bytes, stopping early only at end of file.
    ssize_t pread_full(int fd, void* data, size_t n, off_t pos);

    static file_ops& real();
};

// fsync of a directory, so a created, renamed or removed entry survives a crash.
int sync_dir(const std::string& dir);

// Replaces `path` with `n` bytes, crash-safely: written to `path.tmp`, fdatasynced,
// then renamed over `path` (a crash leaves the old file or the new one; the caller
// makes the rename durable with sync_dir). 0 or -errno; the tmp file is removed on
// failure.
int replace_file(file_ops& ops, const std::string& path, const void* data, size_t n);

// Reads a whole small file (a checkpoint) into `out`: 0, -ENOENT if absent, -EFBIG
// if larger than `max_bytes`, or another -errno.
int read_small_file(file_ops& ops, const std::string& path, size_t max_bytes, std::string& out);
// A checkpoint's text (read_small_file): nothing if the file is absent,
// errc::corrupt_checkpoint if it is larger than `max_bytes` or unreadable (EIO),
// any other errno as a system error.
result<std::optional<std::string>> read_checkpoint(file_ops& ops, const std::string& path, size_t max_bytes);

// Reads one decimal integer followed by `end` from a small file's text, advancing
// past both; false if `in` does not start that way.
template<class T>
bool take_number(std::string_view& in, char end, T& out) {
    auto [p, ec] = std::from_chars(in.data(), in.data() + in.size(), out);
    if (ec != std::errc() || p == in.data() + in.size() || *p != end) {
        return false;
    }
    in.remove_prefix(size_t(p - in.data()) + 1);
    return true;
}

} // namespace chronik::storage
