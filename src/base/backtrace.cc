#include "base/backtrace.h"

#include <cstdlib>
#include <memory>

#include <cxxabi.h>
#include <execinfo.h>

namespace chronik {

std::string current_backtrace(int skip) {
    void* frames[64];
    int n = ::backtrace(frames, 64);
    std::unique_ptr<char*, decltype(&std::free)> symbols(::backtrace_symbols(frames, n), &std::free);
    std::string out;
    for (int i = skip; i < n; ++i) {
        std::string line = symbols ? symbols.get()[i] : "?";
        // "binary(mangled+0x12) [0x...]": demangle the part between '(' and '+'.
        auto open = line.find('(');
        auto plus = line.find('+', open == std::string::npos ? 0 : open);
        if (open != std::string::npos && plus != std::string::npos && plus > open + 1) {
            std::string mangled = line.substr(open + 1, plus - open - 1);
            int status = 0;
            std::unique_ptr<char, decltype(&std::free)> demangled(
              abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status), &std::free);
            if (status == 0 && demangled) {
                line = line.substr(0, open + 1) + demangled.get() + line.substr(plus);
            }
        }
        out += "  #" + std::to_string(i - skip) + " " + line + "\n";
    }
    return out;
}

} // namespace chronik
