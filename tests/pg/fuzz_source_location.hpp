// fuzz_source_location.hpp — lets clang 14 (Debian 12's, the one with
// libFuzzer) compile respool's headers against libstdc++ 12, whose
// <source_location> needs a builtin clang 14 lacks. Force-included by
// tests/pg/run_fuzz.sh only; the fuzzed code never reads a source location.
#pragma once

#include <cstdint>
#include <source_location>

#if !defined(__cpp_lib_source_location)
namespace std {
struct source_location {
    static constexpr source_location current() noexcept { return {}; }
    constexpr std::uint_least32_t line() const noexcept { return 0; }
    constexpr std::uint_least32_t column() const noexcept { return 0; }
    constexpr const char* file_name() const noexcept { return ""; }
    constexpr const char* function_name() const noexcept { return ""; }
};
} // namespace std
#endif
