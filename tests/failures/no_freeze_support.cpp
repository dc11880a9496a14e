// A program that starts spawn workers but never calls freeze_support(): its
// spawned child runs main from the start instead of the worker's loop. The
// child refuses to start processes of its own (Python's "bootstrapping
// phase" error) and the parent's submit raises BootstrapError, with the
// advice, instead of a pool that breaks later. Exits 3 with it, 0 if the
// pool worked (it must not).
#include <cstdio>
#include <exception>
#include <vector>

#include <fmt/format.h>

#include "pyconc/concurrent/futures/process_pool.hpp"

namespace mp = pyconc::multiprocessing;

namespace {
int square(int n) {
    return n * n;
}
}  // namespace

int main() {
    try {
        pyconc::concurrent::futures::ProcessPoolExecutor pool{1, mp::get_context(mp::StartMethod::spawn)};
        (void)pool.map<square>(std::vector<int>{1, 2});
    } catch (const mp::BootstrapError& error) {
        fmt::print(stderr, "{}\n", error.what());
        return 3;
    }
    return 0;
}
