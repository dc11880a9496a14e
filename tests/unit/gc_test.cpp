// The cyclic collector: CPython's own reference cases (Lib/test/test_gc.py)
// with the numbers gc.collect() gives there, and the generation rules.
#include "pyconc/runtime/gc.hpp"

#include <array>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "counted.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/types.hpp"

using namespace pyconc::runtime;
using pyconc::testing::Census;
using pyconc::testing::Counted;
using Counts = std::array<std::size_t, 3>;

namespace {

// Tests that pin exact counts cannot hold when every allocation collects.
#ifdef PYCONC_GC_STRESS
#define SKIP_UNDER_GC_STRESS() GTEST_SKIP() << "PYCONC_GC_STRESS collects at every allocation"
#else
#define SKIP_UNDER_GC_STRESS() (void)0
#endif

}  // namespace

// test_list: l = []; l.append(l); del l
TEST(Gc, ASelfReferencingListIsOneUnreachableObject) {
    Interpreter interpreter;
    interpreter.gc().collect();
    Ref<List> l = make<List>();
    l->append(l);
    l.reset();
    EXPECT_EQ(interpreter.gc().collect(), 1U);
    EXPECT_EQ(interpreter.heap().live_objects(), 0U);
}

// test_dict: d = {}; d[1] = d; del d
TEST(Gc, ADictWhoseValueIsItselfIsOneUnreachableObject) {
    Interpreter interpreter;
    interpreter.gc().collect();
    Ref<Dict> d = make<Dict>();
    EXPECT_FALSE(d->is_tracked());  // an empty dict is not tracked
    d->set(Int::from(1), d);
    EXPECT_TRUE(d->is_tracked());  // it holds a container now
    d.reset();
    EXPECT_EQ(interpreter.gc().collect(), 1U);
    EXPECT_EQ(interpreter.heap().live_objects(), 0U);
}

// test_tuple: l = []; t = (l,); l.append(t); del t; del l
TEST(Gc, AListAndATupleThatHoldEachOtherAreTwoUnreachableObjects) {
    Interpreter interpreter;
    interpreter.gc().collect();
    Ref<List> l = make<List>();
    Ref<Tuple> t = make<Tuple>(l);
    l->append(t);
    t.reset();
    l.reset();
    EXPECT_EQ(interpreter.gc().collect(), 2U);
    EXPECT_EQ(interpreter.heap().live_objects(), 0U);
}

// a = A(); b = A(); a.b = b; b.a = a; del a, b
TEST(Gc, TwoInstancesPointingAtEachOtherAreTwoUnreachableObjects) {
    Interpreter interpreter;
    Ref<Class> A = make<Class>("A");
    interpreter.gc().collect();
    Ref<Instance> a = new_instance(A);
    Ref<Instance> b = new_instance(A);
    a->setattr("b", b);
    b->setattr("a", a);
    a.reset();
    b.reset();
    EXPECT_EQ(interpreter.gc().collect(), 2U);
    EXPECT_EQ(refcount(A), 1);  // the instances' references to their class went with them
}

TEST(Gc, ObjectsReachableFromOutsideSurviveWithEverythingTheyReach) {
    Interpreter interpreter;
    Census census;
    Ref<Counted> root = make<Counted>(census);
    {
        Ref<Counted> a = make<Counted>(census);
        Ref<Counted> b = make<Counted>(census);
        a->hold(b);
        b->hold(a);     // a cycle ...
        root->hold(a);  // ... that root, held from outside, reaches
    }
    EXPECT_EQ(interpreter.gc().collect(), 0U);
    EXPECT_EQ(census.alive(), 3);
    root.reset();  // root goes by refcount; its cycle stays for the collector
    EXPECT_EQ(census.alive(), 2);
    EXPECT_EQ(interpreter.gc().collect(), 2U);
    EXPECT_EQ(census.alive(), 0);
}

