#pragma once
// The chrome every lesson shares: its flags, its output, its verdict.
//
// How this works
// - A lesson names itself, says in a sentence what it shows (the --help
//   text) and lists the words its verdict can be. It adds its own flags with
//   `option()` (checked by `accepted_range`/`accepted_words`, so that bad
//   values are refused in one line) and `flag()`; `parse()` adds the common
//   ones (command_line.hpp parses them, in the compiled library):
//     --json      print the measured figures as one JSON object, nothing else
//     --no-color  plain text even on a terminal (so does NO_COLOR=1)
//     --expect V  exit 0 if the verdict is V and 1 if not (what ctest checks)
//     --seed N    the seed of anything random the lesson does
//     --python V  the CPython it models (which_python.hpp): by default the
//                 python3 on the PATH; the first line it prints says which
// - Human output goes through heading/say/note/print, which print nothing in
//   --json mode; figures go through `figure()`, which --json prints.
// - `finish(verdict, why)` prints the last line, "verdict: WORD (why)", and
//   returns the exit status.
//
// Exit status: 0 ran (and, with --expect, the verdict matched); 1 --expect
// did not match; 2 a bad flag, and nothing ran; 3 something the lesson
// needed failed (failure.hpp: a dead worker, no memory, a file it cannot
// write), said in one line; 130 interrupted (Ctrl-C).
//
//   int main(int argc, char** argv) {
//       Lesson lesson{"refcount_example", "Reference counts ...", {"freed", "leaked"}};
//       int steps = 3;
//       lesson.option("--steps", steps, "...", accepted_range(1, 100));
//       if (auto exit = lesson.parse(argc, argv)) return *exit;
//       lesson.say("...");
//       return lesson.finish("freed", "...");
//   }
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/color.h>
#include <fmt/format.h>

#include "pyconc/lesson/accepted.hpp"
#include "pyconc/lesson/bar_chart.hpp"
#include "pyconc/lesson/command_line.hpp"
#include "pyconc/lesson/failure.hpp"
#include "pyconc/lesson/json.hpp"
#include "pyconc/lesson/numbers.hpp"
#include "pyconc/lesson/style.hpp"
#include "pyconc/lesson/table.hpp"
#include "pyconc/lesson/timeline.hpp"
#include "pyconc/lesson/which_python.hpp"
#include "pyconc/runtime/profile.hpp"

namespace pyconc::lesson {

inline constexpr int exit_verdict_mismatch = 1;
inline constexpr int exit_interrupted = 130;  // 128 + SIGINT, as a shell reports it

class Lesson {
public:
    Lesson(std::string name, std::string shows, std::vector<std::string> verdicts);

    // A flag with a value: its default shows in --help and `accepted` (see
    // accepted.hpp) refuses bad values in one line. The Flag it returns
    // states rules between flags: .excludes("--other"), .value_name("K").
    template <FlagValue T>
    Flag option(const std::string& name, T& value, const std::string& help, Accepted accepted) {
        return command_line_.option(name, value, help, std::move(accepted));
    }
    // An on/off flag.
    Flag flag(const std::string& name, bool& value, const std::string& help) {
        return command_line_.flag(name, value, help);
    }

    // Parses the command line. Returns the exit status when the lesson must
    // stop here (--help: 0; a bad flag: 2, after one line on stderr), and
    // nothing when it should run.
    [[nodiscard]] std::optional<int> parse(int argc, const char* const* argv);

    // What a run will cost, estimated from its flags before it starts.
    struct Estimate {
        double seconds = 0;
        double bytes = 0;
    };
    static constexpr double longest_run_seconds = 300;                 // 5 minutes
    static constexpr double largest_run_bytes = 1024.0 * 1024 * 1024;  // 1 GiB

    // Refuses a run that `flags_given` (the flags behind the estimate, as
    // the user wrote them) make longer or larger than the limits above,
    // unless --no-limits was given: one line with the estimate, the limit
    // and the way past it, and exit status 2. Call it after parse().
    [[nodiscard]] std::optional<int> check_limits(Estimate estimate, std::string_view flags_given) const;

