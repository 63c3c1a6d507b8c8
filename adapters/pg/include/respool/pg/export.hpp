// Internal: which names librespool-pg exports.
//
// The library is built with -fvisibility=hidden (and -fvisibility-inlines-hidden)
// like the core: only names marked RESPOOL_PG_API are in its dynamic symbol
// table — the public API and the few respool::pg::detail functions that inline
// code in the public headers calls. RESPOOL_PG_LOCAL hides a member of an
// exported class that only the library itself calls. Helpers in src/ carry no
// mark and stay private, so they can change in a patch release.
// The same attributes as the core's RESPOOL_API (respool/detail/export.hpp);
// a macro of its own per library, so a DLL build can tell them apart.
#pragma once

#include <respool/detail/export.hpp>

#define RESPOOL_PG_API RESPOOL_API
#define RESPOOL_PG_LOCAL RESPOOL_LOCAL