// test_get_count: the model has no interpreter noise, so the counts are exact.
TEST(Gc, GetCountAfterCollectThenOneNewListIsOneZeroZero) {
    SKIP_UNDER_GC_STRESS();
    Interpreter interpreter;
    interpreter.gc().collect();
    EXPECT_EQ(interpreter.gc().get_count(), (Counts{0, 0, 0}));
    Ref<List> x = make<List>();
    EXPECT_EQ(interpreter.gc().get_count(), (Counts{1, 0, 0}));
}

// test_collect_generations: x trickles up one generation per collection.
TEST(Gc, CollectingAGenerationMovesTheCountsAsCPythonsTestExpects) {
    SKIP_UNDER_GC_STRESS();
    Interpreter interpreter;
    Gc& gc = interpreter.gc();
    gc.collect();
    Ref<List> x = make<List>();
    gc.collect(0);
    EXPECT_EQ(gc.get_count(), (Counts{0, 1, 0}));
    EXPECT_EQ(gc.objects_in(1), 1U);
    gc.collect(1);
    EXPECT_EQ(gc.get_count(), (Counts{0, 0, 1}));
    EXPECT_EQ(gc.objects_in(2), 1U);
    gc.collect(2);
    EXPECT_EQ(gc.get_count(), (Counts{0, 0, 0}));
    EXPECT_EQ(gc.objects_in(2), 1U);
}

TEST(Gc, CountGoesDownWhenAContainerIsFreedButNeverBelowZero) {
    SKIP_UNDER_GC_STRESS();
    Interpreter interpreter;
    Gc& gc = interpreter.gc();
    Ref<List> a = make<List>();
    Ref<List> b = make<List>();
    EXPECT_EQ(gc.get_count()[0], 2U);
    a.reset();
    EXPECT_EQ(gc.get_count()[0], 1U);
    gc.collect();
    b.reset();  // count[0] is 0 already
    EXPECT_EQ(gc.get_count()[0], 0U);
}

TEST(Gc, DefaultThresholdsAreCPythons) {
    Interpreter interpreter;
    EXPECT_EQ(interpreter.gc().get_threshold(), (std::array<int, 3>{700, 10, 10}));
    EXPECT_TRUE(interpreter.gc().is_enabled());
}

TEST(Gc, TheSevenHundredAndFirstContainerTriggersAGenerationZeroCollection) {
    SKIP_UNDER_GC_STRESS();
    Interpreter interpreter;
    Gc& gc = interpreter.gc();
    gc.collect();
    const std::size_t full_collections = gc.get_stats()[2].collections;
    std::vector<Ref<List>> keep;
    for (int i = 0; i < 700; ++i) keep.push_back(make<List>());
    EXPECT_EQ(gc.get_stats()[0].collections, 0U);
    EXPECT_EQ(gc.get_count()[0], 700U);
    keep.push_back(make<List>());  // count 701 > 700: a collection, before this one is tracked
    EXPECT_EQ(gc.get_stats()[0].collections, 1U);
    EXPECT_EQ(gc.get_count(), (Counts{0, 1, 0}));  // the collection zeroed count[0], 701 included
    EXPECT_EQ(gc.objects_in(1), 700U);
    EXPECT_EQ(gc.get_stats()[2].collections, full_collections);
}

TEST(Gc, EveryEleventhGenerationZeroCollectionIsAGenerationOneCollection) {
    SKIP_UNDER_GC_STRESS();
    Interpreter interpreter;
    Gc& gc = interpreter.gc();
    gc.collect();
    std::vector<Ref<List>> keep;
    // count[1] must exceed 10: the 12th trigger collects generation 1.
    for (int i = 0; i < 12 * 701; ++i) keep.push_back(make<List>());
    EXPECT_EQ(gc.get_stats()[0].collections, 11U);
    EXPECT_EQ(gc.get_stats()[1].collections, 1U);
}

