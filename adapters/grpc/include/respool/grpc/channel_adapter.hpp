// respool/grpc/channel_adapter.hpp — the old header of `Adapter` (before
// 0.2), kept for one release: include <respool/grpc.hpp> or
// <respool/grpc/adapter.hpp> instead.
#pragma once

#include <respool/grpc/adapter.hpp>
