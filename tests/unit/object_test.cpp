// Ref<T> is Py_INCREF/Py_DECREF: these tests pin down when counts move and
// when an object is freed.
#include "pyconc/runtime/object.hpp"

#include <gtest/gtest.h>

#include "counted.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/types.hpp"

using namespace pyconc::runtime;
using pyconc::testing::Census;
using pyconc::testing::Counted;

TEST(Ref, NewObjectStartsWithCountOneHeldByItsRef) {
    Interpreter interpreter;
    Census census;
    Ref<Counted> object = make<Counted>(census);
    EXPECT_EQ(refcount(object), 1);
    EXPECT_EQ(census.alive(), 1);
}

TEST(Ref, CopyIncrementsAndDestroyingTheCopyDecrements) {
    Interpreter interpreter;
    Census census;
    Ref<Counted> a = make<Counted>(census);
    {
        Ref<Counted> b = a;  // NOLINT(performance-unnecessary-copy-initialization): b = a is the point
        EXPECT_EQ(refcount(a), 2);
        EXPECT_EQ(b, a);
    }
    EXPECT_EQ(refcount(a), 1);
}

TEST(Ref, MoveTransfersTheReferenceWithoutTouchingTheCount) {
    Interpreter interpreter;
    Census census;
    Ref<Counted> a = make<Counted>(census);
    Ref<Counted> b = std::move(a);
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): checking the moved-from state is the point
    EXPECT_EQ(refcount(b), 1);
}

TEST(Ref, ObjectIsFreedInsideTheResetThatDropsTheLastReference) {
    Interpreter interpreter;
    Census census;
    Ref<Counted> a = make<Counted>(census);
    Ref<Counted> b = a;
    b.reset();
    EXPECT_EQ(census.died, 0);
    a.reset();
    EXPECT_EQ(census.died, 1);
    EXPECT_EQ(interpreter.heap().live_objects(), 0U);
}

TEST(Ref, AssignmentTakesTheNewReferenceBeforeReleasingTheOld) {
    Interpreter interpreter;
    Census census;
    Ref<Counted> a = make<Counted>(census);
    Ref<Counted> alias = a;
    Ref<Counted>& same = alias;
    alias = same;  // self-assignment must not free: the count goes 2 -> 3 -> 2
    EXPECT_EQ(refcount(a), 2);
    alias = make<Counted>(census);
    EXPECT_EQ(refcount(a), 1);
    EXPECT_EQ(census.alive(), 2);
}

TEST(Ref, ConvertsToARefOfABaseTypeSharingTheCount) {
    Interpreter interpreter;
    Census census;
    Ref<Counted> derived = make<Counted>(census);
    Ref<Object> base = derived;
    EXPECT_EQ(refcount(derived), 2);
    Ref<Object> moved = std::move(derived);
    EXPECT_EQ(refcount(base), 2);
}

TEST(Ref, NewRefFromABorrowedPointerAddsOneReference) {
    Interpreter interpreter;
    Census census;
    Ref<Counted> owner = make<Counted>(census);
    Counted& borrowed = *owner;
    Ref<Counted> second = Ref<Counted>::new_ref(borrowed);
    EXPECT_EQ(refcount(owner), 2);
}

TEST(Ref, ImmortalObjectsReportCPython312sCountAndNeverChange) {
    Interpreter interpreter;
    Ref<Int> zero = Int::from(0);
    EXPECT_TRUE(zero->is_immortal());
    EXPECT_EQ(refcount(zero), 4294967295);
    {
        std::vector<Ref<Int>> many(1000, zero);
        EXPECT_EQ(refcount(zero), 4294967295);
    }
    EXPECT_EQ(refcount(zero), immortal_refcount);
}

using RefDeathTest = ::testing::Test;

TEST_F(RefDeathTest, DereferencingAnEmptyRefIsFatalAndSaysSo) {
    Ref<Int> empty;
    EXPECT_DEATH((void)empty->value(), "dereferenced an empty reference");
}

TEST_F(RefDeathTest, DecrefBelowZeroIsFatalAndSaysSoInDebugBuilds) {
#ifdef NDEBUG
    GTEST_SKIP() << "the check is a debug-build check (Py_REF_DEBUG), as in CPython";
#endif
    EXPECT_DEATH(
        {
            Interpreter interpreter;
            Census census;
            Ref<Counted> a = make<Counted>(census);
            // A miscounted self-reference: held without its incref. Freeing
            // `a` drops it once more than it was taken.
            a->hold(Ref<Object>::steal(a.get()));
            a.reset();
        },
        "reference count of a freed or freeing object went below zero");
}

TEST_F(RefDeathTest, UsingAFreedObjectThroughARefIsFatalInDebugBuilds) {
#ifdef NDEBUG
    GTEST_SKIP() << "the check is a debug-build check";
#endif
    EXPECT_DEATH(
        {
            Interpreter interpreter;
            Ref<List> a = make<List>();
            Ref<List> b = Ref<List>::steal(a.get());  // a second owner of one reference
            b.reset();                                // frees it: `a` now dangles
            (void)a->size();
        },
        "use of a freed object|AddressSanitizer: use-after-poison|does not point to an object");
}
