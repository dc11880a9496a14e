// A randomised check of the collector against an independent reachability
// computation. Thousands of random object graphs of lists, instances and
// test nodes: random edges (self-loops and cycles included), random names
// kept or dropped, some finalizers that resurrect their object. After gc.collect(), exactly the objects that
// nothing outside reaches are gone, nothing reachable was freed (ASan would
// catch a use of it), collect() returns how many it freed, and at the end
// every object is freed.
//
// PYCONC_PROPERTY_SEED=N runs other graphs; a failure names its seed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/types.hpp"

using namespace pyconc::runtime;

namespace {

struct World;

// A container whose life the test follows by id.
class Node final : public Container {
public:
    [[nodiscard]] std::string_view type_name() const noexcept override { return "Node"; }
    void hold(Ref<Object> other) { edges_.push_back(std::move(other)); }
    void traverse(Visitor& visit) override {
        for (const auto& edge : edges_) visit.visit(*edge);
    }
    void clear() override {
        auto edges = std::move(edges_);
        edges_.clear();
    }
    [[nodiscard]] bool has_finalizer() const noexcept override { return resurrects_; }
    void finalize() override;
    ~Node() override;

private:
    friend class pyconc::runtime::Heap;
    Node(World& world, std::size_t id, bool resurrects) : world_(world), id_(id), resurrects_(resurrects) {}

    World& world_;
    std::size_t id_;
    bool resurrects_;
    std::vector<Ref<Object>> edges_;
};

// Held by a list or an instance of the graph: its destructor tells the test
// that its holder was freed. Not a container, as an int is not.
class Tracker final : public Object {
public:
    [[nodiscard]] std::string_view type_name() const noexcept override { return "Tracker"; }
    ~Tracker() override;

private:
    friend class pyconc::runtime::Heap;
    Tracker(World& world, std::size_t id) : world_(world), id_(id) {}