TEST(Gc, TheOldestGenerationWaitsUntilAQuarterOfTheLongLivedObjectsAreNew) {
    SKIP_UNDER_GC_STRESS();
    Interpreter interpreter;
    Gc& gc = interpreter.gc();
    std::vector<Ref<List>> keep;
    for (int i = 0; i < 40'000; ++i) keep.push_back(make<List>());
    gc.collect();  // long_lived_total = 40,000
    const std::size_t full_before = gc.get_stats()[2].collections;
    // Cyclic garbage: count[0] grows, the young collections free it, and
    // more than 11 middle collections push count[2] past 10, but they move
    // nothing into generation 2: pending stays below 40,000 / 4.
    for (int i = 0; i < 200'000; ++i) {
        Ref<List> l = make<List>();
        l->append(l);
    }
    EXPECT_GT(gc.get_stats()[1].collections, 11U);
    EXPECT_GT(gc.get_count()[2], 10U);
    EXPECT_EQ(gc.get_stats()[2].collections, full_before);
    // Survivors: once 10,000 of them reach generation 2, a full collection.
    for (int i = 0; i < 30'000; ++i) keep.push_back(make<List>());
    EXPECT_GT(gc.get_stats()[2].collections, full_before);
}

TEST(Gc, DisableStopsAutomaticCollectionsButNotCollect) {
    SKIP_UNDER_GC_STRESS();
    Interpreter interpreter;
    Gc& gc = interpreter.gc();
    gc.disable();
    EXPECT_FALSE(gc.is_enabled());
    {
        std::vector<Ref<List>> junk;
        for (int i = 0; i < 5'000; ++i) junk.push_back(make<List>());
    }
    EXPECT_EQ(gc.get_stats()[0].collections, 0U);
    Ref<List> l = make<List>();
    l->append(l);
    l.reset();
    EXPECT_EQ(gc.collect(), 1U);
    gc.enable();
}

TEST(Gc, ThresholdZeroDisablesAutomaticCollection) {
    SKIP_UNDER_GC_STRESS();
    Interpreter interpreter;
    Gc& gc = interpreter.gc();
    gc.set_threshold(0, 10, 10);
    std::vector<Ref<List>> keep;
    for (int i = 0; i < 2'000; ++i) keep.push_back(make<List>());
    EXPECT_EQ(gc.get_stats()[0].collections, 0U);
}

TEST(Gc, CallbacksSeeStartAndStopWithTheGenerationAndWhatWasCollected) {
    Interpreter interpreter;
    Gc& gc = interpreter.gc();
    Ref<List> l = make<List>();
    l->append(l);
    l.reset();
    std::vector<std::pair<Gc::Phase, Gc::CallbackInfo>> events;
    gc.add_callback([&](Gc::Phase phase, const Gc::CallbackInfo& info) { events.emplace_back(phase, info); });
    gc.collect(2);
    gc.clear_callbacks();
    ASSERT_EQ(events.size(), 2U);
    EXPECT_EQ(events[0].first, Gc::Phase::start);
    EXPECT_EQ(events[0].second.generation, 2);
    EXPECT_EQ(events[1].first, Gc::Phase::stop);
    EXPECT_EQ(events[1].second.generation, 2);
    EXPECT_EQ(events[1].second.collected, 1U);
    EXPECT_EQ(events[1].second.uncollectable, 0U);
    EXPECT_GE(gc.get_stats()[2].collected, 1U);
    gc.collect();
    EXPECT_EQ(events.size(), 2U);  // cleared: no more calls
}

TEST(Gc, FrozenObjectsAreIgnoredUntilUnfrozen) {
    SKIP_UNDER_GC_STRESS();
    Interpreter interpreter;
    Gc& gc = interpreter.gc();
    Ref<List> l = make<List>();
    l->append(l);
    gc.freeze();
    EXPECT_EQ(gc.get_freeze_count(), 1U);
    EXPECT_EQ(gc.get_count(), (Counts{0, 0, 0}));
    l.reset();
    EXPECT_EQ(gc.collect(), 0U);  // garbage, but frozen
    gc.unfreeze();
    EXPECT_EQ(gc.get_freeze_count(), 0U);
    EXPECT_EQ(gc.collect(), 1U);
}

// test_resurrection_does_not_block_cleanup_of_other_objects, in small.
TEST(Gc, AFinalizerThatResurrectsItsObjectRunsOnceAndTheObjectSurvivesUntilDroppedAgain) {
    Interpreter interpreter;
    std::vector<Ref<Instance>> saved;
    int calls = 0;
    Ref<Class> Lazarus = make<Class>("Lazarus", [&](Instance& self) {
        ++calls;
        saved.push_back(Ref<Instance>::new_ref(self));
    });
    Ref<Instance> a = new_instance(Lazarus);
    a->setattr("self", a);  // a cycle of one
    a.reset();
    EXPECT_EQ(interpreter.gc().collect(), 0U);  // resurrected: not counted, not freed
    ASSERT_EQ(calls, 1);
    ASSERT_EQ(saved.size(), 1U);
    EXPECT_TRUE(saved[0]->is_finalized());
    EXPECT_EQ(saved[0]->getattr("self"), saved[0].get());  // intact
    saved.clear();                                         // garbage again, already finalized
    EXPECT_EQ(interpreter.gc().collect(), 1U);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(refcount(Lazarus), 1);
}

TEST(Gc, EveryFinalizerOfACycleRunsBeforeAnyOfItIsCleared) {
    Interpreter interpreter;
    std::vector<std::string> log;
    Ref<Class> Noisy = make<Class>("Noisy", [&](Instance& self) {
        // Still intact: its partner is there.
        log.emplace_back(self.getattr("other") ? "intact" : "cleared");
    });
    Ref<Instance> x = new_instance(Noisy);
    Ref<Instance> y = new_instance(Noisy);
    x->setattr("other", y);
    y->setattr("other", x);
    x.reset();
    y.reset();
    EXPECT_EQ(interpreter.gc().collect(), 2U);
    EXPECT_EQ(log, (std::vector<std::string>{"intact", "intact"}));
}

TEST(Gc, TuplesThatHoldNoContainerAreUntrackedByACollection) {
    Interpreter interpreter;
    Ref<Tuple> holder = make<Tuple>(make<List>());
    Ref<Tuple> numbers = make<Tuple>(Int::from(1), Int::from(1'000));
    EXPECT_TRUE(numbers->is_tracked());
    interpreter.gc().collect(0);
    EXPECT_FALSE(numbers->is_tracked());
    EXPECT_TRUE(holder->is_tracked());
}

TEST(Gc, DictsThatHoldNoContainerAreUntrackedOnlyByAFullCollection) {
    Interpreter interpreter;
    Ref<Dict> d = make<Dict>();
    d->set(make<Str>("k"), make<List>());
    d->set(make<Str>("k"), Int::from(1));  // the list goes; the dict stays tracked
    EXPECT_TRUE(d->is_tracked());
    interpreter.gc().collect(1);
    EXPECT_TRUE(d->is_tracked());
    interpreter.gc().collect(2);
    EXPECT_FALSE(d->is_tracked());
}

TEST(Gc, IntsAndStrsAreNeverTracked) {
    Interpreter interpreter;
    EXPECT_FALSE(Int::from(1'000'000)->is_gc());
    EXPECT_FALSE(make<Str>("s")->is_gc());
    EXPECT_TRUE(make<List>()->is_tracked());
}

TEST(Gc, EachCollectionRecordsItsPause) {
    Interpreter interpreter;
    Gc& gc = interpreter.gc();
    for (int i = 0; i < 1'000; ++i) {
        Ref<List> l = make<List>();
        l->append(l);
    }
    gc.collect();
    EXPECT_EQ(gc.get_stats()[2].collections, 1U);
    EXPECT_GT(gc.get_stats()[2].total_pause.count(), 0);
    EXPECT_GE(gc.get_stats()[2].longest_pause, gc.get_stats()[2].total_pause);
}

using GcDeathTest = ::testing::Test;

TEST_F(GcDeathTest, CollectingAGenerationThatDoesNotExistIsFatalAndSaysSo) {
    EXPECT_DEATH(
        {
            Interpreter interpreter;
            interpreter.gc().collect(3);
        },
        "invalid generation: expected 0, 1 or 2");
}
