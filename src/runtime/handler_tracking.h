#pragma once
// Asio's custom handler-tracking hook (BOOST_ASIO_CUSTOM_HANDLER_TRACKING names this
// header for every translation unit that links chronik_runtime). We use only the
// invocation begin/end pair: it brackets every completion handler a shard runs, which
// is exactly what the stall detector needs to know — "this shard has been inside one
// handler since T" — without any polling. All other hooks compile to nothing.
#include <cstdint>

namespace chronik::runtime::detail {

// Marks the calling thread busy for the lifetime of the object. Nested handlers
// (a dispatch run inline from another handler) count once.
class handler_scope {
public:
    handler_scope() noexcept {
        if (_depth++ == 0) {
            begin();
        }
    }
    ~handler_scope() {
        if (--_depth == 0) {
            end();
        }
    }
    handler_scope(const handler_scope&) = delete;
    handler_scope& operator=(const handler_scope&) = delete;

private:
    static void begin() noexcept;
    static void end() noexcept;
    static inline thread_local int _depth = 0;
};

} // namespace chronik::runtime::detail

#define BOOST_ASIO_INHERIT_TRACKED_HANDLER
#define BOOST_ASIO_ALSO_INHERIT_TRACKED_HANDLER
#define BOOST_ASIO_HANDLER_TRACKING_INIT (void)0
#define BOOST_ASIO_HANDLER_LOCATION(args) (void)0
#define BOOST_ASIO_HANDLER_CREATION(args) (void)0
#define BOOST_ASIO_HANDLER_COMPLETION(args) (void)0
#define BOOST_ASIO_HANDLER_INVOCATION_BEGIN(args)                                                            \
    ::chronik::runtime::detail::handler_scope chronik_handler_scope_ {}
#define BOOST_ASIO_HANDLER_INVOCATION_END (void)0
#define BOOST_ASIO_HANDLER_OPERATION(args) (void)0
#define BOOST_ASIO_HANDLER_REACTOR_REGISTRATION(args) (void)0
#define BOOST_ASIO_HANDLER_REACTOR_DEREGISTRATION(args) (void)0
#define BOOST_ASIO_HANDLER_REACTOR_READ_EVENT 1
#define BOOST_ASIO_HANDLER_REACTOR_WRITE_EVENT 2
#define BOOST_ASIO_HANDLER_REACTOR_ERROR_EVENT 4
#define BOOST_ASIO_HANDLER_REACTOR_EVENTS(args) (void)0
#define BOOST_ASIO_HANDLER_REACTOR_OPERATION(args) (void)0
