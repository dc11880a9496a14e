#pragma once
// Styled terminal output: colour on a terminal, plain text everywhere else.
//
// Colour is used only when standard output is a terminal that can show it
// (TERM is set and is not "dumb"), the NO_COLOR environment variable is
// unset or empty (https://no-color.org), and the lesson was not given
// --no-color. Piped into a file or a test, a lesson
// prints plain text, byte for byte the same on every machine.
#include <cctype>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include <unistd.h>

#include <fmt/color.h>
#include <fmt/format.h>

namespace pyconc::lesson {

class Style {
public:
    explicit Style(bool colour, bool unicode = true) noexcept : colour_(colour), unicode_(unicode) {}

    // The locale rule above.
    [[nodiscard]] static bool unicode_wanted() noexcept {
        for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
            // NOLINTNEXTLINE(concurrency-mt-unsafe): read once, before any thread starts
            const char* value = std::getenv(name);
            if (value == nullptr || *value == '\0') continue;
            std::string lower{value};
            for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            return lower.find("utf-8") != std::string::npos || lower.find("utf8") != std::string::npos;
        }
        return true;
    }

    // `text` as this terminal can show it: unchanged, or with each drawing
    // character replaced by one ASCII character.
    [[nodiscard]] std::string text(std::string text) const {
        if (unicode_) return text;
        static constexpr std::pair<std::string_view, std::string_view> ascii[] = {
            {"─", "-"}, {"━", "="}, {"│", "|"}, {"█", "#"}, {"▓", "*"}, {"▒", "="}, {"░", ":"},
            {"·", "."}, {"•", "o"}, {"▏", "-"}, {"▎", "-"}, {"▍", "-"}, {"▌", "+"}, {"▋", "+"},
            {"▊", "+"}, {"▉", "+"}, {"—", "-"}, {"→", ">"}, {"…", "."}};
        for (const auto& [glyph, replacement] : ascii) {
            for (std::size_t at = text.find(glyph); at != std::string::npos;
                 at = text.find(glyph, at + replacement.size())) {
                text.replace(at, glyph.size(), replacement);
            }
        }
        return text;
    }

    // The rule above: what a lesson uses unless told otherwise.
    [[nodiscard]] static bool colour_wanted(bool no_color_flag) noexcept {
        // NOLINTNEXTLINE(concurrency-mt-unsafe): read once, before any thread starts
        const char* no_color = std::getenv("NO_COLOR");
        const bool disabled_by_env = no_color != nullptr && *no_color != '\0';
        // NOLINTNEXTLINE(concurrency-mt-unsafe): as above
        const char* term = std::getenv("TERM");
        const bool dumb = term == nullptr || *term == '\0' || std::string_view{term} == "dumb";
        return !no_color_flag && !disabled_by_env && !dumb && isatty(STDOUT_FILENO) == 1;
    }

    [[nodiscard]] bool colour() const noexcept { return colour_; }

    // The roles a lesson paints text with.
    [[nodiscard]] fmt::text_style heading() const {
        return pick(fmt::emphasis::bold | fmt::fg(fmt::terminal_color::cyan));
    }
    [[nodiscard]] fmt::text_style strong() const { return pick(fmt::emphasis::bold); }
    [[nodiscard]] fmt::text_style quiet() const { return pick(fmt::fg(fmt::terminal_color::bright_black)); }
    [[nodiscard]] fmt::text_style good() const {
        return pick(fmt::emphasis::bold | fmt::fg(fmt::terminal_color::green));
    }
    [[nodiscard]] fmt::text_style bad() const {
        return pick(fmt::emphasis::bold | fmt::fg(fmt::terminal_color::red));
    }
    [[nodiscard]] fmt::text_style bar() const { return pick(fmt::fg(fmt::terminal_color::blue)); }

    // `text` in `style` (unchanged when colour is off).
    [[nodiscard]] std::string paint(fmt::text_style style, std::string_view text) const {
        if (!colour_) return std::string(text);
        return fmt::format(style, "{}", text);
    }

private:
    [[nodiscard]] fmt::text_style pick(fmt::text_style style) const {
        return colour_ ? style : fmt::text_style{};
    }

    bool colour_;
    bool unicode_;
};

}  // namespace pyconc::lesson
