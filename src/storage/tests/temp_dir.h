#pragma once
// A directory under the system temp dir, removed with everything in it at the end
// of the scope: each storage test gets its own.
#include <filesystem>
#include <random>
#include <string>

namespace chronik::storage::testing {

struct temp_dir {
    explicit temp_dir(const std::string& prefix = "chronik-storage-") {
        std::random_device rd;
        path =
          std::filesystem::temp_directory_path() / (prefix + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    std::filesystem::path path;
    std::string str() const { return path.string(); }
};

} // namespace chronik::storage::testing
