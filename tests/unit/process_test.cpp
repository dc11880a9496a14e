// Real processes: pickling, pipes, fork and spawn, shared Values, the
// process pool and its faults, and that no child is left behind.
#include "pyconc/multiprocessing/process.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "pyconc/asyncio.hpp"
#include "pyconc/concurrent/futures/process_pool.hpp"
#include "pyconc/multiprocessing/connection.hpp"
#include "pyconc/multiprocessing/pickle.hpp"
#include "pyconc/multiprocessing/pool.hpp"
#include "pyconc/multiprocessing/queue.hpp"
#include "pyconc/multiprocessing/value.hpp"

namespace mp = pyconc::multiprocessing;
namespace futures = pyconc::concurrent::futures;
namespace asyncio = pyconc::asyncio;

namespace {

struct Job {
    int id = 0;
    std::string name;
    std::vector<double> weights;
    static constexpr auto pickle_fields = std::tuple{&Job::id, &Job::name, &Job::weights};
};

int square(int n) {
    return n * n;
}
std::string shout(const std::string& text, int times) {
    std::string out;
    for (int i = 0; i < times; ++i) out += text + "!";
    return out;
}
int fails(int) {
    throw std::runtime_error("raised in the worker");
}
int sleeps_then_returns(int milliseconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds{milliseconds});
    return milliseconds;
}
void exit_with(int status) {
    std::_Exit(status);
}

int touched = 0;

// This process's children, alive or zombie, but for the fork server
// (popen.hpp), which a forkserver test starts and which lives as long as
// this process, as CPython's does.
std::vector<pid_t> children() {
    std::vector<pid_t> found;
    for (const auto& task : std::filesystem::directory_iterator{"/proc/self/task"}) {
        std::ifstream list{task.path() / "children"};
        for (pid_t pid = 0; list >> pid;) {
            if (pid != mp::ForkServer::instance_pid()) found.push_back(pid);
        }
    }
    return found;
}
bool no_children() {
    return children().empty();
}

int read_touched(int /*item*/) {
    return touched;
}

}  // namespace

TEST(Pickle, RoundTripsNumbersStringsVectorsTuplesAndOptedInStructs) {
    const Job job{7, "seven", {0.5, 1.5}};
    const Job back = mp::loads<Job>(mp::dumps(job));
    EXPECT_EQ(back.id, 7);
    EXPECT_EQ(back.name, "seven");
    EXPECT_EQ(back.weights, (std::vector<double>{0.5, 1.5}));
    const auto tuple =
        mp::loads<std::tuple<int, std::string, bool>>(mp::dumps(std::tuple{1, std::string{"x"}, true}));
    EXPECT_EQ(std::get<1>(tuple), "x");
    EXPECT_FALSE(mp::picklable<int*>());
    EXPECT_FALSE(mp::picklable<std::thread>());
}

TEST(Pickle, TruncatedBytesRaise) {
    const std::string bytes = mp::dumps(std::string{"hello"});
    EXPECT_THROW((void)mp::loads<std::string>(bytes.substr(0, bytes.size() - 1)), mp::PickleError);
    EXPECT_THROW((void)mp::loads<int>(bytes), mp::PickleError);
}

TEST(Pipe, CarriesMessagesBetweenProcessesAndEndsInEof) {
    auto ends = mp::Pipe();  // (clang 14 cannot capture structured bindings)
    mp::Connection& parent_end = ends.first;
    mp::Connection& child_end = ends.second;
    mp::Process child{[&] {
        parent_end.close();
        const auto got = child_end.recv<std::vector<int>>();
        child_end.send(std::accumulate(got.begin(), got.end(), 0));
    }};
    child.start();
    child_end.close();
    parent_end.send(std::vector<int>{1, 2, 3, 4});
    EXPECT_EQ(parent_end.recv<int>(), 10);
    child.join();
    EXPECT_EQ(child.exitcode(), 0);
    EXPECT_THROW((void)parent_end.recv<int>(), mp::EOFError);  // the child's end is closed: it exited
}

TEST(Process, ForkRunsTheTargetInACopyThatTheParentNeverSees) {
    touched = 0;
    mp::Process child{[] {
        touched += 1;
        if (touched != 1) std::_Exit(3);
    }};
    child.start();
    child.join();
    EXPECT_EQ(child.exitcode(), 0);
    EXPECT_EQ(touched, 0);
}

