// demo/svg_chart.hpp — the run as a picture: one self-contained SVG file.
//
// Panels over the same time axis: successful requests per second of every
// pool (a one-second moving window), then for each pool its in_use (shaded)
// and waiting (dashed) gauges; the outage is shaded and the leak marked. Plain
// SVG 1.1, no scripts or external fonts, so any browser shows it.
#pragma once

#include <string>

#include "timeline.hpp"

namespace demo {

/// The SVG document for `timeline`, titled `title`.
std::string svg_chart(const Timeline& timeline, const std::string& title);

/// Writes `svg_chart` to `path`; throws std::runtime_error naming the path.
void write_svg_chart(const Timeline& timeline, const std::string& title, const std::string& path);

} // namespace demo
