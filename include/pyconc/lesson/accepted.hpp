#pragma once
// What a flag accepts, as data: a check whose refusal fits on one line and
// names what is accepted, e.g.
//
//   --steps: -1 is not accepted: expected an integer from 1 to 100
//   --expect: 'maybe' is not accepted: expected one of race, no-race
//
// The command line (command_line.hpp) puts the flag's name in front.
#include <charconv>
#include <concepts>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>

namespace pyconc::lesson {

struct Accepted {
    // The refusal of `text` ("3 is not accepted: expected ..."), or "" when
    // it is accepted.
    std::function<std::string(const std::string& text)> refusal;
    // What --help shows after the flag: "1 to 64", "plain|call", "FILE".
    std::string description;
};

// A refused value as the refusal shows it: on one line, whatever it holds
// (a newline or a tab is written \n or \t, other control bytes \xNN).
[[nodiscard]] inline std::string shown(std::string_view text) {
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (byte < 0x20 || byte == 0x7f) {
            out += fmt::format("\\x{:02x}", byte);
        } else {
            out += c;
        }
    }
    return out;
}

// Accepts a number of type T from `lowest` to `highest` inclusive.
template <class T>
requires std::integral<T> || std::floating_point<T>
[[nodiscard]] Accepted accepted_range(T lowest, T highest) {
    const char* kind = std::integral<T> ? "an integer" : "a number";
    std::string expected = fmt::format("expected {} from {} to {}", kind, lowest, highest);
    auto check = [=](const std::string& text) -> std::string {
        T value{};
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        // Written as "not inside" so that NaN, which compares false with
        // everything, is refused too.
        if (error != std::errc{} || stop != end || !(value >= lowest && value <= highest)) {
            return fmt::format("{} is not accepted: {}", shown(text), expected);
        }
        return {};
    };
    return {check, fmt::format("{} to {}", lowest, highest)};
}

// Accepts exactly one of `words`.
[[nodiscard]] inline Accepted accepted_words(std::vector<std::string> words) {
    std::string expected = "expected one of " + fmt::format("{}", fmt::join(words, ", "));
    std::string description = fmt::format("{}", fmt::join(words, "|"));
    auto check = [words = std::move(words), expected](const std::string& text) -> std::string {
        for (const std::string& word : words) {
            if (text == word) return {};
        }
        return fmt::format("'{}' is not accepted: {}", shown(text), expected);
    };
    return {check, description};
}

// Accepts a path to a file the lesson can write: its directory exists and
// may be written, and the file, if it exists, may be written too. Checked before the lesson runs, so that a
// bad path refuses the run instead of losing its picture at the end.
[[nodiscard]] inline Accepted accepted_output_file() {
    auto check = [](const std::string& text) -> std::string {
        const std::filesystem::path path{text};
        std::filesystem::path directory = path.parent_path();
        if (directory.empty()) directory = ".";
        std::error_code error;
        const bool is_directory = std::filesystem::is_directory(directory, error);
        const bool exists_unwritable =
            std::filesystem::exists(path, error) && ::access(path.c_str(), W_OK) != 0;
        if (text.empty() || path.filename().empty() || !is_directory || exists_unwritable ||
            std::filesystem::is_directory(path, error) || ::access(directory.c_str(), W_OK) != 0) {
            return fmt::format(
                "'{}' is not accepted: expected a file name in a directory that exists and can be written",
                shown(text));
        }
        return {};
    };
    return {check, "FILE"};
}

}  // namespace pyconc::lesson