TEST(Process, ExitCodesFollowPython) {
    mp::Process raising{[] { throw std::runtime_error("boom"); }};
    raising.start();
    raising.join();
    EXPECT_EQ(raising.exitcode(), 1);
    mp::Process sleeper{[] { std::this_thread::sleep_for(std::chrono::seconds{30}); }};
    sleeper.start();
    EXPECT_TRUE(sleeper.is_alive());
    sleeper.join(0.01);
    EXPECT_FALSE(sleeper.exitcode().has_value());  // the timeout passed; still running
    sleeper.terminate();
    sleeper.join();
    EXPECT_EQ(sleeper.exitcode(), -SIGTERM);
    EXPECT_TRUE(no_children());
}

TEST(Process, SpawnRunsARegisteredFunctionInAFreshProgram) {
    auto child = mp::Process::spawn<exit_with>(42);
    child.start();
    child.join();
    EXPECT_EQ(child.exitcode(), 42);
    EXPECT_TRUE(no_children());
}

TEST(Value, WithItsLockEveryIncrementLands) {
    mp::Value<long> counter{0};
    std::vector<mp::Process> children;
    for (int i = 0; i < 4; ++i) {
        children.emplace_back([&counter] {
            for (int n = 0; n < 2000; ++n) {
                const mp::Value<long>::Lock::Held held{counter.get_lock()};
                counter.add(1);
            }
        });
    }
    for (auto& child : children) child.start();
    for (auto& child : children) child.join();
    EXPECT_EQ(counter.value(), 8000);
}

TEST(Value, AChildKilledHoldingTheLockLeavesItToTheNextProcessAndSaysSo) {
    mp::Value<long> counter{0};
    mp::Process dies_holding{[&counter] {
        counter.get_lock().lock();  // with v.get_lock(): ... and then SIGKILL, inside
        counter.add(1);
        ::raise(SIGKILL);
    }};
    dies_holding.start();
    dies_holding.join();
    EXPECT_EQ(dies_holding.exitcode(), -SIGKILL);
    mp::Process next{[&counter] {
        const mp::Value<long>::Lock::Held held{counter.get_lock()};  // does not hang: EOWNERDEAD
        counter.add(1);
    }};
    next.start();
    next.join(10.0);
    ASSERT_EQ(next.exitcode(), 0);
    EXPECT_EQ(counter.value(), 2);
    EXPECT_EQ(counter.get_lock().owners_died(), 1);
    EXPECT_TRUE(no_children());
}

