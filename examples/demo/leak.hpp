// demo/leak.hpp — the bug the demo plants on purpose: a lease kept "for later".
//
// `keep_for_later` acquires a connection and parks its lease in a cache that
// nobody clears, the way a real leak looks: no error, just one connection
// fewer for everyone else. With `leak_threshold` set, the pool reports the
// lease once it has been held too long, naming the line that acquired it.
// The demo's test finds the acquiring line by the marker comment below.
#pragma once

#include <vector>

#include <respool/pool.hpp>

namespace demo {

template <respool::Adapter A>
void keep_for_later(respool::Pool<A>& pool, std::vector<respool::Lease<A>>& cache)
{
    cache.push_back(pool.acquire());  // respool-demo: the planted leak (acquired here, never given back)
}

} // namespace demo