    // Refuses a flag that parsed but does not fit the rest of the run (a
    // GIL flag for a version without the GIL): "FLAG: why" on stderr, and
    // exit status 2. Call it after parse(), before anything runs.
    [[nodiscard]] static int refuse(std::string_view flag, std::string_view why);

    [[nodiscard]] bool json() const noexcept { return json_; }
    [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }
    [[nodiscard]] const Style& style() const noexcept { return style_; }
    // The CPython version the lesson models, and its profile (after parse()).
    [[nodiscard]] const runtime::Profile& python() const noexcept { return python_.profile; }

    // For a lesson whose model needs the GIL: the version's profile with the
    // GIL kept, as PYTHON_GIL=1 runs a free-threaded build; the first call
    // for a "t" version says so in a note.
    [[nodiscard]] runtime::Profile python_with_the_gil();
    // For a lesson that uses concurrent.interpreters (new in 3.14): the
    // version's profile from 3.14 on, else 3.14's; the first call for an
    // older version says so, and what that version had instead.
    [[nodiscard]] runtime::Profile python_with_interpreters();

    // What the lesson's Python twin printed on that CPython version, as
    // `./workshop reference` recorded it on this machine
    // (reference/recorded/LESSON/VERSION.txt): its facts and figures by key.
    struct RecordedRun {
        std::map<std::string, std::string, std::less<>> values;  // cpython=3.12.1, figure.plain_lost=0, ...
        [[nodiscard]] std::string get(std::string_view key) const;  // "?" when it has none
    };
    [[nodiscard]] std::optional<RecordedRun> recorded_cpython() const;
    // ... of another version than --python's (a lesson that models 3.14 under an older one).
    [[nodiscard]] std::optional<RecordedRun> recorded_cpython(std::string_view version) const;
    // A dimmed line with what `describe` says of the recorded run, and where
    // and when it was measured; or that none was recorded for this version.
    void note_recorded_cpython(const std::function<std::string(const RecordedRun&)>& describe);

    // --- human output (silent with --json) -----------------------------------
    template <class... Args>
    void heading(fmt::format_string<Args...> format, Args&&... args) {
        if (!json_) print_heading(fmt::format(format, std::forward<Args>(args)...));
    }
    template <class... Args>
    void say(fmt::format_string<Args...> format, Args&&... args) {
        if (!json_) print_line(fmt::format(format, std::forward<Args>(args)...));
    }
    // A side remark, printed dimmed: why a number is what it is.
    template <class... Args>
    void note(fmt::format_string<Args...> format, Args&&... args) {
        if (!json_) print_note(fmt::format(format, std::forward<Args>(args)...));
    }
    void print(const Table& table);
    void print(const BarChart& chart);
    void print(const GilTimeline& timeline);

    // Writes `text` to `path` (checked by accepted_output_file when the
    // flag was parsed) and says so; a failure now (a full disk) throws
    // LessonFailure, which main's handler reports in one line.
    void write_file(const std::string& path, std::string_view text, std::string_view what);

    // --- figures (printed with --json) ---------------------------------------
    template <class Value>
    void figure(std::string_view key, const Value& value) {
        figures_.set(key, value);
    }

    // Prints the verdict (or, with --json, every figure and the verdict) and
    // returns the exit status. `verdict` must be one of the lesson's words.
    [[nodiscard]] int finish(std::string_view verdict, std::string_view why);

    // Ctrl-C stopped the lesson (asyncio::run raised KeyboardInterrupt):
    // says so and returns 130.
    [[nodiscard]] int interrupted();

private:
    void add_common_flags();
    void say_which_python();
    void print_heading(const std::string& text);
    void print_line(const std::string& text);
    void print_note(const std::string& text);

    std::string name_;
    std::vector<std::string> verdicts_;
    CommandLine command_line_;
    Style style_{false};
    JsonObject figures_;
    bool json_ = false;
    bool no_color_ = false;
    bool no_limits_ = false;
    std::optional<std::string> expect_;
    std::uint64_t seed_ = 1;
    std::optional<std::string> python_asked_;
    ModelledPython python_{runtime::profiles.front(), ""};
    bool python_said_ = false;
    bool gil_kept_said_ = false;
    bool interpreters_said_ = false;
};

}  // namespace pyconc::lesson
