#pragma once
// A program's flags: each declared with the variable it sets and what it
// accepts (accepted.hpp), all parsed in one call that refuses a bad value in
// one line naming the flag.
//
// How this works
// - CLI11 does the parsing, inside command_line.cpp alone (the compiled
//   library pyconc::lesson). A lesson never parses CLI11's headers: at -O3
//   they cost about 6 s of every lesson's compile, half of the first build.
// - So the header declares `option()` for the value types flags have, and
//   the .cpp instantiates it for each; another type does not compile
//   (FlagValue below), rather than failing to link.
// - `Flag`, what option() and flag() return, states the rules between
//   flags: `excludes("--other")` refuses the two together, `value_name("K")`
//   is what --help shows for the value, `no_default_shown()` leaves out a
//   default that means "none" (0, an empty path).
//
//   CommandLine line{"tour", "The pyconc workshop tour: ..."};
//   line.option("--only", only, "Run only this lesson", accepted_words(names)).value_name("NAME");
//   line.flag("--list", list, "List the lessons, and stop");
//   if (auto exit = line.parse(argc, argv)) return *exit;   // 0 after --help, 2 after a bad flag
#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pyconc/lesson/accepted.hpp"

namespace pyconc::lesson {

inline constexpr int exit_ok = 0;
inline constexpr int exit_bad_flag = 2;

// The types a flag's value can have (command_line.cpp instantiates each).
template <class T>
concept FlagValue = std::same_as<T, int> || std::same_as<T, long> || std::same_as<T, long long> ||
    std::same_as<T, unsigned> || std::same_as<T, unsigned long> || std::same_as<T, unsigned long long> ||
    std::same_as<T, double> || std::same_as<T, std::string> || std::same_as<T, std::optional<std::string>> ||
    std::same_as<T, std::vector<std::string>>;  // a flag given several times

class CommandLine;

// A declared flag, for the rules between it and the others.
class Flag {
public:
    Flag& excludes(std::string_view other);   // refuse this flag and `other` together
    Flag& value_name(std::string_view name);  // --help shows "--flag NAME"
    Flag& no_default_shown();                 // its default means "none": do not show it

private:
    friend class CommandLine;
    Flag(CommandLine& line, std::string name) : line_(&line), name_(std::move(name)) {}
    CommandLine* line_;
    std::string name_;
};

class CommandLine {
public:
    CommandLine(std::string program, std::string description);
    CommandLine(CommandLine&&) noexcept;
    CommandLine& operator=(CommandLine&&) noexcept;
    ~CommandLine();

    // A flag with a value; --help shows its default and what it accepts.
    template <FlagValue T>
    Flag option(const std::string& name, T& value, const std::string& help, Accepted accepted);
    // A flag with no value: given, it sets `value` to true.
    Flag flag(const std::string& name, bool& value, const std::string& help);
    // The text at the end of --help.
    void footer(const std::string& text);

    [[nodiscard]] std::string help() const;

    // Parses the command line. Returns the exit status when the program must
    // stop here (--help: 0, after printing it; a bad flag: 2, after one line
    // on stderr), and nothing when it should run. --help wins over any other
    // flag, even a bad one: it is what someone who got a flag wrong asks for
    // next.
    [[nodiscard]] std::optional<int> parse(int argc, const char* const* argv);

private:
    friend class Flag;
    struct Parser;  // CLI::App, in command_line.cpp
    std::unique_ptr<Parser> parser_;
};

}  // namespace pyconc::lesson
