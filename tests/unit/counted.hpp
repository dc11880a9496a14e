#pragma once
// A model container that counts its births and deaths, so that a test can
// check that every object it made was freed, and when.
#include <string_view>
#include <utility>
#include <vector>

#include "pyconc/runtime/heap.hpp"

namespace pyconc::testing {

struct Census {
    int born = 0;
    int died = 0;
    [[nodiscard]] int alive() const { return born - died; }
};

class Counted final : public runtime::Container {
public:
    ~Counted() override { ++census_->died; }
    [[nodiscard]] std::string_view type_name() const noexcept override { return "Counted"; }

    void hold(runtime::Ref<runtime::Object> other) { held_.push_back(std::move(other)); }
    void traverse(runtime::Visitor& visit) override {
        for (const auto& other : held_) visit.visit(*other);
    }
    void clear() override {
        auto held = std::move(held_);
        held_.clear();
    }

private:
    friend class runtime::Heap;
    explicit Counted(Census& census) : census_(&census) { ++census_->born; }

    Census* census_;
    std::vector<runtime::Ref<runtime::Object>> held_;
};

}  // namespace pyconc::testing
