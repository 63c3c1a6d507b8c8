// Internal: `respool::SourceLocation`, where an acquire was called.
//
// It is `std::source_location` wherever the standard library has one. clang
// 14 with libstdc++ has none (libstdc++'s needs `__builtin_source_location`,
// which clang has from version 15), so there it is a small class with the
// same members, filled by `__builtin_FILE`/`__builtin_LINE`/
// `__builtin_FUNCTION`/`__builtin_COLUMN` in a defaulted argument — evaluated
// at the call site, as `std::source_location::current()` is.
#pragma once

#include <respool/detail/config.hpp>

#if __has_include(<source_location>)
#include <source_location>
#endif

#if defined(__cpp_lib_source_location)
#define RESPOOL_STD_SOURCE_LOCATION 1
#else
#define RESPOOL_STD_SOURCE_LOCATION 0
#if !defined(__clang__) && !defined(__GNUC__)
#error "respool needs std::source_location (g++ >= 12, or clang >= 14 with libstdc++ >= 12)"
#endif
#endif

#include <cstdint>

namespace respool {

#if RESPOOL_STD_SOURCE_LOCATION
using SourceLocation = std::source_location;
#else
/// std::source_location's interface, for toolchains that lack it (clang 14 + libstdc++).
class SourceLocation {
public:
    static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                            const char* function = __builtin_FUNCTION(),
                                            std::uint_least32_t line = __builtin_LINE(),
                                            std::uint_least32_t column = __builtin_COLUMN()) noexcept
    {
        SourceLocation s;
        s.file_ = file;
        s.function_ = function;
        s.line_ = line;
        s.column_ = column;
        return s;
    }
    constexpr SourceLocation() noexcept = default;
    constexpr const char* file_name() const noexcept { return file_; }
    constexpr const char* function_name() const noexcept { return function_; }
    constexpr std::uint_least32_t line() const noexcept { return line_; }
    constexpr std::uint_least32_t column() const noexcept { return column_; }

private:
    const char* file_ = "";
    const char* function_ = "";
    std::uint_least32_t line_ = 0;
    std::uint_least32_t column_ = 0;
};
#endif

} // namespace respool
