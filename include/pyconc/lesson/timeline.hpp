#pragma once
// The GIL timeline, drawn from a runtime::Trace: in the terminal, one row
// per thread and a column per time slice, and as an SVG picture for slides.
//
//   GilTimeline timeline{"convoy at 5 ms", trace.timeline()};
//   lesson.print(timeline);            // the terminal rows
//   write_svg(path, {timeline});       // panels, one under the other
//
//                0 ms                                         30.2 ms
//   spin     │████████████████▌███████████████████▌██████████│ held 30.1 ms
//   io       │▌░░░░░░░░░░░░░░░▌░░░░░░░░░░░░░░░░░░▌░░░░░░░░░░│ held 0.1 ms, waited 29.8 ms
//
// A cell is the share of its slice the thread spent in each state: mostly
// holding █, held at least briefly ▌ (a short hold is an event worth
// seeing, even when the slice is wide), mostly waiting ░, else released ·
// (blocked in a call, not started yet, or finished).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "pyconc/lesson/style.hpp"
#include "pyconc/lesson/text_width.hpp"
#include "pyconc/runtime/trace.hpp"

namespace pyconc::lesson {

class GilTimeline {
public:
    using Timeline = runtime::Trace::Timeline;
    using SpanState = runtime::Trace::SpanState;

    // Draws the first `window_ms` of the timeline (0: all of it) in `columns`.
    GilTimeline(std::string title, Timeline timeline, double window_ms = 0, std::size_t columns = 64)
        : title_(std::move(title)),
          timeline_(std::move(timeline)),
          shown_ms_(window_ms > 0 ? std::min(window_ms, timeline_.length_ms) : timeline_.length_ms),
          columns_(columns) {}

    [[nodiscard]] const std::string& title() const noexcept { return title_; }
    [[nodiscard]] const Timeline& timeline() const noexcept { return timeline_; }

    [[nodiscard]] std::string render(const Style& style) const {
        std::size_t name_width = 0;
        for (const auto& thread : timeline_.threads)
            name_width = std::max(name_width, text_width(thread.name));
        const std::string end = fmt::format("{:.1f} ms", shown_ms_);
        std::string out = fmt::format("{}\n", title_);
        if (shown_ms_ < timeline_.length_ms) {
            out += style.paint(style.quiet(),
                               fmt::format("(the first {:.1f} ms of {:.1f} ms; totals for all of it)\n",
                                           shown_ms_, timeline_.length_ms));
        }
        out += fmt::format("{:{}}  0 ms{:>{}}\n", "", name_width, end, columns_ - 4 + 1);
        for (const auto& thread : timeline_.threads) {
            std::string cells;
            for (std::size_t column = 0; column < columns_; ++column) cells += cell(thread, column, style);
            std::string totals = fmt::format("held {:.1f} ms", thread.holding_ms);
            if (thread.waiting_ms >= 0.05) totals += fmt::format(", waited {:.1f} ms", thread.waiting_ms);
            out += fmt::format("{}{}  │{}│ {}\n", thread.name,
                               std::string(name_width - text_width(thread.name), ' '), cells,
                               style.paint(style.quiet(), totals));
        }
        out += style.paint(
            style.quiet(),
            fmt::format("{:{}}  █ holding the GIL  ▌ held briefly  ░ waiting for it  · released\n", "",
                        name_width));
        return out;
    }

private:
    // Time in each state within one column's slice of the timeline.
    [[nodiscard]] std::string cell(const runtime::Trace::ThreadTimeline& thread, std::size_t column,
                                   const Style& style) const {
        const double width_ms = shown_ms_ / static_cast<double>(columns_);
        const double from = width_ms * static_cast<double>(column);
        const double to = from + width_ms;
        double holding = 0;
        double waiting = 0;
        bool held_at_all = false;
        for (const auto& span : thread.spans) {
            if (span.to_ms < from || span.from_ms > to) continue;
            const double overlap = std::min(span.to_ms, to) - std::max(span.from_ms, from);
            if (span.state == SpanState::holding) {
                holding += overlap;
                held_at_all = true;
            } else {
                waiting += overlap;
            }
        }
        if (width_ms <= 0) return "·";
        if (holding >= 0.5 * width_ms) return style.paint(style.good(), "█");
        if (held_at_all) return style.paint(style.good(), "▌");
        if (waiting >= 0.5 * width_ms) return style.paint(style.bad(), "░");
        return style.paint(style.quiet(), "·");
    }

