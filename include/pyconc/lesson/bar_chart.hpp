#pragma once
// A horizontal bar chart: one labelled bar per value, scaled so that the
// largest value fills `width` columns, drawn with eighth-blocks so that
// close values still look different.
//
//   BarChart chart{"ms"};
//   chart.bar("10k cycles", 3.7).bar("100k cycles", 26.5);
//   lesson.print(chart);
//
//   10k cycles   ███▍                                        3.7 ms
//   100k cycles  ████████████████████████▏                  26.5 ms
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "pyconc/lesson/style.hpp"
#include "pyconc/lesson/text_width.hpp"

namespace pyconc::lesson {

class BarChart {
public:
    explicit BarChart(std::string unit, std::size_t width = 40) : unit_(std::move(unit)), width_(width) {}

    // Adds a bar; values must be finite and not negative.
    BarChart& bar(std::string label, double value) {
        if (!std::isfinite(value) || value < 0) {
            throw std::invalid_argument("BarChart::bar: a bar's value must be finite and not negative");
        }
        bars_.push_back({std::move(label), value});
        return *this;
    }

    [[nodiscard]] std::string render(const Style& style) const {
        std::size_t label_width = 0;
        double largest = 0;
        std::vector<std::string> figures;
        std::size_t figure_width = 0;
        for (const Bar& bar : bars_) {
            label_width = std::max(label_width, text_width(bar.label));
            largest = std::max(largest, bar.value);
            figures.push_back(fmt::format("{:.4g}", bar.value));
            figure_width = std::max(figure_width, figures.back().size());
        }
        std::string out;
        for (std::size_t i = 0; i < bars_.size(); ++i) {
            const Bar& bar = bars_[i];
            const std::string blocks = draw(largest > 0 ? bar.value / largest : 0);
            out += fmt::format(
                "{}{}  {}{}  {:>{}} {}\n", bar.label, std::string(label_width - text_width(bar.label), ' '),
                style.paint(style.bar(), blocks), std::string(width_ - text_width(blocks), ' '), figures[i],
                figure_width, unit_);
        }
        return out;
    }

private:
    struct Bar {
        std::string label;
        double value;
    };

    // A bar `fraction` of the full width long, in eighths of a column.
    [[nodiscard]] std::string draw(double fraction) const {
        static constexpr const char* eighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
        const auto total = static_cast<std::size_t>(std::lround(fraction * static_cast<double>(width_ * 8)));
        std::string blocks;
        for (std::size_t i = 0; i < total / 8; ++i) blocks += "█";
        blocks += eighths[total % 8];
        return blocks;
    }

    std::string unit_;
    std::size_t width_;
    std::vector<Bar> bars_;
};

}  // namespace pyconc::lesson
