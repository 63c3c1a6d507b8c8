// Internal: which of the core's names the shared library exports.
//
// librespool is built with -fvisibility=hidden (and -fvisibility-inlines-hidden):
// only names marked RESPOOL_API are in its dynamic symbol table — the public
// API, and the few respool::detail entry points that inline `Pool<A>` and
// `Lease<A>` code calls. Everything else stays private to the library, so it
// can change in a patch release without breaking programs built against it.
// RESPOOL_LOCAL hides a member of an exported class (private helpers).
// A static build (meson `default_library=static`) needs neither.
#pragma once

#include <respool/detail/config.hpp>
#include <respool/detail/source_location.hpp>

#if defined(_WIN32) || defined(__CYGWIN__)
#define RESPOOL_API
#define RESPOOL_LOCAL
#else
#define RESPOOL_API __attribute__((visibility("default")))
#define RESPOOL_LOCAL __attribute__((visibility("hidden")))
#endif
