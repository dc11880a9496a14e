#pragma once
// Cross-interpreter data: how an object leaves one interpreter and arrives
// in another (Python/crossinterp.c, PEP 734's "sharing objects").
//
// How this works
// - Two interpreters share no object but the immortal ones, so an object
//   that crosses is taken apart in the sender (`XiData::of`) into plain
//   C++ data that belongs to neither heap, and made again in the receiver
//   (`XiData::make`), on whichever heap is current there: a new object,
//   equal to the original, never the same one.
// - As in CPython 3.14, a few kinds are copied cheaply, field by field:
//   None, int (the model's bool too), str, and tuples of those. A small int
//   arrives as the very same object: it is immortal and static, one for
//   every interpreter (`is` holds across them, as in CPython 3.12+).
// - Most other objects go through pickle: the model pickles lists and
//   dicts (of what it can pickle) into bytes, which the receiver unpickles.
// - What pickle cannot take (a lock: the model's ProcessLocal) is refused
//   with NotShareableError ("cannot pickle '_thread.lock' object") before
//   anything is sent. The model's pickle takes fewer kinds than CPython's
//   (no class, no instance): those are refused too.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "pyconc/runtime/heap.hpp"
#include "pyconc/runtime/types.hpp"

namespace pyconc::concurrent::interpreters {

// concurrent.interpreters.NotShareableError.
class NotShareableError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// How an object crossed: copied cheaply, or through pickle.
enum class Crossing : unsigned char { shared, pickled };

class XiData {
public:
    // _PyObject_GetXIData: takes `object` (null: None) apart, in the sender.
    [[nodiscard]] static XiData of(const runtime::Object* object) {
        XiData data;
        if (is_shareable(object)) {
            data.value_ = copy(object);
        } else {
            std::string bytes;
            std::vector<const runtime::Object*> path;
            pickle(object, bytes, path);  // throws NotShareableError
            data.value_ = Pickled{std::move(bytes)};
            data.crossing_ = Crossing::pickled;
        }
        return data;
    }

    // _PyXIData_NewObject: a new object in the current heap (the receiver's).
    [[nodiscard]] runtime::Ref<runtime::Object> make() const {
        if (const auto* pickled = std::get_if<Pickled>(&value_)) {
            std::size_t at = 0;
            return unpickle(pickled->bytes, at);
        }
        return make(std::get<Value>(value_));
    }

    [[nodiscard]] Crossing crossing() const noexcept { return crossing_; }
    // The kinds copied cheaply (_PyXIData_GetLookupContext's registry).
    [[nodiscard]] static bool is_shareable(const runtime::Object* object) {
        if (object == nullptr || object->is_int() || object->is_str()) return true;
        const auto* tuple = dynamic_cast<const runtime::Tuple*>(object);
        if (tuple == nullptr) return false;
        for (std::size_t i = 0; i < tuple->size(); ++i)
            if (!is_shareable((*tuple)[i].get())) return false;
        return true;
    }

private:
    struct None {};
    struct Value;
    using Items = std::vector<Value>;
    struct Value {
        std::variant<None, std::int64_t, std::string, Items> field;
    };
    struct Pickled {
        std::string bytes;
    };

    static Value copy(const runtime::Object* object) {
        if (object == nullptr) return {None{}};
        if (object->is_int()) return {static_cast<const runtime::Int&>(*object).value()};
        if (object->is_str()) return {static_cast<const runtime::Str&>(*object).value()};
        const auto& tuple = static_cast<const runtime::Tuple&>(*object);
        Items items;
        items.reserve(tuple.size());
        for (std::size_t i = 0; i < tuple.size(); ++i) items.push_back(copy(tuple[i].get()));
        return {std::move(items)};
    }
    static runtime::Ref<runtime::Object> make(const Value& value) {
        if (const auto* number = std::get_if<std::int64_t>(&value.field)) return runtime::Int::from(*number);
        if (const auto* text = std::get_if<std::string>(&value.field))
            return runtime::make<runtime::Str>(*text);
        if (const auto* items = std::get_if<Items>(&value.field)) {
            std::vector<runtime::Ref<runtime::Object>> made;
            made.reserve(items->size());
            for (const Value& item : *items) made.push_back(make(item));
            return runtime::make<runtime::Tuple>(runtime::Tuple::FromItems{}, std::move(made));
        }
        return {};  // None
    }