TEST(ProcessPool, TheBrokenPoolNamesTheWorkerThatDied) {
    futures::ProcessPoolExecutor pool{1};
    auto running = pool.submit<sleeps_then_returns>(20'000);
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
    const pid_t worker = pool.worker_pids().at(0);
    ::kill(worker, SIGKILL);
    try {
        (void)running->result();
        FAIL();
    } catch (const futures::BrokenExecutor& error) {
        EXPECT_EQ(
            std::string{error.what()},
            fmt::format("A process in the process pool was terminated abruptly while the future was running "
                        "or pending (worker pid {}).",
                        worker));
    }
    pool.shutdown();
}

TEST(ProcessPool, MapKeepsOrderAndExceptionsComeBackThroughTheFuture) {
    futures::ProcessPoolExecutor pool{2};
    EXPECT_EQ(pool.map<square>(std::vector<int>{1, 2, 3, 4, 5}), (std::vector<int>{1, 4, 9, 16, 25}));
    EXPECT_EQ(pool.submit<shout>(std::string{"hey"}, 2)->result(), "hey!hey!");
    auto failing = pool.submit<fails>(1);
    try {
        (void)failing->result();
        FAIL();
    } catch (const std::runtime_error& error) {
        EXPECT_STREQ(error.what(), "raised in the worker");
    }
}

TEST(ProcessPool, AKilledWorkerBreaksThePoolAndFailsEveryPendingFuture) {
    futures::ProcessPoolExecutor pool{1};
    auto running = pool.submit<sleeps_then_returns>(20'000);
    auto queued = pool.submit<square>(3);
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
    ASSERT_EQ(pool.worker_pids().size(), 1U);
    ::kill(pool.worker_pids()[0], SIGKILL);
    EXPECT_THROW((void)running->result(), futures::BrokenExecutor);
    EXPECT_THROW((void)queued->result(), futures::BrokenExecutor);
    EXPECT_THROW((void)pool.submit<square>(4), futures::BrokenExecutor);
    pool.shutdown();
    EXPECT_TRUE(no_children());
}

namespace {
// Gone, or a zombie waiting for whoever adopted it.
bool dead(pid_t pid) {
    if (::kill(pid, 0) != 0) return true;
    std::ifstream stat{fmt::format("/proc/{}/stat", pid)};
    std::string pid_field;
    std::string name;
    char state = '?';
    stat >> pid_field >> name >> state;
    return state == 'Z' || state == 'X';
}
}  // namespace

TEST(ProcessPool, WorkersDieWithTheirParentEvenWhenItIsKilled) {
    auto ends = mp::Pipe();
    mp::Connection& here = ends.first;
    mp::Connection& there = ends.second;
    mp::Process parent{[&] {
        futures::ProcessPoolExecutor pool{2};
        (void)pool.map<square>(std::vector<int>{1, 2});
        std::vector<int> pids;
        for (const pid_t pid : pool.worker_pids()) pids.push_back(pid);
        there.send(pids);
        std::this_thread::sleep_for(std::chrono::seconds{30});  // until killed
    }};
    parent.start();
    const auto workers = here.recv<std::vector<int>>();
    ASSERT_EQ(workers.size(), 2U);
    parent.kill();  // SIGKILL: no destructor, no shutdown
    parent.join();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
    for (const int pid : workers) {
        while (!dead(pid) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds{5});
        }
        EXPECT_TRUE(dead(pid)) << "worker " << pid << " outlived its parent";
    }
}

TEST(ProcessPool, ShutdownReapsEveryWorker) {
    {
        futures::ProcessPoolExecutor pool{2};
        EXPECT_EQ(pool.submit<square>(9)->result(), 81);
    }
    EXPECT_TRUE(no_children());
}

TEST(ProcessPool, TheBridgeAwaitsAWorkerFromTheLoop) {
    futures::ProcessPoolExecutor pool{2};
    const int result = asyncio::run([&]() -> asyncio::Coroutine<int> {
        const auto both = co_await asyncio::gather(asyncio::run_in_executor<square>(pool, 6),
                                                   asyncio::run_in_executor<square>(pool, 7));
        co_return std::get<0>(both) + std::get<1>(both);
    }());
    EXPECT_EQ(result, 36 + 49);
}

TEST(Queue, CarriesItemsFromSeveralChildren) {
    mp::Queue<std::pair<int, std::string>> queue;
    std::vector<mp::Process> children;
    for (int id = 0; id < 3; ++id) {
        children.emplace_back([&queue, id] {
            for (int k = 0; k < 50; ++k) queue.put({id, std::string(100, static_cast<char>('a' + id))});
        });
    }
    for (auto& child : children) child.start();
    int counts[3] = {0, 0, 0};
    for (int i = 0; i < 150; ++i) {
        const auto [id, text] = queue.get(10.0);
        ASSERT_EQ(text, std::string(100, static_cast<char>('a' + id)));  // whole messages, never interleaved
        ++counts[id];
    }
    for (auto& child : children) child.join();
    EXPECT_EQ(counts[0] + counts[1] + counts[2], 150);
    EXPECT_THROW((void)queue.get(0.01), mp::Empty);
}

TEST(Pool, MapAndImapGiveResultsInOrderWhateverTheChunkSize) {
    mp::Pool pool{2};
    std::vector<int> items(100);
    std::iota(items.begin(), items.end(), 0);
    std::vector<int> squares;
    for (const int i : items) squares.push_back(i * i);
    EXPECT_EQ(pool.map<square>(items), squares);
    EXPECT_EQ(pool.map<square>(items, 7), squares);
    std::vector<int> streamed;
    for (const int result : pool.imap<square>(items, 3)) streamed.push_back(result);
    EXPECT_EQ(streamed, squares);
    pool.close();
    pool.join();
    EXPECT_TRUE(no_children());
}

// Where CPython's Pool would wait forever for a result a dead worker will
// never send, the model's raises BrokenPool naming the worker.
TEST(Pool, AKilledWorkerRaisesBrokenPool) {
    mp::Pool pool{1};
    const std::vector<int> slow{20'000};
    auto results = pool.imap<sleeps_then_returns>(slow);
    const pid_t worker = pool.worker_pids().at(0);
    ::kill(worker, SIGKILL);
    try {
        (void)results.begin();  // waits for the first chunk
        FAIL();
    } catch (const mp::BrokenPool& error) {
        EXPECT_NE(std::string{error.what()}.find(fmt::format("worker pid {}", worker)), std::string::npos);
    }
    EXPECT_THROW((void)pool.map<square>(std::vector<int>{1, 2}), mp::BrokenPool);
    pool.join();
    EXPECT_TRUE(no_children());
}

// --- start methods (start_method.hpp, popen.hpp) ---------------------------------------

// What each start method's children see of a global the parent set before
// the pool started: fork's a copy of the parent's memory, so the parent's
// value; spawn's and the fork server's the program's value at start-up.
TEST(StartMethods, OnlyForkedChildrenSeeTheParentsGlobals) {
    touched = 7;
    std::vector<int> seen;
    for (const mp::StartMethod method : mp::all_start_methods) {
        futures::ProcessPoolExecutor pool{2, mp::get_context(method)};
        EXPECT_EQ(pool.start_method(), method);
        const auto values = pool.map<read_touched>(std::vector<int>{0, 1});
        seen.push_back(values.at(0));
        EXPECT_EQ(values.at(0), values.at(1));
    }
    touched = 0;
    EXPECT_EQ(seen, (std::vector<int>{7, 0, 0}));  // fork, spawn, forkserver
    EXPECT_TRUE(no_children());
}

TEST(StartMethods, APoolOfEachMethodComputesTheSameAndLeavesNoChild) {
    for (const mp::StartMethod method : mp::all_start_methods) {
        mp::Pool pool{2, mp::get_context(method)};
        EXPECT_EQ(pool.map<square>(std::vector<int>{1, 2, 3, 4}), (std::vector<int>{1, 4, 9, 16}));
    }
    EXPECT_TRUE(no_children());
}

TEST(StartMethods, AProcessOfEachMethodReportsItsExitCode) {
    for (const mp::StartMethod method : mp::all_start_methods) {
        auto child = mp::Process::call<exit_with>(mp::get_context(method), 42);
        child.start();
        child.join();
        EXPECT_EQ(child.exitcode(), 42) << mp::start_method_name(method);
    }
    auto sleeper =
        mp::Process::call<sleeps_then_returns>(mp::get_context(mp::StartMethod::forkserver), 20'000);
    sleeper.start();
    sleeper.kill();
    sleeper.join();
    EXPECT_EQ(sleeper.exitcode(), -SIGKILL);  // as the fork server saw it end
    EXPECT_TRUE(no_children());
}

// Lib/test/_test_multiprocessing.py's test_set_get: the default is fixed
// once used; setting it again needs force=True.
TEST(StartMethods, TheDefaultIsFixedOnceAndSetAgainOnlyByForce) {
    const mp::StartMethod before = mp::get_start_method();
    try {
        mp::set_start_method(mp::StartMethod::spawn);
        FAIL() << "set_start_method after get_start_method";
    } catch (const std::runtime_error& error) {
        EXPECT_STREQ(error.what(), "RuntimeError: context has already been set");
    }
    mp::set_start_method(mp::StartMethod::spawn, true);
    EXPECT_EQ(mp::get_start_method(), mp::StartMethod::spawn);
    EXPECT_EQ(mp::get_context().start_method(), mp::StartMethod::spawn);
    EXPECT_EQ(mp::get_context(mp::StartMethod::fork).name(), "fork");
    EXPECT_EQ(mp::start_method_named("forkserver"), mp::StartMethod::forkserver);
    EXPECT_EQ(mp::start_method_named("threads"), std::nullopt);
    mp::set_start_method(before, true);
}

int main(int argc, char** argv) {
    mp::freeze_support(argc, argv);  // a spawned child does its work here and exits
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
