// demo/svg_chart.hpp — the run as a picture: one self-contained SVG file.
//
// Two panels over the same time axis: successful requests per second of each
// pool (a one-second moving window), and each pool's in_use (solid) and
// waiting (dashed) gauges, with the outage shaded and the leak marked. Plain
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
