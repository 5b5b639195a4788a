#pragma once
#include <string>

namespace chronik {

// Symbolised backtrace of the calling thread, one frame per line. Allocates:
// call it from diagnostics paths, never from a signal handler.
std::string current_backtrace(int skip = 1);

} // namespace chronik
