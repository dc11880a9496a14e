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
    const std::string digits = fmt::format("{}", n);
    const std::size_t sign = digits.front() == '-' ? 1 : 0;
    const std::size_t count = digits.size() - sign;
    // Appended, not inserted: g++ 12 at -O3 warns (-Wrestrict, a false
    // positive, GCC bug 105329) on string::insert here, in every lesson.
    std::string out = digits.substr(0, sign);
    for (std::size_t i = 0; i < count; ++i) {
        if (i != 0 && (count - i) % 3 == 0) out += ',';
        out += digits[sign + i];
    }
    return out;
}

}  // namespace pyconc::lesson
