#pragma once
// Which CPython a lesson models: --python VERSION on every lesson and on
// the tour (issue 16).
//
// How this works
// - The versions are the rows of runtime/profile.hpp, each a Profile of
//   what differs between them (check points, collector thresholds, immortal
//   objects, pymalloc's sizes, free threading, the default start method).
// - Without --python the lesson models the Python the attendee has: the
//   `python3` on the PATH, asked for its version once (`python3_on_path`),
//   when it has a profile; else the newest profile with the GIL, saying why.
// - `choose_python` decides from what was asked and what was found, and
//   nothing else, so a test can try every case without a real python3.
#include <optional>
#include <string>
#include <vector>

#include "pyconc/lesson/accepted.hpp"
#include "pyconc/runtime/profile.hpp"

namespace pyconc::lesson {

struct ModelledPython {
    runtime::Profile profile;
    std::string why;  // "--python 3.9", "the python3 on your PATH", ...
};

// The profile names, oldest first: what --python accepts.
[[nodiscard]] std::vector<std::string> python_versions();
[[nodiscard]] Accepted accepted_python_versions();

// The `python3` on the PATH as a profile name ("3.11", "3.13t": a "t" when
// it was built without the GIL), or nothing when there is none or it does
// not answer. Runs it once; call it before any thread starts.
[[nodiscard]] std::optional<std::string> python3_on_path();

// `asked`: the --python value, already accepted; `on_path`: what
// python3_on_path() found.
[[nodiscard]] ModelledPython choose_python(const std::optional<std::string>& asked,
                                           const std::optional<std::string>& on_path);

// The first line a lesson prints: "models CPython 3.11 (the python3 on your PATH)".
[[nodiscard]] std::string modelled_python_line(const ModelledPython& python);

}  // namespace pyconc::lesson
