#pragma once
// `async with lock:` - the guard `co_await lock.hold()` returns.
//
// How this works (asyncio's _ContextManagerMixin: __aenter__ acquires,
// __aexit__ releases)
// - hold() acquires and hands back a Held, which releases when it goes out
//   of scope, however the block is left: the release of `__aexit__`.
// - A Held can be moved (out of hold()), not copied: one release per acquire.
#include <utility>

namespace pyconc::asyncio {

template <class Primitive>
class [[nodiscard]] Held {
public:
    explicit Held(Primitive& primitive) noexcept : primitive_(&primitive) {}
    Held(Held&& other) noexcept : primitive_(std::exchange(other.primitive_, nullptr)) {}
    Held& operator=(Held&&) = delete;
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    ~Held() {
        if (primitive_ != nullptr) primitive_->release();
    }

private:
    Primitive* primitive_;
};

}  // namespace pyconc::asyncio
