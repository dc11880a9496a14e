// The command line on CLI11: the one file of pyconc that parses its headers.
#include "pyconc/lesson/command_line.hpp"

#include <string>
#include <string_view>
#include <utility>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace pyconc::lesson {

struct CommandLine::Parser {
    Parser(std::string program, std::string description) : app(std::move(description), std::move(program)) {}

    CLI::App app;

    [[nodiscard]] CLI::Option& find(const std::string& name) {
        CLI::Option* option = app.get_option_no_throw(name);
        if (option == nullptr)
            throw std::invalid_argument(fmt::format("CommandLine: no flag {} was declared", name));
        return *option;
    }
};

namespace {

CLI::Validator validator(Accepted accepted) {
    auto check = [refusal = std::move(accepted.refusal)](std::string& text) { return refusal(text); };
    return {std::move(check), std::move(accepted.description)};
}

// CLI11's words for a missing value and a repeated flag, said as the
// other refusals are: the flag, then what it takes.
//   "--cycle: 1 required UINT:1 to 10000 missing" -> "--cycle: needs a value (1 to 10000)"
//   "--cycle: At Most 1 required but received 2"  -> "--cycle: given 2 times: give it once"
std::string refusal(std::string_view message) {
    const auto colon = message.find(": ");
    if (colon == std::string_view::npos) return std::string{message};
    const std::string_view flag = message.substr(0, colon);
    const std::string_view rest = message.substr(colon + 2);
    constexpr std::string_view required = "1 required ";
    constexpr std::string_view missing = " missing";
    constexpr std::string_view repeated = "At Most 1 required but received ";
    if (rest.starts_with(required) && rest.ends_with(missing)) {
        std::string_view accepted =
            rest.substr(required.size(), rest.size() - required.size() - missing.size());  // TYPE:description
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

}  // namespace

CommandLine::CommandLine(std::string program, std::string description)
    : parser_(std::make_unique<Parser>(std::move(program), std::move(description))) {}
CommandLine::CommandLine(CommandLine&&) noexcept = default;
CommandLine& CommandLine::operator=(CommandLine&&) noexcept = default;
CommandLine::~CommandLine() = default;

template <FlagValue T>
Flag CommandLine::option(const std::string& name, T& value, const std::string& help, Accepted accepted) {
    CLI::Option* option = parser_->app.add_option(name, value, help);
    // An optional or repeatable flag has no default to show.
    if constexpr (!std::same_as<T, std::optional<std::string>> &&
                  !std::same_as<T, std::vector<std::string>>) {
        option->capture_default_str();
    }
    option->check(validator(std::move(accepted)));
    return Flag{*this, name};
}

template Flag CommandLine::option(const std::string&, int&, const std::string&, Accepted);
template Flag CommandLine::option(const std::string&, long&, const std::string&, Accepted);
template Flag CommandLine::option(const std::string&, long long&, const std::string&, Accepted);
template Flag CommandLine::option(const std::string&, unsigned&, const std::string&, Accepted);
template Flag CommandLine::option(const std::string&, unsigned long&, const std::string&, Accepted);
template Flag CommandLine::option(const std::string&, unsigned long long&, const std::string&, Accepted);
template Flag CommandLine::option(const std::string&, double&, const std::string&, Accepted);
template Flag CommandLine::option(const std::string&, std::string&, const std::string&, Accepted);
template Flag CommandLine::option(const std::string&, std::optional<std::string>&, const std::string&,
                                  Accepted);
template Flag CommandLine::option(const std::string&, std::vector<std::string>&, const std::string&,
                                  Accepted);

Flag CommandLine::flag(const std::string& name, bool& value, const std::string& help) {
    parser_->app.add_flag(name, value, help);
    return Flag{*this, name};
}

void CommandLine::footer(const std::string& text) {
    parser_->app.footer(text);
}

std::string CommandLine::help() const {
    return parser_->app.help();
}

std::optional<int> CommandLine::parse(int argc, const char* const* argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view word{argv[i]};
        if (word == "--help" || word == "-h") {
            fmt::print("{}", help());
            return exit_ok;
        }
    }
    try {
        parser_->app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success))
            return parser_->app.exit(error);
        fmt::print(stderr, "{}\n", refusal(error.what()));
        return exit_bad_flag;
    }
    return std::nullopt;
}

Flag& Flag::excludes(std::string_view other) {
    line_->parser_->find(name_).excludes(&line_->parser_->find(std::string{other}));
    return *this;
}

Flag& Flag::value_name(std::string_view name) {
    line_->parser_->find(name_).option_text(std::string{name});
    return *this;
}

Flag& Flag::no_default_shown() {
    line_->parser_->find(name_).default_str("");
    return *this;
}

}  // namespace pyconc::lesson
