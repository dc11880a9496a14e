// The lesson chrome: flags, refusals, tables, bars, JSON and the verdict's
// exit status.
#include "pyconc/lesson/lesson.hpp"

#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

using namespace pyconc::lesson;

namespace {

// Runs parse() on a command line given as words; returns what it returned.
std::optional<int> parse(Lesson& lesson, std::vector<const char*> words) {
    words.insert(words.begin(), "lesson");
    return lesson.parse(static_cast<int>(words.size()), words.data());
}

Lesson make_lesson() {
    return Lesson{"demo", "Shows a demo.", {"race", "no-race"}};
}

}  // namespace

TEST(Lesson, RunsWhenTheFlagsAreGood) {
    Lesson lesson = make_lesson();
    int threads = 2;
    lesson.option("--threads", threads, "threads", accepted_range(1, 64));
    EXPECT_EQ(parse(lesson, {"--threads", "4", "--seed", "7"}), std::nullopt);
    EXPECT_EQ(threads, 4);
    EXPECT_EQ(lesson.seed(), 7U);
}

TEST(Lesson, RefusesAnOutOfRangeValueInOneLineNamingTheFlagAndTheRange) {
    for (const char* bad : {"0", "-1", "65", "1e9", "many", "2.5"}) {
        Lesson lesson = make_lesson();
        int threads = 2;
        lesson.option("--threads", threads, "threads", accepted_range(1, 64));
        ::testing::internal::CaptureStderr();
        EXPECT_EQ(parse(lesson, {"--threads", bad}), exit_bad_flag) << bad;
        EXPECT_EQ(::testing::internal::GetCapturedStderr(),
                  std::string("--threads: ") + bad + " is not accepted: expected an integer from 1 to 64\n");
    }
}

TEST(Lesson, RefusesNotANumberAndInfinityForANumberFlag) {
    for (const char* bad : {"nan", "NaN", "-nan", "inf", "-inf", "1e999"}) {
        Lesson lesson = make_lesson();
        double delay_ms = 5.0;
        lesson.option("--delay-ms", delay_ms, "delay", accepted_range(0.001, 1000.0));
        ::testing::internal::CaptureStderr();
        EXPECT_EQ(parse(lesson, {"--delay-ms", bad}), exit_bad_flag) << bad;
        EXPECT_EQ(
            ::testing::internal::GetCapturedStderr(),
            std::string("--delay-ms: ") + bad + " is not accepted: expected a number from 0.001 to 1000\n");
        EXPECT_EQ(delay_ms, 5.0);
    }
}

