#pragma once
// The measured figures of one run as one JSON object on one line, for
// `--json`: `lesson --json | jq .lost` works.
//
// Keys keep the order they were set in; setting a key again replaces its
// value. Values: integers, floating point (non-finite becomes null, as JSON
// has no NaN), booleans, strings, and lists of numbers, strings or objects
// (a table's rows, each labelled by its own keys).
#include <cmath>
#include <concepts>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace pyconc::lesson {

class JsonObject {
public:
    void set(std::string_view key, bool value) { put(key, value ? "true" : "false"); }
    template <std::integral Integer>
    void set(std::string_view key, Integer value) {
        put(key, fmt::format("{}", value));
    }
    void set(std::string_view key, double value) { put(key, number(value)); }
    void set(std::string_view key, std::string_view value) { put(key, quoted(value)); }
    void set(std::string_view key, const char* value) { put(key, quoted(value)); }
    void set(std::string_view key, const JsonObject& value) { put(key, value.render()); }
    template <class Item>
    void set(std::string_view key, const std::vector<Item>& items) {
        std::string out = "[";
        for (const Item& item : items) {
            if (out.size() > 1) out += ", ";
            out += element(item);
        }
        put(key, out + "]");
    }

    [[nodiscard]] std::string render() const {
        std::string out = "{";
        for (const auto& [key, value] : members_) {
            if (out.size() > 1) out += ", ";
            out += quoted(key) + ": " + value;
        }
        return out + "}";
    }

    // A JSON string literal: quotes, backslashes and control characters
    // escaped; everything else (UTF-8 included) as it is.
    [[nodiscard]] static std::string quoted(std::string_view text) {
        std::string out = "\"";
        for (const char c : text) {
            switch (c) {
                case '"':
                    out += "\\\"";
                    break;
                case '\\':
                    out += "\\\\";
                    break;
                case '\n':
                    out += "\\n";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                default:
                    if (static_cast<unsigned char>(c) < 0x20) {
                        out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
                    } else {
                        out += c;
                    }
            }
        }
        return out + "\"";
    }

private:
    static std::string number(double value) {
        return std::isfinite(value) ? fmt::format("{}", value) : "null";
    }
    template <std::integral Integer>
    static std::string element(Integer value) {
        return fmt::format("{}", value);
    }
    static std::string element(double value) { return number(value); }
    static std::string element(const std::string& value) { return quoted(value); }
    static std::string element(const JsonObject& value) { return value.render(); }

    void put(std::string_view key, std::string value) {
        for (auto& [existing, old] : members_) {
            if (existing == key) {
                old = std::move(value);
                return;
            }
        }
        members_.emplace_back(std::string(key), std::move(value));
    }

    std::vector<std::pair<std::string, std::string>> members_;  // key, JSON text
};

}  // namespace pyconc::lesson
