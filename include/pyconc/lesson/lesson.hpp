#pragma once
// The chrome every lesson shares: its flags, its output, its verdict.
//
// How this works
// - A lesson names itself, says in a sentence what it shows (the --help
//   text) and lists the words its verdict can be. It adds its own flags with
//   `option()` (checked by `accepted_range`/`accepted_words`, so that bad
//   values are refused in one line) and `flag()`; `parse()` adds the common
//   ones:
//     --json      print the measured figures as one JSON object, nothing else
//     --no-color  plain text even on a terminal (so does NO_COLOR=1)
//     --expect V  exit 0 if the verdict is V and 1 if not (what ctest checks)
//     --seed N    the seed of anything random the lesson does
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
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/color.h>
#include <fmt/format.h>

#include "pyconc/lesson/accepted.hpp"
#include "pyconc/lesson/bar_chart.hpp"
#include "pyconc/lesson/failure.hpp"
#include "pyconc/lesson/json.hpp"
#include "pyconc/lesson/numbers.hpp"
#include "pyconc/lesson/style.hpp"
#include "pyconc/lesson/table.hpp"
#include "pyconc/lesson/timeline.hpp"

namespace pyconc::lesson {

inline constexpr int exit_ok = 0;
inline constexpr int exit_verdict_mismatch = 1;
inline constexpr int exit_bad_flag = 2;
inline constexpr int exit_interrupted = 130;  // 128 + SIGINT, as a shell reports it

class Lesson {
public:
    Lesson(std::string name, std::string shows, std::vector<std::string> verdicts)
        : name_(std::move(name)), verdicts_(std::move(verdicts)), app_(std::move(shows), name_) {
        if (verdicts_.empty())
            throw std::invalid_argument("Lesson: a lesson needs at least one verdict word");
    }

    // Where the lesson adds its own flags: the whole of CLI11, when option()
    // and flag() are not enough.
    [[nodiscard]] CLI::App& flags() noexcept { return app_; }

    // A flag with a value: its default shows in --help and `accepted` (see
    // accepted.hpp) refuses bad values in one line.
    template <class T>
    CLI::Option* option(const std::string& name, T& value, const std::string& help, CLI::Validator accepted) {
        return app_.add_option(name, value, help)->capture_default_str()->check(std::move(accepted));
    }
    // An on/off flag.
    CLI::Option* flag(const std::string& name, bool& value, const std::string& help) {
        return app_.add_flag(name, value, help);
    }

    // Parses the command line. Returns the exit status when the lesson must
    // stop here (--help: 0; a bad flag: 2, after one line on stderr), and
    // nothing when it should run.
    [[nodiscard]] std::optional<int> parse(int argc, const char* const* argv) {
        add_common_flags();
        // --help wins over any other flag, even a bad one: it is what someone
        // who got a flag wrong asks for next.
        for (int i = 1; i < argc; ++i) {
            const std::string_view word{argv[i]};
            if (word == "--help" || word == "-h") {
                fmt::print("{}", app_.help());
                return exit_ok;
            }
        }
        try {
            app_.parse(argc, argv);
        } catch (const CLI::ParseError& error) {
            if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
                return app_.exit(error);
            }
            fmt::print(stderr, "{}\n", refusal(error.what()));
            return exit_bad_flag;
        }
        style_ = Style{Style::colour_wanted(no_color_), Style::unicode_wanted()};
        // Line by line even into a pipe: a run stopped by Ctrl-C or a dead
        // worker keeps what it printed. Lessons print a few hundred lines.
        std::setvbuf(stdout, nullptr, _IOLBF, 0);
        figure("lesson", name_);
        figure("seed", seed_);
        return std::nullopt;
    }

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
    [[nodiscard]] std::optional<int> check_limits(Estimate estimate, std::string_view flags_given) const {
        if (no_limits_) return std::nullopt;
        std::string over;
        if (estimate.seconds > longest_run_seconds) {
            over = fmt::format("would take about {} (the limit is 5 min)", duration_words(estimate.seconds));
        } else if (estimate.bytes > largest_run_bytes) {
            over = fmt::format("would need about {:.1f} GB of memory (the limit is 1 GiB)",
                               estimate.bytes / 1e9);
        } else {
            return std::nullopt;
        }
        fmt::print(stderr, "{}: this run {}; add --no-limits to run it anyway\n", flags_given, over);
        return exit_bad_flag;
    }

    [[nodiscard]] bool json() const noexcept { return json_; }
    [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }
    [[nodiscard]] const Style& style() const noexcept { return style_; }

