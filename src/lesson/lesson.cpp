// The lesson chrome's code that is the same in every lesson, compiled once.
#include "pyconc/lesson/lesson.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "pyconc/multiprocessing/start_method.hpp"

namespace pyconc::lesson {

namespace {

// 40 s, 12 min, 27.8 h.
std::string duration_words(double seconds) {
    if (seconds < 120) return fmt::format("{:.0f} s", seconds);
    if (seconds < 7200) return fmt::format("{:.0f} min", seconds / 60);
    return fmt::format("{:.1f} h", seconds / 3600);
}

}  // namespace

Lesson::Lesson(std::string name, std::string shows, std::vector<std::string> verdicts)
    : name_(std::move(name)), verdicts_(std::move(verdicts)), command_line_(name_, std::move(shows)) {
    if (verdicts_.empty()) throw std::invalid_argument("Lesson: a lesson needs at least one verdict word");
}

std::optional<int> Lesson::parse(int argc, const char* const* argv) {
    add_common_flags();
    if (auto exit = command_line_.parse(argc, argv)) return exit;
    style_ = Style{Style::colour_wanted(no_color_), Style::unicode_wanted()};
    // Line by line even into a pipe: a run stopped by Ctrl-C or a dead
    // worker keeps what it printed. Lessons print a few hundred lines.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    python_ = choose_python(python_asked_, python_asked_ ? std::nullopt : python3_on_path());
    // The modelled version's default start method is multiprocessing's.
    multiprocessing::set_platform_default(python_.profile.default_start_method);
    figure("lesson", name_);
    figure("seed", seed_);
    figure("python", python_.profile.version);
    figure("python_why", python_.why);
    return std::nullopt;
}

void Lesson::add_common_flags() {
    command_line_.flag("--json", json_, "Print the measured figures as one JSON object, and nothing else");
    command_line_.flag("--no-color", no_color_, "Plain text even on a terminal (so does NO_COLOR=1)");
    command_line_
        .option("--expect", expect_,
                "Exit 0 if the verdict is VERDICT and 1 if it is not (what ctest checks)",
                accepted_words(verdicts_))
        .value_name("VERDICT");
    command_line_.flag("--no-limits", no_limits_,
                       "Run even when the flags make the run longer than 5 minutes or larger than 1 GiB "
                       "(estimated before it starts)");
    command_line_.option("--seed", seed_, "Seed of anything random the lesson does",
                         accepted_range<std::uint64_t>(0, UINT64_MAX));
    command_line_
        .option("--python", python_asked_,
                fmt::format("The CPython to model: {} (default: the python3 on your PATH when it is one "
                            "of them, else the newest)",
                            fmt::join(python_versions(), ", ")),
                accepted_python_versions())
        .value_name("VERSION");
    command_line_.footer(
        fmt::format("Verdicts: {}.\nExit status: 0 ran (and the verdict matched --expect); "
                    "1 it did not match; 2 bad flag; 3 something it needed failed (said in one line).",
                    fmt::join(verdicts_, ", ")));
}

std::optional<int> Lesson::check_limits(Estimate estimate, std::string_view flags_given) const {
    if (no_limits_) return std::nullopt;
    std::string over;
    if (estimate.seconds > longest_run_seconds) {
        over = fmt::format("would take about {} (the limit is 5 min)", duration_words(estimate.seconds));
    } else if (estimate.bytes > largest_run_bytes) {
        over = fmt::format("would need about {:.1f} GB of memory (the limit is 1 GiB)", estimate.bytes / 1e9);
    } else {
        return std::nullopt;
    }
    fmt::print(stderr, "{}: this run {}; add --no-limits to run it anyway\n", flags_given, over);
    return exit_bad_flag;
}

runtime::Profile Lesson::python_with_the_gil() {
    runtime::Profile profile = python_.profile;
    if (profile.free_threaded && !gil_kept_said_) {
        gil_kept_said_ = true;
        note(
            "This lesson's model runs with the GIL: CPython {} as PYTHON_GIL=1 runs it (06_free_threading "
            "shows it without).",
            profile.version);
    }
    profile.free_threaded = false;
    return profile;
}

runtime::Profile Lesson::python_with_interpreters() {
    const runtime::Profile& asked = python_.profile;
    if (asked.version.starts_with("3.14")) return asked;
    if (!interpreters_said_) {
        interpreters_said_ = true;
        const bool own_gil = asked.version == "3.12" || asked.version.starts_with("3.13");
        note(
            "concurrent.interpreters is new in CPython 3.14 (PEP 734): this lesson models 3.14 there. "
            "CPython {} "
            "has {}.",
            asked.version,
            own_gil ? "interpreters with a GIL each (PEP 684), through the C API only"
                    : "subinterpreters through the C API only, all sharing one GIL");
    }
    return *runtime::profile_for("3.14");
}

std::string Lesson::RecordedRun::get(std::string_view key) const {
    const auto found = values.find(key);
    return found == values.end() ? "?" : found->second;
}

std::optional<Lesson::RecordedRun> Lesson::recorded_cpython() const {
    return recorded_cpython(python_.profile.version);
}

std::optional<Lesson::RecordedRun> Lesson::recorded_cpython(std::string_view version) const {
    std::ifstream file{fmt::format("{}/{}/{}.txt", PYCONC_RECORDED_DIR, name_, version)};
    if (!file) return std::nullopt;
    RecordedRun run;
    for (std::string line; std::getline(file, line);) {
        const auto equals = line.find('=');
        if (equals != std::string::npos) run.values[line.substr(0, equals)] = line.substr(equals + 1);
    }
    return run;
}

void Lesson::note_recorded_cpython(const std::function<std::string(const RecordedRun&)>& describe) {
    if (const auto run = recorded_cpython()) {
        note("CPython {}, recorded {} ({}): {}", run->get("cpython"), run->get("recorded"),
             run->get("machine"), describe(*run));
    } else {
        note("No CPython {} run recorded on this machine (./workshop reference records the CPythons it has).",
             python_.profile.version);
    }
}

int Lesson::refuse(std::string_view flag, std::string_view why) {
    fmt::print(stderr, "{}: {}\n", flag, why);
    return exit_bad_flag;
}

// The lesson's first line says which CPython it models. It waits for the
// first output, so that a run refused after parse() (check_limits, refuse)
// prints its one line and nothing else.
void Lesson::say_which_python() {
    if (python_said_ || json_) return;
    python_said_ = true;
    fmt::print("{}\n", style_.text(modelled_python_line(python_)));
}

void Lesson::print_heading(const std::string& text) {
    say_which_python();
    fmt::print("\n{}\n", style_.text(style_.paint(style_.heading(), text)));
}
void Lesson::print_line(const std::string& text) {
    say_which_python();
    fmt::print("{}\n", style_.text(text));
}
void Lesson::print_note(const std::string& text) {
    say_which_python();
    fmt::print("{}\n", style_.text(style_.paint(style_.quiet(), text)));
}

void Lesson::print(const Table& table) {
    say_which_python();
    if (!json_) fmt::print("{}", style_.text(table.render(style_)));
}
void Lesson::print(const BarChart& chart) {
    say_which_python();
    if (!json_) fmt::print("{}", style_.text(chart.render(style_)));
}
void Lesson::print(const GilTimeline& timeline) {
    say_which_python();
    if (!json_) fmt::print("{}", style_.text(timeline.render(style_)));
}

void Lesson::write_file(const std::string& path, std::string_view text, std::string_view what) {
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) throw LessonFailure(fmt::format("could not write {} to {} (a full disk?)", what, path));
    say("wrote {} to {}", what, path);
}

