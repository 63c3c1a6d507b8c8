// Internal: refuses, with one clear message each, the toolchains respool
// cannot build with, before any C++20 syntax can produce a confusing error.
//
// Supported: g++ >= 12 and clang >= 14, with libstdc++ >= 12, in C++20 mode
// (or later). libc++ needs <stop_token> without -fexperimental-library
// (libc++ 18 or newer).
#pragma once

#if __cplusplus < 202002L
#error "respool needs C++20: compile with -std=c++20 (g++ >= 12, or clang >= 14 with libstdc++ >= 12)"
#endif

#include <version>

#if !defined(__cpp_lib_jthread)
#error "respool needs std::stop_token (<stop_token>): libstdc++ >= 12 (g++ >= 12), or libc++ >= 18"
#endif
#if !defined(__cpp_concepts) || __cpp_concepts < 201907L
#error "respool needs C++20 concepts: g++ >= 12, or clang >= 14"
#endif
