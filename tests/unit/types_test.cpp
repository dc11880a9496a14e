// The built-in types: ints are immutable and small ones cached, containers
// hold, traverse and clear their references.
#include "pyconc/runtime/types.hpp"

#include <vector>

#include <gtest/gtest.h>

#include "counted.hpp"
#include "pyconc/runtime/interpreter.hpp"

using namespace pyconc::runtime;
using pyconc::testing::Census;
using pyconc::testing::Counted;

namespace {

// Collects what a traverse visits.
struct Recorder final : Visitor {
    std::vector<const Object*> seen;
    void visit(Object& referent) override { seen.push_back(&referent); }
};

}  // namespace

TEST(Int, SmallIntsFromMinus5To256AreOneCachedImmortalObjectEach) {
    Interpreter interpreter;
    for (std::int64_t v : {-5, 0, 1, 256}) {
        Ref<Int> first = Int::from(v);
        Ref<Int> second = Int::from(v);
        EXPECT_EQ(first, second) << v;
        EXPECT_TRUE(first->is_immortal()) << v;
    }
    EXPECT_EQ(interpreter.heap().live_objects(), 0U);
}

TEST(Int, IntsOutsideTheCacheAreNewObjectsEachTime) {
    Interpreter interpreter;
    for (std::int64_t v : {-6, 257, 1'000'000}) {
        Ref<Int> first = Int::from(v);
        Ref<Int> second = Int::from(v);
        EXPECT_FALSE(first == second) << v;
        EXPECT_EQ(refcount(first), 1) << v;
        EXPECT_EQ(first->value(), v);
    }
}

TEST(Int, AddingMakesANewIntAndLeavesTheOldOneAlone) {
    Interpreter interpreter;
    Ref<Int> counter = Int::from(1000);
    Ref<Int> before = counter;
    counter = Int::from(counter->value() + 1);  // counter += 1
    EXPECT_EQ(before->value(), 1000);
    EXPECT_EQ(counter->value(), 1001);
    EXPECT_FALSE(counter == before);
}

TEST(Int, IntsAndStrsAreNotContainers) {
    Interpreter interpreter;
    EXPECT_FALSE(Int::from(1'000'000)->is_gc());
    EXPECT_FALSE(make<Str>("s")->is_gc());
}

TEST(List, HoldsAReferenceToEachItemAndDropsThemWhenFreed) {
    Interpreter interpreter;
    Census census;
    Ref<Counted> item = make<Counted>(census);
    Ref<List> box = make<List>(item, item);
    EXPECT_EQ(refcount(item), 3);
    EXPECT_EQ(box->size(), 2U);
    box.reset();
    EXPECT_EQ(refcount(item), 1);
}

TEST(List, TraverseVisitsEveryItemAndClearDropsThem) {
    Interpreter interpreter;
    Census census;
    Ref<Counted> a = make<Counted>(census);
    Ref<Counted> b = make<Counted>(census);
    Ref<List> list = make<List>(a, b);
    list->append(Int::from(7));  // immortal: visited like any item
    Recorder recorder;
    list->traverse(recorder);
    ASSERT_EQ(recorder.seen.size(), 3U);
    EXPECT_EQ(recorder.seen[0], a.get());
    EXPECT_EQ(recorder.seen[1], b.get());
    list->clear();
    EXPECT_EQ(list->size(), 0U);
    EXPECT_EQ(refcount(a), 1);
    EXPECT_TRUE(list->is_tracked());
}

TEST(Instance, HoldsItsAttributesAndItsClass) {
    Interpreter interpreter;
    Ref<Class> Point = make<Class>("Point");
    Ref<Instance> p = new_instance(Point);
    EXPECT_EQ(refcount(Point), 2);
    Ref<Int> x = Int::from(1'000);
    p->setattr("x", x);
    EXPECT_EQ(refcount(x), 2);
    EXPECT_EQ(p->getattr("x"), x.get());
    EXPECT_EQ(p->getattr("y"), nullptr);
    EXPECT_EQ(p->type_name(), "Point");
    p->setattr("x", nullptr);  // p.x = None
    EXPECT_EQ(refcount(x), 1);
    Recorder recorder;
    p->traverse(recorder);
    EXPECT_EQ(recorder.seen, std::vector<const Object*>{Point.get()});
}

TEST(Instance, ClearDropsTheAttributesButKeepsTheClass) {
    Interpreter interpreter;
    Ref<Class> Node = make<Class>("Node");
    Ref<Instance> node = new_instance(Node);
    node->setattr("self", node);
    EXPECT_EQ(refcount(node), 2);
    node->clear();
    EXPECT_EQ(refcount(node), 1);
    EXPECT_EQ(node->type_name(), "Node");
}
