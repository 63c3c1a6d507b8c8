#include "svg_chart.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>

#include <fmt/format.h>

namespace demo {

namespace {

constexpr double width = 960, left = 70, right = 130;
constexpr double plot_w = width - left - right;
constexpr const char* colors[] = {"#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd"};

struct Panel {
    double top, height, y_max;
    std::string title;
};

// A round step giving about `n` ticks up to `max`.
double nice_step(double max, int n)
{
    const double raw = std::max(max, 1e-9) / n;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0})
        if (raw <= m * mag) return m * mag;
    return 10 * mag;
}

std::string escape(const std::string& s)
{
    std::string out;
    for (char c : s) {
        if (c == '<') out += "&lt;";
        else if (c == '>') out += "&gt;";
        else if (c == '&') out += "&amp;";
        else out += c;
    }
    return out;
}

class Canvas {
public:
    Canvas(double t_max) : t_max_(std::max(t_max, 1.0)) {}
    double x(double t) const { return left + plot_w * t / t_max_; }
    static double y(const Panel& p, double v) { return p.top + p.height * (1 - v / p.y_max); }

    std::string axes(const Panel& p) const
    {
        std::string s = fmt::format("<text x='{}' y='{}' font-weight='bold'>{}</text>\n", left, p.top - 10, escape(p.title));
        for (double v = 0; v <= p.y_max + 1e-9; v += nice_step(p.y_max, 4))
            s += fmt::format("<line x1='{0}' x2='{1}' y1='{2:.1f}' y2='{2:.1f}' stroke='#ddd'/>"
                             "<text x='{3}' y='{4:.1f}' text-anchor='end'>{5:g}</text>\n",
                             left, left + plot_w, y(p, v), left - 6, y(p, v) + 4, v);
        for (double t = 0; t <= t_max_ + 1e-9; t += nice_step(t_max_, 10))
            s += fmt::format("<text x='{:.1f}' y='{}' text-anchor='middle'>{:g} s</text>\n", x(t), p.top + p.height + 16, t);
        return s + fmt::format("<rect x='{}' y='{}' width='{}' height='{}' fill='none' stroke='#888'/>\n", left, p.top,
                               plot_w, p.height);
    }

    std::string line(const Panel& p, const std::vector<Sample>& samples, const std::function<double(std::size_t)>& value,
                     const char* color, bool dashed) const
    {
        std::string points;
        for (std::size_t i = 0; i < samples.size(); ++i)
            points += fmt::format("{:.1f},{:.1f} ", x(samples[i].t), y(p, std::min(value(i), p.y_max)));
        return fmt::format("<polyline fill='none' stroke='{}' stroke-width='1.8'{} points='{}'/>\n", color,
                           dashed ? " stroke-dasharray='5,3'" : "", points);
    }

    // The area under `value`, translucent, so a line drawn over it stays visible.
    std::string area(const Panel& p, const std::vector<Sample>& samples, const std::function<double(std::size_t)>& value,
                     const char* color) const
    {
        if (samples.empty()) return {};
        std::string points = fmt::format("{:.1f},{:.1f} ", x(samples.front().t), y(p, 0));
        for (std::size_t i = 0; i < samples.size(); ++i)
            points += fmt::format("{:.1f},{:.1f} ", x(samples[i].t), y(p, std::min(value(i), p.y_max)));
        points += fmt::format("{:.1f},{:.1f}", x(samples.back().t), y(p, 0));
        return fmt::format("<polygon fill='{}' fill-opacity='0.35' stroke='none' points='{}'/>\n", color, points);
    }

    std::string band(const Panel& p, double t0, double t1, const std::string& label) const
    {
        return fmt::format("<rect x='{:.1f}' y='{}' width='{:.1f}' height='{}' fill='#d62728' fill-opacity='0.10'/>"
                           "<text x='{:.1f}' y='{}' fill='#d62728'>{}</text>\n",
                           x(t0), p.top, x(t1) - x(t0), p.height, x(t0) + 3, p.top + 14, escape(label));
    }

