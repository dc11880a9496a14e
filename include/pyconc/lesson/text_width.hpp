#pragma once
// How many terminal columns a UTF-8 string takes: one per code point, which is
// right for the Latin text, box-drawing and block characters the lessons print.
#include <cstddef>
#include <string_view>

namespace pyconc::lesson {

[[nodiscard]] inline std::size_t text_width(std::string_view utf8) noexcept {
    std::size_t columns = 0;
    for (const char byte : utf8) {
        // Continuation bytes (10xxxxxx) belong to the code point before them.
        if ((static_cast<unsigned char>(byte) & 0xC0U) != 0x80U) ++columns;
    }
    return columns;
}

}  // namespace pyconc::lesson
