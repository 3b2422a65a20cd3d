// The one way into Boost.Asio for minga. Boost 1.74's awaitable.hpp uses
// std::exchange without including <utility>, so it is included first here.
#pragma once

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace minga::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
template <class T = void>
using awaitable = asio::awaitable<T>;
using asio::use_awaitable;
}  // namespace minga::net
