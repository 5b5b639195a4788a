#pragma once
// The one place that pulls Asio in, with the aliases the rest of the code uses.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace chronik {

namespace asio = boost::asio;

template<class T = void>
using awaitable = asio::awaitable<T>;

using asio::use_awaitable;

} // namespace chronik
