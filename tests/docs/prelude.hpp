// What docs code blocks marked `declarations` or `statements` may assume
// (tests/docs/check_doc_code.py): every public header, and the placeholder
// names the docs use for the reader's own code. Keep the placeholders
// minimal and obviously fake; a doc block should not need more than a name.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <respool/format.hpp>
#include <respool/listeners.hpp>
#include <respool/pool.hpp>
#include <respool/prometheus.hpp>
#include <respool/testing.hpp>
#include <respool/version.hpp>

using namespace std::chrono_literals;

// A connection type of the reader's and its adapter.
struct MyConnection {
    void query(const char*) {}
    bool open() const { return true; }
};
struct MyAdapter {
    using Resource = MyConnection;
    MyConnection create(respool::Deadline) { return {}; }
};
