#pragma once
// A name an instruction refers to (an entry of a code object's co_names):
// LOAD_GLOBAL's and STORE_GLOBAL's argument.
//
// How this works
// - CPython interns the names in co_names, so a lookup that meets the very
//   same str object needs no character compare. Here a Name is made from a
//   string literal at compile time (the constructor is consteval), so its
//   address is as good as an interned str's identity: one literal always
//   holds the same characters. Names spelled the same in two places may
//   have two addresses; that costs a cache miss, never a wrong answer.
// - Lesson code still reads `t.load_global("counter")`.
#include <cstddef>
#include <string_view>

namespace pyconc::runtime {

class Name {
public:
    template <std::size_t N>
    consteval Name(
        const char (&literal)[N]) noexcept  // NOLINT(google-explicit-constructor, *-avoid-c-arrays)
        : text_(literal, N - 1) {}

    [[nodiscard]] constexpr std::string_view text() const noexcept { return text_; }
    // The interned str's address: equal identities mean equal names.
    [[nodiscard]] constexpr const void* identity() const noexcept { return text_.data(); }

private:
    std::string_view text_;
};

}  // namespace pyconc::runtime