    World& world_;
    std::size_t id_;
};

// The test's own record of the graph, kept apart from the model's.
struct World {
    std::vector<std::vector<std::size_t>> edges;  // node -> the nodes it holds
    std::vector<bool> resurrects;                 // its finalizer saves it
    std::vector<bool> alive;
    std::vector<bool> finalized;
    std::vector<Ref<Node>> saved;  // where resurrecting finalizers put their object
    std::vector<std::size_t> saved_ids;
};

void Node::finalize() {
    world_.finalized[id_] = true;
    world_.saved.push_back(Ref<Node>::new_ref(*this));
    world_.saved_ids.push_back(id_);
}

Node::~Node() {
    world_.alive[id_] = false;
}
Tracker::~Tracker() {
    world_.alive[id_] = false;
}

// Every live node reachable from `roots` along the recorded edges.
std::vector<bool> reachable_from(const World& world, const std::vector<std::size_t>& roots) {
    std::vector<bool> seen(world.edges.size(), false);
    std::vector<std::size_t> stack;
    for (std::size_t root : roots) {
        if (world.alive[root] && !seen[root]) {
            seen[root] = true;
            stack.push_back(root);
        }
    }
    while (!stack.empty()) {
        const std::size_t node = stack.back();
        stack.pop_back();
        for (std::size_t next : world.edges[node]) {
            if (!seen[next]) {
                seen[next] = true;
                stack.push_back(next);
            }
        }
    }
    return seen;
}

std::uint64_t base_seed() {
    const char* text = std::getenv("PYCONC_PROPERTY_SEED");  // NOLINT(concurrency-mt-unsafe): one thread
    return text ? std::strtoull(text, nullptr, 10) : 20261126;
}

void check_one_graph(std::uint64_t seed) {
    SCOPED_TRACE("graph seed " + std::to_string(seed));
    std::mt19937_64 random(seed);
    auto below = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random); };

    Interpreter interpreter;
    World world;
    const std::size_t size = 1 + below(40);
    {
        world.edges.resize(size);
        world.alive.assign(size, true);
        world.finalized.assign(size, false);
        world.resurrects.assign(size, false);
        // Three kinds of node: a test Node (traversed always, may resurrect),
        // a list and an instance (which keep count of the containers they
        // hold, so that the collector may skip them).
        const Ref<Class> Thing = make<Class>("Thing");
        std::vector<Ref<Container>> names;
        std::vector<std::function<void(const Ref<Container>&)>> connect;
        for (std::size_t id = 0; id < size; ++id) {
            switch (below(3)) {
                case 0: {
                    world.resurrects[id] = below(4) == 0;
                    Ref<Node> node = make<Node>(world, id, world.resurrects[id]);
                    connect.emplace_back([raw = node.get()](const Ref<Container>& to) { raw->hold(to); });
                    names.emplace_back(std::move(node));
                    break;
                }
                case 1: {
                    Ref<List> list = make<List>(make<Tracker>(world, id));
                    connect.emplace_back([raw = list.get()](const Ref<Container>& to) { raw->append(to); });
                    names.emplace_back(std::move(list));
                    break;
                }
                default: {
                    Ref<Instance> thing = new_instance(Thing);
                    thing->setattr("tracker", make<Tracker>(world, id));
                    connect.emplace_back([raw = thing.get(), n = 0](const Ref<Container>& to) mutable {
                        raw->setattr("edge" + std::to_string(n++), to);
                    });
                    names.emplace_back(std::move(thing));
                }
            }
        }
        for (std::size_t id = 0; id < size; ++id) {
            const std::size_t degree = below(4);
            for (std::size_t e = 0; e < degree; ++e) {
                const std::size_t to = below(size);
                connect[id](names[to]);
                world.edges[id].push_back(to);
            }
        }
        connect.clear();
        // Keep a few names as the outside references; drop the rest in a
        // random order: refcounting frees what no cycle holds.
        std::vector<std::size_t> kept;
        std::vector<Ref<Container>> outside;
        for (std::size_t id = 0; id < size; ++id) {
            if (below(4) == 0) {
                kept.push_back(id);
                outside.push_back(names[id]);
            }
        }
        std::shuffle(names.begin(), names.end(), random);
        for (Ref<Container>& name : names) name.reset();

        // The expectation, from the record alone: the roots are the kept names
        // and what finalizers saved so far; an unreachable node whose
        // finalizer has yet to run resurrects itself and all it reaches.
        std::vector<std::size_t> roots = kept;
        roots.insert(roots.end(), world.saved_ids.begin(), world.saved_ids.end());
        const std::vector<bool> reachable = reachable_from(world, roots);
        std::vector<std::size_t> resurrecting;
        for (std::size_t id = 0; id < size; ++id) {
            if (world.alive[id] && !reachable[id] && world.resurrects[id] && !world.finalized[id]) {
                resurrecting.push_back(id);
            }
        }
        const std::vector<bool> resurrected = reachable_from(world, resurrecting);
        std::vector<bool> expected_alive(size, false);
        std::size_t expected_collected = 0;
        for (std::size_t id = 0; id < size; ++id) {
            if (!world.alive[id]) continue;
            expected_alive[id] = reachable[id] || resurrected[id];
            if (!expected_alive[id]) ++expected_collected;
        }

        EXPECT_EQ(interpreter.gc().collect(), expected_collected);
        for (std::size_t id = 0; id < size; ++id) {
            ASSERT_EQ(world.alive[id], expected_alive[id]) << "node " << id << " of " << size;
        }
        // Everything still alive is intact: walk it through the model.
        for (const Ref<Container>& node : outside) EXPECT_GE(refcount(node), 1);
    }
    // Drop the outside names and the saved ones: all must go. Each round may
    // finalize (and so save) more nodes, but each node at most once.
    interpreter.gc().collect();
    for (std::size_t round = 0; round <= size && !world.saved.empty(); ++round) {
        std::vector<Ref<Node>> dropping = std::move(world.saved);
        world.saved.clear();
        dropping.clear();
        interpreter.gc().collect();
    }
    EXPECT_TRUE(world.saved.empty());
    for (std::size_t id = 0; id < size; ++id) ASSERT_FALSE(world.alive[id]) << "node " << id << " leaked";
    EXPECT_EQ(interpreter.heap().live_objects(), 0U);
}

}  // namespace

TEST(GcProperty, ExactlyTheObjectsNothingOutsideReachesAreCollected) {
    const std::uint64_t seed = base_seed();
    SCOPED_TRACE("PYCONC_PROPERTY_SEED=" + std::to_string(seed));
    for (std::uint64_t graph = 0; graph < 3'000; ++graph) {
        check_one_graph(seed + graph);
        if (HasFatalFailure() || HasFailure()) return;
    }
}