    std::string title_;
    Timeline timeline_;
    double shown_ms_;
    std::size_t columns_;
};

namespace detail {

inline std::string xml_escaped(std::string_view text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// A round tick step (1, 2 or 5 times a power of ten) giving about 6 ticks.
inline double tick_step(double length) {
    if (length <= 0) return 1;
    const double rough = length / 6;
    const double power = std::pow(10.0, std::floor(std::log10(rough)));
    for (const double multiple : {1.0, 2.0, 5.0}) {
        if (multiple * power >= rough) return multiple * power;
    }
    return 10 * power;
}

}  // namespace detail

// The timelines as one SVG picture, one panel under another, each with its
// own time axis. Returns the SVG text.
[[nodiscard]] inline std::string timelines_svg(const std::vector<GilTimeline>& panels) {
    constexpr double width = 960;
    constexpr double label_width = 130;
    constexpr double plot_width = width - label_width - 30;
    constexpr double row_height = 26;
    constexpr double bar_height = 18;
    std::string body;
    double y = 20;
    for (const GilTimeline& panel : panels) {
        const auto& timeline = panel.timeline();
        const double length = timeline.length_ms > 0 ? timeline.length_ms : 1;
        const double scale = plot_width / length;
        body += fmt::format(R"(<text x="10" y="{:.0f}" class="title">{}</text>)"
                            "\n",
                            y + 14, detail::xml_escaped(panel.title()));
        y += 26;
        const double rows_top = y;
        std::string rows;
        for (const auto& thread : timeline.threads) {
            rows += fmt::format(R"(<text x="10" y="{:.1f}" class="name">{}</text>)"
                                "\n",
                                y + bar_height - 4, detail::xml_escaped(thread.name));
            rows +=
                fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.0f}" class="released"/>)"
                            "\n",
                            label_width, y, plot_width, bar_height);
            for (const auto& span : thread.spans) {
                const bool holding = span.state == runtime::Trace::SpanState::holding;
                const double x = label_width + span.from_ms * scale;
                double span_width = (span.to_ms - span.from_ms) * scale;
                if (span_width < 0.5 && !holding)
                    continue;  // too short to see; a short hold is worth a pixel
                span_width = std::max(span_width, 1.0);
                rows += fmt::format(
                    R"(<rect x="{:.2f}" y="{:.1f}" width="{:.2f}" height="{:.0f}" class="{}"><title>{} {:.3f}-{:.3f} ms{}</title></rect>)"
                    "\n",
                    x, y, span_width, bar_height, holding ? "holding" : "waiting",
                    holding ? "holding" : "waiting", span.from_ms, span.to_ms,
                    holding ? fmt::format(", then {}", runtime::drop_reason_name(span.ended_by)) : "");
            }
            y += row_height;
        }
        // The time axis: grid lines behind the rows, labels under them.
        const double step = detail::tick_step(length);
        const auto ticks = static_cast<int>(std::floor(length / step + 1e-9));
        for (int i = 0; i <= ticks; ++i) {
            const double tick = step * i;
            const double x = label_width + tick * scale;
            body += fmt::format(R"(<line x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}" class="tick"/>)"
                                R"(<text x="{0:.1f}" y="{3:.1f}" class="axis">{4:g} ms</text>)"
                                "\n",
                                x, rows_top - 2, y, y + 12, tick);
        }
        body += rows;
        y += 30;
    }
    body += fmt::format(
        R"(<rect x="{0:.0f}" y="{1:.0f}" width="14" height="14" class="holding"/>)"
        R"(<text x="{2:.0f}" y="{3:.0f}" class="name">holding the GIL</text>)"
        R"(<rect x="{4:.0f}" y="{1:.0f}" width="14" height="14" class="waiting"/>)"
        R"(<text x="{5:.0f}" y="{3:.0f}" class="name">waiting for it</text>)"
        R"(<rect x="{6:.0f}" y="{1:.0f}" width="14" height="14" class="released"/>)"
        R"(<text x="{7:.0f}" y="{3:.0f}" class="name">released (blocked, not started, finished)</text>)"
        "\n",
        label_width, y, label_width + 20, y + 12, label_width + 160, label_width + 180, label_width + 300,
        label_width + 320);
    y += 30;
    return fmt::format(
        R"(<svg xmlns="http://www.w3.org/2000/svg" width="{0:.0f}" height="{1:.0f}" viewBox="0 0 {0:.0f} {1:.0f}">)"
        "\n"
        "<style>\n"
        "  text {{ font-family: 'DejaVu Sans Mono', monospace; font-size: 12px; fill: #222; }}\n"
        "  .title {{ font-size: 14px; font-weight: bold; }}\n"
        "  .axis {{ font-size: 10px; fill: #666; text-anchor: middle; }}\n"
        "  .tick {{ stroke: #ccc; stroke-width: 1; }}\n"
        "  .holding {{ fill: #2e7d32; }}\n"
        "  .waiting {{ fill: #f9a825; }}\n"
        "  .released {{ fill: #eeeeee; fill-opacity: 0.8; }}\n"
        "</style>\n"
        R"(<rect width="100%" height="100%" fill="white"/>)"
        "\n{2}</svg>\n",
        width, y, body);
}

}  // namespace pyconc::lesson
