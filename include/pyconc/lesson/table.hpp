#pragma once
// An aligned text table: a bold header, a rule, and one line per row, with
// every column as wide as its widest cell.
//
//   Table table{{"step", Align::left}, {"refcount", Align::right}};
//   table.row({"b = a", "2"});
//   lesson.print(table);
#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pyconc/lesson/style.hpp"
#include "pyconc/lesson/text_width.hpp"

namespace pyconc::lesson {

enum class Align : unsigned char { left, right };

class Table {
public:
    struct Column {
        std::string header;
        Align align = Align::left;
    };

    Table(std::initializer_list<Column> columns) : columns_(columns) {}
    explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

    // Adds a row; it must have one cell per column.
    Table& row(std::vector<std::string> cells) {
        if (cells.size() != columns_.size()) {
            throw std::invalid_argument("Table::row: a row must have exactly one cell per column");
        }
        rows_.push_back(std::move(cells));
        return *this;
    }

    [[nodiscard]] std::string render(const Style& style) const {
        const std::vector<std::size_t> widths = column_widths();
        std::string out;
        std::vector<std::string> headers;
        std::size_t total = 0;
        for (std::size_t c = 0; c < columns_.size(); ++c) {
            headers.push_back(columns_[c].header);
            total += widths[c] + (c == 0 ? 0 : gap);
        }
        out += style.paint(style.strong(), line(headers, widths)) + '\n';
        std::string rule;
        for (std::size_t i = 0; i < total; ++i) rule += "─";
        out += style.paint(style.quiet(), rule) + '\n';
        for (const auto& cells : rows_) out += line(cells, widths) + '\n';
        return out;
    }

private:
    static constexpr std::size_t gap = 2;  // spaces between columns

    [[nodiscard]] std::vector<std::size_t> column_widths() const {
        std::vector<std::size_t> widths;
        for (const Column& column : columns_) widths.push_back(text_width(column.header));
        for (const auto& cells : rows_) {
            for (std::size_t c = 0; c < cells.size(); ++c) {
                widths[c] = std::max(widths[c], text_width(cells[c]));
            }
        }
        return widths;
    }

    [[nodiscard]] std::string line(const std::vector<std::string>& cells,
                                   const std::vector<std::size_t>& widths) const {
        std::string out;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            if (c > 0) out.append(gap, ' ');
            const std::string padding(widths[c] - text_width(cells[c]), ' ');
            const bool last = c + 1 == cells.size();
            if (columns_[c].align == Align::right) {
                out += padding + cells[c];
            } else {
                out += cells[c];
                if (!last) out += padding;  // no trailing spaces at the end of a line
            }
        }
        return out;
    }

    std::vector<Column> columns_;
    std::vector<std::vector<std::string>> rows_;
};

}  // namespace pyconc::lesson
