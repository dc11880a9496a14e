// The heap: containers are tracked from birth to death, a finalizer runs at
// most once, a resurrected object survives, shutdown frees what cycles kept
// alive, and objects live in the small-object allocator.
#include "pyconc/runtime/heap.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "counted.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/types.hpp"

using namespace pyconc::runtime;
using pyconc::testing::Census;
using pyconc::testing::Counted;

TEST(Heap, ContainersAreTrackedFromBirthAndUntrackedWhenFreed) {
    Interpreter interpreter;
    Census census;
    Ref<Counted> container = make<Counted>(census);
    Ref<Int> number = Int::from(1'000'000);
    EXPECT_TRUE(container->is_tracked());
    EXPECT_FALSE(number->is_gc());
    EXPECT_EQ(interpreter.gc().objects_in(0), 1U);
    EXPECT_EQ(interpreter.heap().live_objects(), 2U);
    container.reset();
    EXPECT_EQ(interpreter.gc().objects_in(0), 0U);
    EXPECT_EQ(interpreter.heap().live_objects(), 1U);
}

TEST(Heap, ForEachTrackedVisitsEveryTrackedContainerOnce) {
    Interpreter interpreter;
    Census census;
    Ref<Counted> first = make<Counted>(census);
    Ref<Counted> second = make<Counted>(census);
    std::vector<const Object*> seen;
    interpreter.gc().for_each_tracked([&](Object& op) { seen.push_back(&op); });
    std::sort(seen.begin(), seen.end());
    std::vector<const Object*> expected{first.get(), second.get()};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(seen, expected);
}

TEST(Heap, ACycleSurvivesEveryDropOfItsNames) {
    Interpreter interpreter;
    Census census;
    Ref<Counted> x = make<Counted>(census);
    Ref<Counted> y = make<Counted>(census);
    x->hold(y);
    y->hold(x);
    x.reset();
    y.reset();
    EXPECT_EQ(census.alive(), 2);
    std::size_t tracked = 0;
    interpreter.gc().for_each_tracked([&](Object&) { ++tracked; });
    EXPECT_EQ(tracked, 2U);
}

TEST(Heap, ShutdownCollectsTheCyclesThatAreLeft) {
    Census census;
    {
        Interpreter interpreter;
        Ref<Counted> x = make<Counted>(census);
        Ref<Counted> y = make<Counted>(census);
        x->hold(y);
        y->hold(x);
        Ref<Counted> self = make<Counted>(census);
        self->hold(self);
        x.reset();
        y.reset();
        self.reset();
        EXPECT_EQ(interpreter.shutdown(), 3U);
        EXPECT_EQ(census.alive(), 0);
        EXPECT_EQ(interpreter.heap().live_objects(), 0U);
    }
    EXPECT_EQ(census.died, 3);
}

TEST(Heap, TheInterpreterFreesLeftoverCyclesWhenItEnds) {
    Census census;
    {
        Interpreter interpreter;
        Ref<Counted> self = make<Counted>(census);
        self->hold(self);
    }
    EXPECT_EQ(census.alive(), 0);
}

namespace {

// class Phoenix: def __del__(self): saved.append(self); calls += 1
struct Phoenix {
    std::vector<Ref<Instance>> saved;
    int calls = 0;
    Ref<Class> cls = make<Class>("Phoenix", [this](Instance& self) {
        ++calls;
        saved.push_back(Ref<Instance>::new_ref(self));
    });
};

}  // namespace

TEST(Heap, AFinalizerThatResurrectsItsObjectKeepsItAliveAndNeverRunsAgain) {
    Interpreter interpreter;
    Phoenix phoenix;
    Ref<Instance> bird = new_instance(phoenix.cls);
    Instance* const address = bird.get();
    bird.reset();
    ASSERT_EQ(phoenix.calls, 1);
    ASSERT_EQ(phoenix.saved.size(), 1U);
    EXPECT_EQ(phoenix.saved[0].get(), address);
    EXPECT_TRUE(phoenix.saved[0]->is_finalized());
    EXPECT_EQ(refcount(phoenix.saved[0]), 1);
    phoenix.saved.clear();  // the second death is final: no second __del__
    EXPECT_EQ(phoenix.calls, 1);
    EXPECT_EQ(interpreter.gc().objects_in(0), 0U);
}