    // The model's pickle: a tag, then a length or a value, as text fields
    // ("i42;", "s5:hello", "l3:" followed by three items, "n"). `path` holds
    // the containers being pickled around this one: CPython's pickle memo
    // takes a list that holds itself; the model's refuses it rather than
    // recurse without end.
    static void pickle(const runtime::Object* object, std::string& out,
                       std::vector<const runtime::Object*>& path) {
        if (object == nullptr) {
            out += 'n';
            return;
        }
        if (object->is_int()) {
            out += fmt::format("i{};", static_cast<const runtime::Int&>(*object).value());
            return;
        }
        if (object->is_str()) {
            const std::string& text = static_cast<const runtime::Str&>(*object).value();
            out += fmt::format("s{}:", text.size());
            out += text;
            return;
        }
        if (std::find(path.begin(), path.end(), object) != path.end()) {
            throw NotShareableError(fmt::format(
                "cannot pickle a '{}' that holds itself: the model's pickle keeps no memo (CPython's does)",
                object->type_name()));
        }
        path.push_back(object);
        if (const auto* tuple = dynamic_cast<const runtime::Tuple*>(object)) {
            out += fmt::format("t{}:", tuple->size());
            for (std::size_t i = 0; i < tuple->size(); ++i) pickle((*tuple)[i].get(), out, path);
        } else if (const auto* list = dynamic_cast<const runtime::List*>(object)) {
            out += fmt::format("l{}:", list->size());
            for (std::size_t i = 0; i < list->size(); ++i) pickle((*list)[i].get(), out, path);
        } else if (const auto* dict = dynamic_cast<const runtime::Dict*>(object)) {
            out += fmt::format("d{}:", dict->size());
            for (std::size_t i = 0; i < dict->size(); ++i) {
                pickle(&dict->key_at(i), out, path);
                pickle(dict->value_at(i), out, path);
            }
        } else {
            throw NotShareableError(fmt::format("cannot pickle '{}' object", object->type_name()));
        }
        path.pop_back();
    }
    static std::int64_t number_until(const std::string& bytes, std::size_t& at, char end) {
        const std::size_t stop = bytes.find(end, at);
        const std::int64_t number = std::stoll(bytes.substr(at, stop - at));
        at = stop + 1;
        return number;
    }
    static runtime::Ref<runtime::Object> unpickle(const std::string& bytes, std::size_t& at) {
        const char tag = bytes.at(at++);
        switch (tag) {
            case 'i':
                return runtime::Int::from(number_until(bytes, at, ';'));
            case 's': {
                const auto size = static_cast<std::size_t>(number_until(bytes, at, ':'));
                auto text = runtime::make<runtime::Str>(bytes.substr(at, size));
                at += size;
                return text;
            }
            case 't':
            case 'l': {
                const auto size = static_cast<std::size_t>(number_until(bytes, at, ':'));
                std::vector<runtime::Ref<runtime::Object>> items;
                items.reserve(size);
                for (std::size_t i = 0; i < size; ++i) items.push_back(unpickle(bytes, at));
                if (tag == 't')
                    return runtime::make<runtime::Tuple>(runtime::Tuple::FromItems{}, std::move(items));
                auto list = runtime::make<runtime::List>();
                for (auto& item : items) list->append(std::move(item));
                return list;
            }
            case 'd': {
                const auto size = static_cast<std::size_t>(number_until(bytes, at, ':'));
                auto dict = runtime::make<runtime::Dict>();
                for (std::size_t i = 0; i < size; ++i) {
                    const runtime::Ref<runtime::Object> key = unpickle(bytes, at);
                    dict->set(key, unpickle(bytes, at));
                }
                return dict;
            }
            default:
                return {};  // 'n': None
        }
    }

    std::variant<Value, Pickled> value_;
    Crossing crossing_ = Crossing::shared;
};

}  // namespace pyconc::concurrent::interpreters