    std::string mark(const Panel& p, const Mark& m) const
    {
        return fmt::format("<line x1='{0:.1f}' x2='{0:.1f}' y1='{1}' y2='{2}' stroke='#555' stroke-dasharray='2,3'/>"
                           "<text x='{3:.1f}' y='{4}' fill='#555'>{5}</text>\n",
                           x(m.t), p.top, p.top + p.height, x(m.t) + 3, p.top + p.height - 6, escape(m.label));
    }

private:
    double t_max_;
};

double max_over(const Timeline& tl, const std::function<double(const std::vector<Sample>&, std::size_t)>& f)
{
    double m = 0;
    for (const auto& series : tl.samples)
        for (std::size_t i = 0; i < series.size(); ++i) m = std::max(m, f(series, i));
    return m;
}

} // namespace

std::string svg_chart(const Timeline& tl, const std::string& title)
{
    double t_max = 0;
    for (const auto& series : tl.samples)
        if (!series.empty()) t_max = std::max(t_max, series.back().t);
    const Canvas c(t_max);
    const double rate_max = std::max(1.0, max_over(tl, [](const auto& s, std::size_t i) { return ok_rate(s, i); }));
    const double gauge_max = max_over(tl, [](const auto& s, std::size_t i) {
        return static_cast<double>(std::max(s[i].in_use, s[i].waiting));
    });
    // One panel for every pool's throughput, then one per pool for its gauges
    // (in the same panel, equal gauges of several pools would hide each other).
    std::vector<Panel> panels{{70, 200, nice_step(rate_max, 4) * std::ceil(rate_max / nice_step(rate_max, 4)),
                               "successful requests per second (1 s window)"}};
    for (const auto& name : tl.pools)
        panels.push_back({panels.back().top + panels.back().height + 50, 80, std::max(2.0, std::ceil(gauge_max * 1.1)),
                          "'" + name + "': in_use (shaded) and waiting (dashed)"});
    const double height = panels.back().top + panels.back().height + 35;

    std::string svg = fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{0}' height='{1}' viewBox='0 0 {0} {1}' "
                                  "font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n"
                                  "<text x='{2}' y='30' font-size='16' font-weight='bold'>{3}</text>\n",
                                  width, height, left, escape(title));
    for (const Panel& p : panels) {
        if (tl.fault_begin >= 0) svg += c.band(p, tl.fault_begin, tl.fault_end, "outage");
        svg += c.axes(p);
        for (const auto& m : tl.marks) svg += c.mark(p, m);
    }
    for (std::size_t k = 0; k < tl.samples.size(); ++k) {
        const auto& s = tl.samples[k];
        const char* color = colors[k % std::size(colors)];
        const Panel& gauges = panels[k + 1];
        svg += c.line(panels[0], s, [&](std::size_t i) { return ok_rate(s, i); }, color, false);
        const auto in_use = [&](std::size_t i) { return static_cast<double>(s[i].in_use); };
        svg += c.area(gauges, s, in_use, color);  // no outline: a dashed waiting line at the same height stays visible
        svg += c.line(gauges, s, [&](std::size_t i) { return static_cast<double>(s[i].waiting); }, color, true);
        const double ly = panels[0].top + 20.0 * static_cast<double>(k);
        svg += fmt::format("<line x1='{0}' x2='{1}' y1='{2}' y2='{2}' stroke='{3}' stroke-width='3'/>"
                           "<text x='{4}' y='{5}'>{6}</text>\n",
                           left + plot_w + 15, left + plot_w + 40, ly, color, left + plot_w + 46, ly + 4,
                           escape(tl.pools[k]));
    }
    return svg + "</svg>\n";
}

void write_svg_chart(const Timeline& timeline, const std::string& title, const std::string& path)
{
    std::ofstream out(path, std::ios::trunc);
    out << svg_chart(timeline, title);
    out.close();
    if (!out) throw std::runtime_error(fmt::format("cannot write the chart to {}: {}", path, std::strerror(errno)));
}

} // namespace demo
