#pragma once
// Numbers as the lessons print them: 2,000,000 rather than 2000000, the way
// the Python reference programs write them with f"{n:,}".
#include <concepts>
#include <string>

#include <fmt/format.h>

namespace pyconc::lesson {

// n with a comma between each group of three digits.
template <std::integral Integer>
[[nodiscard]] std::string grouped(Integer n) {
    std::string digits = fmt::format("{}", n);
    const std::size_t sign = digits.front() == '-' ? 1 : 0;
    for (std::size_t i = digits.size(); i > sign + 3; i -= 3) digits.insert(i - 3, ",");
    return digits;
}

}  // namespace pyconc::lesson
