// Which CPython a lesson models (which_python.hpp).
#include "pyconc/lesson/which_python.hpp"

#include <array>
#include <cstdio>
#include <string_view>

#include <fmt/format.h>

namespace pyconc::lesson {

namespace {

// The newest profile of a build with the GIL: the default when the PATH
// has no python3 the model knows.
const runtime::Profile& newest_with_gil() {
    const runtime::Profile* newest = &runtime::profiles.front();
    for (const runtime::Profile& profile : runtime::profiles) {
        if (!profile.free_threaded) newest = &profile;
    }
    return *newest;
}

}  // namespace

std::vector<std::string> python_versions() {
    std::vector<std::string> versions;
    for (const runtime::Profile& profile : runtime::profiles) versions.emplace_back(profile.version);
    return versions;
}

Accepted accepted_python_versions() {
    Accepted accepted = accepted_words(python_versions());
    accepted.description = "VERSION";
    return accepted;
}

std::optional<std::string> python3_on_path() {
    // -I -S: no user site, no site module: it answers in about 10 ms. The
    // "t" is what sys.abiflags says of a free-threaded build (3.13+).
    constexpr const char* command =
        "python3 -I -S -c \"import sys; v = sys.version_info; "
        "print(f'{v[0]}.{v[1]}' + ('t' if 't' in getattr(sys, 'abiflags', '') else ''))\" 2>/dev/null";
    FILE* pipe = ::popen(command, "r");  // NOLINT(cert-env33-c): a fixed command, no user input
    if (pipe == nullptr) return std::nullopt;
    std::array<char, 64> line{};
    const bool read = std::fgets(line.data(), static_cast<int>(line.size()), pipe) != nullptr;
    const int status = ::pclose(pipe);
    if (!read || status != 0) return std::nullopt;
    std::string version{line.data()};
    while (!version.empty() && (version.back() == '\n' || version.back() == '\r')) version.pop_back();
    if (version.empty()) return std::nullopt;
    return version;
}

ModelledPython choose_python(const std::optional<std::string>& asked,
                             const std::optional<std::string>& on_path) {
    if (asked) {
        if (auto profile = runtime::profile_for(*asked))
            return {*profile, fmt::format("--python {}", *asked)};
    }
    if (on_path) {
        if (auto profile = runtime::profile_for(*on_path)) return {*profile, "the python3 on your PATH"};
        return {newest_with_gil(),
                fmt::format("the newest profile: the python3 on your PATH is {}, which has none", *on_path)};
    }
    return {newest_with_gil(), "the newest profile: no python3 on your PATH"};
}

std::string modelled_python_line(const ModelledPython& python) {
    if (python.why.starts_with("--python"))
        return fmt::format("models CPython {} ({})", python.profile.version, python.why);
    return fmt::format("models CPython {} ({}; --python VERSION for another)", python.profile.version,
                       python.why);
}

}  // namespace pyconc::lesson
