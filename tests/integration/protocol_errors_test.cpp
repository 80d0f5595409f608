// The request parser's protocol errors are the ones a real redis-server answers.
#include "rsm/net/asio.hpp"
#include "rsm/resp/frame_parser.hpp"
#include "support/process.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

using namespace rsm;

TEST_CASE("malformed requests get the same error from the parser as from redis-server",
          "[integration][frame]") {
  auto srv = test::server_process::redis();
  std::vector<std::string> inputs = {
      "*abc\r\n",
      "*01\r\n",
      "*2147483648\r\n",
      "*1\r\nfoo\r\n",
      "*1\r\n$-5\r\n",
      "*1\r\n$x\r\n",
      "*1\r\n$536870913\r\n",
      "*" + std::string(70000, '1'),
      "*1\r\n$" + std::string(70000, '1'),
      std::string(70000, 'a'),
      "SET \"a b\r\n",
      "SET 'a'b\r\n",
  };
  for (const auto& input : inputs) {
    INFO(input.substr(0, 40));
    asio::io_context ctx;
    tcp::socket sock(ctx);
    sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv->port()));
    asio::write(sock, asio::buffer(input));
    std::string reply;
    error_code ec;
    asio::read_until(sock, asio::dynamic_buffer(reply), "\r\n", ec);
    REQUIRE_FALSE(ec);
    reply = reply.substr(0, reply.find("\r\n"));

    resp::request_parser p;
    auto st = p.parse(input);
    REQUIRE(st.what == resp::parse_step::kind::error);
    CHECK(reply == "-" + p.error_message());
  }
}
