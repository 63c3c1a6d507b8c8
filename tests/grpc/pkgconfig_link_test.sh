#!/usr/bin/env bash
# respool-grpc.pc: a program with its own generated stubs (protoc + the grpc
# plugin on local_servers/echo.proto) compiles and links with
# `pkg-config --cflags --libs respool-grpc` alone, against the build tree's
# uninstalled .pc files. Usage: pkgconfig_link_test.sh BUILD_ROOT SOURCE_ROOT
set -euo pipefail
build_root=$1 source_root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export PKG_CONFIG_PATH="$build_root/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
flags=$(pkg-config --cflags --libs respool-grpc)

protoc --proto_path="$source_root/local_servers" --cpp_out="$work" --grpc_out="$work" \
  --plugin=protoc-gen-grpc="$(command -v grpc_cpp_plugin)" "$source_root/local_servers/echo.proto"

cat > "$work/main.cpp" <<'CPP'
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <respool/grpc.hpp>
#include <respool/pool.hpp>
#include "echo.grpc.pb.h"
int main()
{
    respool::grpc::Options o;
    o.target = "127.0.0.1:1";
    o.insecure = true;
    o.logger = [](respool::LogLevel, std::string_view) {};
    respool::grpc::Adapter adapter{o};
    respool::test::EchoRequest request;   // generated code: protobuf
    request.set_message("linked");
    auto channel = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
    auto stub = respool::test::Echo::NewStub(channel);  // generated code: grpc++
    return request.message() == "linked" && stub ? 0 : 1;
}
CPP
# shellcheck disable=SC2086
${CXX:-c++} -std=c++20 -O0 -I"$work" "$work/main.cpp" "$work/echo.pb.cc" "$work/echo.grpc.pb.cc" \
  $flags -o "$work/linked"
LD_LIBRARY_PATH="$build_root/core:$build_root/adapters/grpc${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/linked"
echo "linked and ran with: pkg-config --libs respool-grpc"