TEST(Heap, AFinalizerRunsOnceWithTheObjectIntactThenTheObjectIsFreed) {
    Interpreter interpreter;
    std::vector<std::string> seen;
    Ref<Class> Noisy = make<Class>(
        "Noisy", [&](Instance& self) { seen.push_back(dynamic_cast<Str&>(*self.getattr("name")).value()); });
    Ref<Instance> a = new_instance(Noisy);
    a->setattr("name", make<Str>("a"));
    a.reset();
    EXPECT_EQ(seen, std::vector<std::string>{"a"});
    EXPECT_EQ(interpreter.gc().objects_in(0), 0U);
}

TEST(Heap, AnExceptionFromAFinalizerIsReportedAndIgnored) {
    Interpreter interpreter;
    Ref<Class> Grumpy = make<Class>("Grumpy", [](Instance&) { throw std::runtime_error("no"); });
    ::testing::internal::CaptureStderr();
    new_instance(Grumpy).reset();
    const std::string printed = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(printed.find("Exception ignored in: <Grumpy finalizer>: no"), std::string::npos);
    EXPECT_EQ(interpreter.heap().live_objects(), 1U);  // only the class is left
}

using HeapDeathTest = ::testing::Test;

TEST_F(HeapDeathTest, AllocatingWithoutAnInterpreterIsFatalAndSaysSo) {
    EXPECT_DEATH((void)make<List>(), "no interpreter on this thread");
}

TEST_F(HeapDeathTest, ARefThatOutlivesItsInterpreterIsFatalAndSaysSo) {
    EXPECT_DEATH(
        {
            auto* interpreter = new Interpreter;
            Ref<Str> kept = make<Str>("kept");
            delete interpreter;
        },
        "1 object\\(s\\) outlived their interpreter");
}

TEST(Heap, ObjectsAreAllocatedFromObmallocInTheirSizeClass) {
    Interpreter interpreter;
    const std::size_t blocks_before = interpreter.allocator().stats().blocks_in_use;
    Ref<Int> big = Int::from(1'000'000);
    Ref<List> list = make<List>();
    const Obmalloc::Stats stats = interpreter.allocator().stats();
    EXPECT_EQ(stats.blocks_in_use, blocks_before + 2);
    EXPECT_EQ(Obmalloc::block_size(Obmalloc::size_class_of(sizeof(Int))), 32U);   // CPython: 28 -> 32
    EXPECT_EQ(Obmalloc::block_size(Obmalloc::size_class_of(sizeof(List))), 64U);  // CPython: 56 -> 64
    EXPECT_EQ(sizeof(Object), 16U);       // a PyObject: ob_refcnt and ob_type
    EXPECT_EQ(sizeof(PlainObject), 16U);  // object(): the 16-byte size class
    big.reset();
    list.reset();
    // The list's block went back; the int's is kept on the ints' freelist.
    EXPECT_EQ(interpreter.allocator().stats().blocks_in_use, blocks_before + 1);
}

TEST(Heap, FreedIntsAreKeptOnAFreelistOfAHundred) {
    Interpreter interpreter;
    Ref<Int> first = Int::from(1'000'000);
    const Int* block = first.get();
    first.reset();
    EXPECT_EQ(Heap::current().ints_kept(), 1U);
    const Ref<Int> next = Int::from(2'000'000);  // born in the block the last one left
    EXPECT_EQ(next.get(), block);
    EXPECT_EQ(next->value(), 2'000'000);
    EXPECT_EQ(Heap::current().ints_kept(), 0U);

    std::vector<Ref<Int>> many;
    for (int i = 0; i < 150; ++i) many.push_back(Int::from(1'000 + i));
    const std::size_t blocks_with_all = interpreter.allocator().stats().blocks_in_use;
    many.clear();
    EXPECT_EQ(Heap::current().ints_kept(), 100U);  // Py_ints_MAXFREELIST
    EXPECT_EQ(interpreter.allocator().stats().blocks_in_use, blocks_with_all - 50);
}