TEST(Lesson, AMissingValueIsRefusedNamingTheFlagAndWhatItTakes) {
    Lesson lesson = make_lesson();
    int cycle = 2;
    lesson.option("--cycle", cycle, "cycle", accepted_range(1, 10'000));
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(parse(lesson, {"--cycle"}), exit_bad_flag);
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "--cycle: needs a value (1 to 10000)\n");
}

TEST(Lesson, AFlagGivenTwiceIsRefusedInOneLine) {
    Lesson lesson = make_lesson();
    int cycle = 2;
    lesson.option("--cycle", cycle, "cycle", accepted_range(1, 10'000));
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(parse(lesson, {"--cycle", "2", "--cycle", "3"}), exit_bad_flag);
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "--cycle: given 2 times: give it once\n");
}

TEST(Lesson, HelpWinsOverABadFlag) {
    Lesson lesson = make_lesson();
    int cycle = 2;
    lesson.option("--cycle", cycle, "cycle", accepted_range(1, 10'000));
    ::testing::internal::CaptureStdout();
    EXPECT_EQ(parse(lesson, {"--cycle", "0", "--help"}), exit_ok);
    EXPECT_NE(::testing::internal::GetCapturedStdout().find("Shows a demo."), std::string::npos);
}

TEST(Lesson, ARunPastTheLimitsIsRefusedWithItsEstimateUnlessAllowed) {
    Lesson lesson = make_lesson();
    ASSERT_EQ(parse(lesson, {}), std::nullopt);
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(lesson.check_limits({100'000, 0}, "--steps 10000"), exit_bad_flag);
    EXPECT_EQ(
        ::testing::internal::GetCapturedStderr(),
        "--steps 10000: this run would take about 27.8 h (the limit is 5 min); add --no-limits to run it "
        "anyway\n");
    EXPECT_EQ(lesson.check_limits({10, 1e6}, "--steps 3"), std::nullopt);

    Lesson allowed = make_lesson();
    ASSERT_EQ(parse(allowed, {"--no-limits"}), std::nullopt);
    EXPECT_EQ(allowed.check_limits({100'000, 4e9}, "--steps 10000"), std::nullopt);
}

TEST(Lesson, RefusesAnUnknownExpectWordNamingTheAcceptedOnes) {
    Lesson lesson = make_lesson();
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(parse(lesson, {"--expect", "maybe"}), exit_bad_flag);
    EXPECT_EQ(::testing::internal::GetCapturedStderr(),
              "--expect: 'maybe' is not accepted: expected one of race, no-race\n");
}

TEST(Lesson, RefusesAnUnknownFlag) {
    Lesson lesson = make_lesson();
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(parse(lesson, {"--frobnicate"}), exit_bad_flag);
    EXPECT_NE(::testing::internal::GetCapturedStderr().find("--frobnicate"), std::string::npos);
}

TEST(Lesson, HelpSaysWhatTheLessonShowsAndExitsZero) {
    Lesson lesson = make_lesson();
    ::testing::internal::CaptureStdout();
    EXPECT_EQ(parse(lesson, {"--help"}), exit_ok);
    const std::string help = ::testing::internal::GetCapturedStdout();
    EXPECT_NE(help.find("Shows a demo."), std::string::npos);
    EXPECT_NE(help.find("--expect"), std::string::npos);
    EXPECT_NE(help.find("Verdicts: race, no-race."), std::string::npos);
}

TEST(Lesson, FinishExitsZeroWithoutExpect) {
    Lesson lesson = make_lesson();
    ASSERT_EQ(parse(lesson, {"--python", "3.12"}), std::nullopt);
    ::testing::internal::CaptureStdout();
    EXPECT_EQ(lesson.finish("race", "lost 3"), exit_ok);
    EXPECT_EQ(::testing::internal::GetCapturedStdout(),
              "models CPython 3.12 (--python 3.12)\n\nverdict: race (lost 3)\n");
}

TEST(Lesson, FinishExitsZeroWhenTheExpectedVerdictMatches) {
    Lesson lesson = make_lesson();
    ASSERT_EQ(parse(lesson, {"--expect", "no-race"}), std::nullopt);
    ::testing::internal::CaptureStdout();
    EXPECT_EQ(lesson.finish("no-race", "lost 0"), exit_ok);
    EXPECT_NE(::testing::internal::GetCapturedStdout().find("expected no-race: matched"), std::string::npos);
}

TEST(Lesson, FinishExitsOneAndPrintsBothWhenTheVerdictDoesNotMatch) {
    Lesson lesson = make_lesson();
    ASSERT_EQ(parse(lesson, {"--expect", "no-race"}), std::nullopt);
    ::testing::internal::CaptureStdout();
    EXPECT_EQ(lesson.finish("race", "lost 3"), exit_verdict_mismatch);
    EXPECT_NE(::testing::internal::GetCapturedStdout().find("expected no-race, but the verdict is race"),
              std::string::npos);
}

TEST(Lesson, JsonModePrintsOnlyTheFiguresAsOneObject) {
    Lesson lesson = make_lesson();
    ASSERT_EQ(parse(lesson, {"--json", "--expect", "race", "--python", "3.9"}), std::nullopt);
    ::testing::internal::CaptureStdout();
    lesson.heading("not printed");
    lesson.say("not printed either");
    lesson.figure("lost", 3);
    EXPECT_EQ(lesson.finish("race", "lost 3"), exit_ok);
    EXPECT_EQ(::testing::internal::GetCapturedStdout(),
              "{\"lesson\": \"demo\", \"seed\": 1, \"python\": \"3.9\", \"python_why\": \"--python 3.9\", "
              "\"lost\": 3, \"verdict\": \"race\", \"why\": \"lost 3\", \"expected\": \"race\", \"matched\": "
              "true}\n");
}

TEST(Lesson, NoColorEnvironmentVariableTurnsColourOff) {
    ::setenv("NO_COLOR", "1", 1);  // NOLINT(concurrency-mt-unsafe): the test runs one thread
    EXPECT_FALSE(Style::colour_wanted(false));
    ::unsetenv("NO_COLOR");  // NOLINT(concurrency-mt-unsafe): the test runs one thread
    EXPECT_FALSE(Style::colour_wanted(true));
}

TEST(Style, PaintsOnlyWhenColourIsOn) {
    EXPECT_EQ(Style{false}.paint(Style{false}.bad(), "x"), "x");
    const Style colour{true};
    EXPECT_EQ(colour.paint(colour.strong(), "x"), "\x1b[1mx\x1b[0m");
}

TEST(Table, AlignsEveryColumnToItsWidestCell) {
    Table table{{"step", Align::left}, {"refcount", Align::right}};
    table.row({"b = a", "2"}).row({"box = [a]", "13"});
    EXPECT_EQ(table.render(Style{false}),
              "step       refcount\n"
              "───────────────────\n"
              "b = a             2\n"
              "box = [a]        13\n");
}

TEST(BarChart, ScalesTheLargestValueToTheFullWidth) {
    BarChart chart{"ms", 8};
    chart.bar("big", 8).bar("half", 4).bar("none", 0);
    EXPECT_EQ(chart.render(Style{false}),
              "big   ████████  8 ms\n"
              "half  ████      4 ms\n"
              "none            0 ms\n");
}

TEST(BarChart, DrawsFractionsOfAColumnInEighths) {
    BarChart chart{"s", 2};
    chart.bar("a", 16).bar("b", 3);
    EXPECT_EQ(chart.render(Style{false}), "a  ██  16 s\nb  ▍    3 s\n");
}

TEST(JsonObject, EscapesStringsAndKeepsKeyOrder) {
    JsonObject json;
    json.set("name", "a \"quoted\"\\path\n");
    json.set("count", 3);
    json.set("ratio", 0.5);
    json.set("nan", std::nan(""));
    json.set("ok", true);
    json.set("list", std::vector<int>{1, 2});
    json.set("count", 4);  // replaces, keeps its place
    EXPECT_EQ(
        json.render(),
        R"({"name": "a \"quoted\"\\path\n", "count": 4, "ratio": 0.5, "nan": null, "ok": true, "list": [1, 2]})");
}

TEST(Style, WithoutUnicodeEachDrawingCharacterBecomesOneAsciiCharacter) {
    const Style ascii{false, false};
    EXPECT_EQ(ascii.text("io  │·░░▌█│ held"), "io  |.::+#| held");
    EXPECT_EQ(ascii.text("──── ━━ a → b"), "---- == a > b");
    const Style unicode{false, true};
    EXPECT_EQ(unicode.text("│█│"), "│█│");
}

TEST(JsonObject, LabelsEachRowOfAListOfObjects) {
    JsonObject plain;
    plain.set("variant", "plain");
    plain.set("lost", 0);
    JsonObject call;
    call.set("variant", "with_call");
    call.set("lost", 12);
    JsonObject json;
    json.set("runs", std::vector<JsonObject>{plain, call});
    EXPECT_EQ(json.render(),
              R"({"runs": [{"variant": "plain", "lost": 0}, {"variant": "with_call", "lost": 12}]})");
}

// The chrome's misuse raises (one line and exit 3 in a lesson), never aborts.
TEST(Chrome, MisuseRaisesAndNamesTheCall) {
    pyconc::lesson::Table table{{"a", pyconc::lesson::Align::left}};
    try {
        table.row({"one", "two"});
        FAIL();
    } catch (const std::invalid_argument& error) {
        EXPECT_NE(std::string{error.what()}.find("Table::row"), std::string::npos);
    }
    pyconc::lesson::BarChart chart{"s"};
    EXPECT_THROW(chart.bar("nan", std::nan("")), std::invalid_argument);
    EXPECT_THROW(chart.bar("negative", -1.0), std::invalid_argument);
    EXPECT_THROW((pyconc::lesson::Lesson{"x", "y", {}}), std::invalid_argument);
}

TEST(Numbers, GroupsDigitsInThreesAsPythonsCommaFormatDoes) {
    EXPECT_EQ(grouped(0), "0");
    EXPECT_EQ(grouped(999), "999");
    EXPECT_EQ(grouped(1000), "1,000");
    EXPECT_EQ(grouped(2'000'000), "2,000,000");
    EXPECT_EQ(grouped(-1234567), "-1,234,567");
    EXPECT_EQ(grouped(-100), "-100");
}

// --- which CPython a lesson models (which_python.hpp) -----------------------------

TEST(WhichPython, TheVersionAskedForWinsOverThePath) {
    const ModelledPython python = choose_python("3.9", "3.12");
    EXPECT_EQ(python.profile.version, "3.9");
    EXPECT_EQ(python.why, "--python 3.9");
    EXPECT_EQ(modelled_python_line(python), "models CPython 3.9 (--python 3.9)");
}

TEST(WhichPython, WithoutOneThePython3OnThePathIsModelled) {
    const ModelledPython python = choose_python(std::nullopt, "3.13t");
    EXPECT_EQ(python.profile.version, "3.13t");
    EXPECT_TRUE(python.profile.free_threaded);
    EXPECT_EQ(modelled_python_line(python),
              "models CPython 3.13t (the python3 on your PATH; --python VERSION for another)");
}

TEST(WhichPython, APathPythonWithNoProfileGivesTheNewestWithTheGilAndSaysWhy) {
    const ModelledPython python = choose_python(std::nullopt, "3.8");
    EXPECT_EQ(python.profile.version, "3.14");
    EXPECT_EQ(python.why, "the newest profile: the python3 on your PATH is 3.8, which has none");
}

TEST(WhichPython, NoPython3OnThePathGivesTheNewestWithTheGil) {
    const ModelledPython python = choose_python(std::nullopt, std::nullopt);
    EXPECT_EQ(python.profile.version, "3.14");
    EXPECT_EQ(python.why, "the newest profile: no python3 on your PATH");
}

TEST(WhichPython, BadVersionsAreRefusedInOneLineListingTheAcceptedOnes) {
    for (const char* bad : {"2.7", "3.99", "banana", "", "3.12 ", "3.1"}) {
        Lesson lesson = make_lesson();
        ::testing::internal::CaptureStderr();
        EXPECT_EQ(parse(lesson, {"--python", bad}), exit_bad_flag) << bad;
        const std::string said = ::testing::internal::GetCapturedStderr();
        EXPECT_EQ(said, fmt::format("--python: '{}' is not accepted: expected one of 3.9, 3.10, 3.11, 3.12, "
                                    "3.13, 3.13t, 3.14, 3.14t\n",
                                    bad))
            << bad;
    }
}

TEST(WhichPython, TheLessonSaysItsVersionFirstAndARefusalAfterParseAlone) {
    {
        Lesson lesson = make_lesson();
        ASSERT_EQ(parse(lesson, {"--python", "3.13"}), std::nullopt);
        EXPECT_EQ(lesson.python().gc_threshold[0], 2000);
        ::testing::internal::CaptureStdout();
        lesson.say("first");
        lesson.say("second");
        EXPECT_EQ(::testing::internal::GetCapturedStdout(),
                  "models CPython 3.13 (--python 3.13)\nfirst\nsecond\n");
    }
    Lesson lesson = make_lesson();
    ASSERT_EQ(parse(lesson, {"--python", "3.13t"}), std::nullopt);
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(Lesson::refuse("--switch-every", "it is about the GIL"), exit_bad_flag);
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "--switch-every: it is about the GIL\n");
    EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
}
