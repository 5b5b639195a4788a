#pragma once
// Used only by the generated codec files: read into an lvalue, or return the error.
#define CHRONIK_PROTO_READ(dst, expr)                                                                        \
    do {                                                                                                     \
        auto chronik_r_ = (expr);                                                                            \
        if (!chronik_r_) [[unlikely]] {                                                                      \
            return chronik_r_.error();                                                                       \
        }                                                                                                    \
        (dst) = std::move(chronik_r_).value();                                                               \
    } while (0)

#define CHRONIK_PROTO_CHECK(expr)                                                                            \
    do {                                                                                                     \
        auto chronik_r_ = (expr);                                                                            \
        if (!chronik_r_) [[unlikely]] {                                                                      \
            return chronik_r_.error();                                                                       \
        }                                                                                                    \
    } while (0)