int Lesson::finish(std::string_view verdict, std::string_view why) {
    if (std::find(verdicts_.begin(), verdicts_.end(), verdict) == verdicts_.end()) {
        throw std::invalid_argument(
            fmt::format("Lesson::finish: '{}' is not one of the verdicts {} declared", verdict, name_));
    }
    const bool matched = !expect_ || *expect_ == verdict;
    figure("verdict", verdict);
    figure("why", why);
    if (expect_) {
        figure("expected", *expect_);
        figure("matched", matched);
    }
    say_which_python();
    if (json_) {
        fmt::print("{}\n", figures_.render());
    } else {
        const fmt::text_style look = !expect_ ? style_.strong() : matched ? style_.good() : style_.bad();
        fmt::print("\n{} {}\n", style_.paint(look, fmt::format("verdict: {}", verdict)),
                   style_.paint(style_.quiet(), fmt::format("({})", why)));
        if (expect_ && matched) fmt::print("expected {}: matched\n", *expect_);
        if (!matched) fmt::print("expected {}, but the verdict is {}\n", *expect_, verdict);
    }
    // A full disk or a closed pipe is an error, not a lesson that ran.
    if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
        throw LessonFailure(
            fmt::format("could not write the output to standard output ({})", std::strerror(errno)));
    }
    return matched ? exit_ok : exit_verdict_mismatch;
}

int Lesson::interrupted() {
    std::fflush(stdout);
    fmt::print(stderr, "\ninterrupted (Ctrl-C): every task was cancelled\n");
    return exit_interrupted;
}

}  // namespace pyconc::lesson
