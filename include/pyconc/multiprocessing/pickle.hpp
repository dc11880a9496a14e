#pragma once
// A small pickle: what may cross between processes, as bytes.
//
// How this works
// - pickle turns an object into bytes the other process rebuilds it from;
//   here `dumps(value)` and `loads<T>(bytes)` do that for numbers, bools,
//   strings, vectors, pairs and tuples of those, and structs that opt in by
//   listing their fields:
//
//     struct Job {
//         int id; std::string name;
//         static constexpr auto pickle_fields = std::tuple{&Job::id, &Job::name};
//     };
//
// - A type that cannot cross (a pointer, a thread, a lock, a struct that
//   did not opt in) is refused when the program is compiled, with a message
//   that says how to opt in: what Python finds out at run time ("cannot
//   pickle '_thread.lock' object") the C++ compiler finds out first.
// - Bytes that do not decode (a truncated message) raise PickleError.
//   Numbers are copied as they are in memory: both ends are the same
//   program on the same machine, as multiprocessing's are.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace pyconc::multiprocessing {

class PickleError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <class T>
struct IsPairOrTuple : std::false_type {};
template <class A, class B>
struct IsPairOrTuple<std::pair<A, B>> : std::true_type {};
template <class... T>
struct IsPairOrTuple<std::tuple<T...>> : std::true_type {};

template <class T>
concept HasPickleFields = requires {
    T::pickle_fields;
};

template <class T>
constexpr bool picklable() {
    using U = std::remove_cvref_t<T>;
    if constexpr (std::is_arithmetic_v<U> || std::is_enum_v<U> || std::is_same_v<U, std::string>) {
        return true;
    } else if constexpr (IsVector<U>::value) {
        return picklable<typename U::value_type>();
    } else if constexpr (IsPairOrTuple<U>::value) {
        return []<std::size_t... I>(std::index_sequence<I...>) {
            return (picklable<std::tuple_element_t<I, U>>() && ...);
        }
        (std::make_index_sequence<std::tuple_size_v<U>>{});
    } else {
        return HasPickleFields<U>;
    }
}

class Pickler {
public:
    template <class T>
    void dump(const T& value) {
        static_assert(
            picklable<T>(),
            "this type cannot cross to another process: use numbers, strings, vectors, pairs, tuples, "
            "or give the struct `static constexpr auto pickle_fields = std::tuple{&S::a, ...};`");
        if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
            raw(&value, sizeof value);
        } else if constexpr (std::is_same_v<T, std::string>) {
            dump(static_cast<std::uint64_t>(value.size()));
            raw(value.data(), value.size());
        } else if constexpr (IsVector<T>::value) {
            dump(static_cast<std::uint64_t>(value.size()));
            for (const auto& item : value) dump(item);
        } else if constexpr (IsPairOrTuple<T>::value) {
            std::apply([&](const auto&... items) { (dump(items), ...); }, value);
        } else {
            std::apply([&](auto... field) { (dump(value.*field), ...); }, T::pickle_fields);
        }
    }
    [[nodiscard]] std::string take() { return std::move(bytes_); }

private:
    void raw(const void* data, std::size_t size) { bytes_.append(static_cast<const char*>(data), size); }
    std::string bytes_;
};

class Unpickler {
public:
    explicit Unpickler(std::string_view bytes) noexcept : bytes_(bytes) {}

    template <class T>
    T load() {
        static_assert(picklable<T>(), "this type cannot cross to another process (see pickle.hpp)");
        if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
            T value{};
            raw(&value, sizeof value);
            return value;
        } else if constexpr (std::is_same_v<T, std::string>) {
            const auto size = load<std::uint64_t>();
            if (size > bytes_.size()) throw PickleError("pickle data was truncated");
            std::string value{bytes_.substr(0, size)};
            bytes_.remove_prefix(size);
            return value;
        } else if constexpr (IsVector<T>::value) {
            const auto size = load<std::uint64_t>();
            if (size > bytes_.size()) throw PickleError("pickle data was truncated");
            T value;
            value.reserve(size);
            for (std::uint64_t i = 0; i < size; ++i) value.push_back(load<typename T::value_type>());
            return value;
        } else if constexpr (IsPairOrTuple<T>::value) {
            return load_tuple<T>(std::make_index_sequence<std::tuple_size_v<T>>{});
        } else {
            T value{};
            std::apply(
                [&](auto... field) {
                    ((value.*field = load<std::remove_cvref_t<decltype(value.*field)>>()), ...);
                },
                T::pickle_fields);
            return value;
        }
    }
    [[nodiscard]] bool empty() const noexcept { return bytes_.empty(); }

private:
    template <class T, std::size_t... I>
    T load_tuple(std::index_sequence<I...> /*indices*/) {
        std::tuple<std::tuple_element_t<I, T>...> items;
        ((std::get<I>(items) = load<std::tuple_element_t<I, T>>()), ...);  // in order
        return T{std::move(std::get<I>(items))...};
    }
    void raw(void* data, std::size_t size) {
        if (size > bytes_.size()) throw PickleError("pickle data was truncated");
        std::memcpy(data, bytes_.data(), size);
        bytes_.remove_prefix(size);
    }
    std::string_view bytes_;
};

// pickle.dumps(value)
template <class T>
[[nodiscard]] std::string dumps(const T& value) {
    Pickler pickler;
    pickler.dump(value);
    return pickler.take();
}
// pickle.loads(bytes): the bytes must hold exactly one T.
template <class T>
[[nodiscard]] T loads(std::string_view bytes) {
    Unpickler unpickler{bytes};
    T value = unpickler.load<T>();
    if (!unpickler.empty()) throw PickleError("pickle data has bytes left over");
    return value;
}

}  // namespace pyconc::multiprocessing
