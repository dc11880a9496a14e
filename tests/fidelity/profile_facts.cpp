// What pyconc's profile for a CPython version says (runtime/profile.hpp), as
// key=value lines in the format tests/fidelity/profile_facts.py prints them.
//
//   profile_facts 3.12
#include <cstdio>
#include <string_view>

#include <fmt/format.h>

#include "pyconc/runtime/profile.hpp"

int main(int argc, char** argv) {
    using namespace pyconc::runtime;
    const std::optional<Profile> profile = argc == 2 ? profile_for(argv[1]) : std::nullopt;
    if (!profile) {
        fmt::print(stderr, "profile_facts: no profile for '{}'\n", argc == 2 ? argv[1] : "");
        return 2;
    }
    fmt::print("version={}\n", profile->version);
    fmt::print("gc_threshold={}\n", fmt::join(profile->gc_threshold, ","));
    fmt::print("immortal_refcount={}\n",
               profile->immortal_refcount ? fmt::format("{}", *profile->immortal_refcount) : "none");
    fmt::print("arena_bytes={}\n",
               profile->pymalloc ? fmt::format("{}", profile->pymalloc->arena_bytes) : "none");
    fmt::print("pool_bytes={}\n",
               profile->pymalloc ? fmt::format("{}", profile->pymalloc->pool_bytes) : "none");
    fmt::print("start_method={}\n", start_method_name(profile->default_start_method));
    fmt::print("instance_dicts={}\n", profile->instance_dicts ? "yes" : "no");
    fmt::print("borrowed_local_loads={}\n", profile->borrowed_local_loads ? "yes" : "no");
    return 0;
}
