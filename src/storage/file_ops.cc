#include "storage/file_ops.h"

#include "storage/errc.h"

#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace chronik::storage {

namespace {
template<class T>
T or_errno(T rc) {
    return rc < 0 ? T(-errno) : rc;
}
} // namespace

int file_ops::open(const std::string& path, int flags, mode_t mode) {
    return or_errno(::open(path.c_str(), flags | O_CLOEXEC, mode));
}
ssize_t file_ops::pwrite(int fd, const void* data, size_t n, off_t pos) {
    return or_errno(::pwrite(fd, data, n, pos));
}
ssize_t file_ops::pread(int fd, void* data, size_t n, off_t pos) {
    return or_errno(::pread(fd, data, n, pos));
}
int file_ops::fdatasync(int fd) {
    return or_errno(::fdatasync(fd));
}
int file_ops::ftruncate(int fd, off_t size) {
    return or_errno(::ftruncate(fd, size));
}
int file_ops::rename(const std::string& from, const std::string& to) {
    return or_errno(::rename(from.c_str(), to.c_str()));
}
int file_ops::unlink(const std::string& path) {
    return or_errno(::unlink(path.c_str()));
}
int file_ops::close(int fd) {
    return or_errno(::close(fd));
}
int64_t file_ops::file_size(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return -errno;
    }
    return st.st_size;
}
int64_t file_ops::modified_ms(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return -errno;
    }
    return int64_t(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

ssize_t file_ops::pwrite_all(int fd, const void* data, size_t n, off_t pos) {
    const auto* p = static_cast<const uint8_t*>(data);
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(fd, p + done, n - done, pos + off_t(done));
        if (w == -EINTR) {
            continue;
        }
        if (w < 0) {
            return w;
        }
        if (w == 0) {
            return -EIO;
        }
        done += size_t(w);
    }
    return ssize_t(done);
}

ssize_t file_ops::pread_full(int fd, void* data, size_t n, off_t pos) {
    auto* p = static_cast<uint8_t*>(data);
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, p + done, n - done, pos + off_t(done));
        if (r == -EINTR) {
            continue;
        }
        if (r < 0) {
            return r;
        }
        if (r == 0) {
            break;
        }
        done += size_t(r);
    }
    return ssize_t(done);
}

file_ops& file_ops::real() {
    static file_ops ops;
    return ops;
}

int sync_dir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    int rc = ::fsync(fd) == 0 ? 0 : -errno;
    ::close(fd);
    return rc;
}

int replace_file(file_ops& ops, const std::string& path, const void* data, size_t n) {
    const std::string tmp = path + ".tmp";
    int fd = ops.open(tmp, O_RDWR | O_CREAT | O_TRUNC);
    if (fd < 0) {
        return fd;
    }
    auto written = ops.pwrite_all(fd, data, n, 0);
    int synced = written < 0 ? 0 : ops.fdatasync(fd);
    ops.close(fd);
    int rc = written < 0 ? int(written) : synced < 0 ? synced : ops.rename(tmp, path);
    if (rc < 0) {
        ops.unlink(tmp);
    }
    return rc;
}

int read_small_file(file_ops& ops, const std::string& path, size_t max_bytes, std::string& out) {
    int fd = ops.open(path, O_RDONLY);
    if (fd < 0) {
        return fd;
    }
    int64_t size = ops.file_size(fd);
    int rc = size < 0 ? int(size) : uint64_t(size) > max_bytes ? -EFBIG : 0;
    if (rc == 0) {
        out.resize(size_t(size));
        auto n = ops.pread_full(fd, out.data(), out.size(), 0);
        rc = n < 0 ? int(n) : n != size ? -EIO : 0;
    }
    ops.close(fd);
    return rc;
}

result<std::optional<std::string>> read_checkpoint(file_ops& ops, const std::string& path, size_t max_bytes) {
    std::string text;
    int rc = read_small_file(ops, path, max_bytes, text);
    if (rc == -ENOENT) {
        return std::optional<std::string>{};
    }
    if (rc == -EFBIG || rc == -EIO) {
        return errc::corrupt_checkpoint;
    }
    if (rc < 0) {
        return std::error_code(-rc, std::system_category());
    }
    return std::optional<std::string>(std::move(text));
}

} // namespace chronik::storage
