// respool/grpc/channel_options.hpp — the old header of `Options` (before
// 0.2), kept for one release: include <respool/grpc.hpp> or
// <respool/grpc/options.hpp> instead.
#pragma once

#include <respool/grpc/options.hpp>