    // --- human output (silent with --json) -----------------------------------
    template <class... Args>
    void heading(fmt::format_string<Args...> format, Args&&... args) {
        if (json_) return;
        fmt::print("\n{}\n", style_.text(style_.paint(style_.heading(),
                                                      fmt::format(format, std::forward<Args>(args)...))));
    }
    template <class... Args>
    void say(fmt::format_string<Args...> format, Args&&... args) {
        if (json_) return;
        fmt::print("{}\n", style_.text(fmt::format(format, std::forward<Args>(args)...)));
    }
    // A side remark, printed dimmed: why a number is what it is.
    template <class... Args>
    void note(fmt::format_string<Args...> format, Args&&... args) {
        if (json_) return;
        fmt::print("{}\n", style_.text(style_.paint(style_.quiet(),
                                                    fmt::format(format, std::forward<Args>(args)...))));
    }
    void print(const Table& table) {
        if (!json_) fmt::print("{}", style_.text(table.render(style_)));
    }
    void print(const BarChart& chart) {
        if (!json_) fmt::print("{}", style_.text(chart.render(style_)));
    }
    void print(const GilTimeline& timeline) {
        if (!json_) fmt::print("{}", style_.text(timeline.render(style_)));
    }

    // Writes `text` to `path` (checked by accepted_output_file when the
    // flag was parsed) and says so; a failure now (a full disk) throws
    // LessonFailure, which main's handler reports in one line.
    void write_file(const std::string& path, std::string_view text, std::string_view what) {
        std::ofstream out{path, std::ios::binary | std::ios::trunc};
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        out.close();
        if (!out) throw LessonFailure(fmt::format("could not write {} to {} (a full disk?)", what, path));
        say("wrote {} to {}", what, path);
    }

    // --- figures (printed with --json) ---------------------------------------
    template <class Value>
    void figure(std::string_view key, const Value& value) {
        figures_.set(key, value);
    }

    // Prints the verdict (or, with --json, every figure and the verdict) and
    // returns the exit status. `verdict` must be one of the lesson's words.
    [[nodiscard]] int finish(std::string_view verdict, std::string_view why) {
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

    // Ctrl-C stopped the lesson (asyncio::run raised KeyboardInterrupt):
    // says so and returns 130.
    [[nodiscard]] int interrupted() {
        std::fflush(stdout);
        fmt::print(stderr, "\ninterrupted (Ctrl-C): every task was cancelled\n");
        return exit_interrupted;
    }

private:
    void add_common_flags() {
        app_.add_flag("--json", json_, "Print the measured figures as one JSON object, and nothing else");
        app_.add_flag("--no-color", no_color_, "Plain text even on a terminal (so does NO_COLOR=1)");
        app_.add_option("--expect", expect_,
                        "Exit 0 if the verdict is VERDICT and 1 if it is not (what ctest checks)")
            ->option_text("VERDICT")
            ->check(accepted_words(verdicts_));
        app_.add_flag("--no-limits", no_limits_,
                      "Run even when the flags make the run longer than 5 minutes or larger than 1 GiB "
                      "(estimated before it starts)");
        app_.add_option("--seed", seed_, "Seed of anything random the lesson does")
            ->capture_default_str()
            ->check(accepted_range<std::uint64_t>(0, UINT64_MAX));
        app_.footer(
            fmt::format("Verdicts: {}.\nExit status: 0 ran (and the verdict matched --expect); "
                        "1 it did not match; 2 bad flag; 3 something it needed failed (said in one line).",
                        fmt::join(verdicts_, ", ")));
    }

    // CLI11's words for a missing value and a repeated flag, said as the
    // other refusals are: the flag, then what it takes.
    //   "--cycle: 1 required UINT:1 to 10000 missing" -> "--cycle: needs a value (1 to 10000)"
    //   "--cycle: At Most 1 required but received 2"  -> "--cycle: given 2 times: give it once"
    [[nodiscard]] static std::string refusal(std::string_view message) {
        const auto colon = message.find(": ");
        if (colon == std::string_view::npos) return std::string{message};
        const std::string_view flag = message.substr(0, colon);
        const std::string_view rest = message.substr(colon + 2);
        constexpr std::string_view required = "1 required ";
        constexpr std::string_view missing = " missing";
        constexpr std::string_view repeated = "At Most 1 required but received ";
        if (rest.starts_with(required) && rest.ends_with(missing)) {
            std::string_view accepted = rest.substr(
                required.size(), rest.size() - required.size() - missing.size());  // TYPE:description
            if (const auto type_end = accepted.find(':'); type_end != std::string_view::npos) {
                accepted = accepted.substr(type_end + 1);
            }
            return fmt::format("{}: needs a value ({})", flag, accepted);
        }
        if (rest.starts_with(repeated)) {
            return fmt::format("{}: given {} times: give it once", flag, rest.substr(repeated.size()));
        }
        return std::string{message};
    }

    // 40 s, 12 min, 27.8 h.
    [[nodiscard]] static std::string duration_words(double seconds) {
        if (seconds < 120) return fmt::format("{:.0f} s", seconds);
        if (seconds < 7200) return fmt::format("{:.0f} min", seconds / 60);
        return fmt::format("{:.1f} h", seconds / 3600);
    }

    std::string name_;
    std::vector<std::string> verdicts_;
    CLI::App app_;
    Style style_{false};
    JsonObject figures_;
    bool json_ = false;
    bool no_color_ = false;
    bool no_limits_ = false;
    std::optional<std::string> expect_;
    std::uint64_t seed_ = 1;
};

}  // namespace pyconc::lesson
