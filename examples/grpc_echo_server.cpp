// The echo service the gRPC examples call, as a program: Echo/Say plus the
// standard health service, on 127.0.0.1, until Ctrl-C.
//
//   build/examples/grpc_echo_server                 # a free port, printed
//   build/examples/grpc_echo_server 50051           # this port
//   build/examples/grpc_echo_server 50051 4         # at most 4 concurrent calls per connection
//
// Type "down" + Enter to answer health checks with NOT_SERVING, "up" to serve
// again, "restart" to drop every connection and listen again on the port.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "echo/echo_server.hpp"

int main(int argc, char** argv)
{
    example::EchoServerOptions options;
    if (argc > 1) options.port = static_cast<std::uint16_t>(std::atoi(argv[1]));
    if (argc > 2) options.max_concurrent_streams = std::atoi(argv[2]);

    example::EchoServer server{options};
    std::printf("echo server on %s (health: SERVING); commands: up, down, restart, quit\n",
                server.address().c_str());
    std::fflush(stdout);

    for (std::string line; std::getline(std::cin, line);) {
        if (line == "down") server.set_serving(false);
        else if (line == "up") server.set_serving(true);
        else if (line == "restart") server.restart();
        else if (line == "quit") break;
        else continue;
        std::printf("%s: %llu calls so far\n", line.c_str(), static_cast<unsigned long long>(server.calls()));
        std::fflush(stdout);
    }
    // Without a terminal (stdin closed) keep serving until a signal ends the process.
    if (std::cin.eof()) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        int sig = 0;
        sigwait(&set, &sig);
    }
}
