#pragma once
// Biased reference counting (PEP 703; CPython 3.13t's Objects/object.c and
// Python/brc.c): the free-threaded mode's reference counts.
//
// How this works
// - Most objects are only ever touched by the thread that made them. So each
//   object made in the free-threaded mode has an owner (`Object::owner()`,
//   ob_tid), and the owner counts in the object's own field with plain
//   increments (ob_ref_local): no atomics, as cheap as with the GIL. Any
//   other thread counts in a shared count under a lock (ob_ref_shared,
//   which CPython changes with atomics). The object is garbage when the two
//   add up to 0.
// - The owner's local count reaching 0 is a merge (_Py_MergeZeroLocalRefcount):
//   with no shared count the object is freed at once; otherwise the owner
//   gives the object up (owner `merged`), and from then on the shared
//   count is the whole count, freed by whoever takes it to 0.
// - Another thread taking the shared count below 0 (it dropped a reference
//   the owner's count still holds: the owner stored the object somewhere,
//   the other thread took it out) cannot tell whether the object is garbage
//   without reading the owner's count, which only the owner may. It queues
//   the object for the owner (_Py_brc_queue_object) and sets the owner's
//   eval breaker; the owner merges its queue at its next check point. If
//   the owner has exited, the thread merges it there and then.
// - A queued object is freed only by the merge of its queue entry, so the
//   queue never holds a dangling pointer.
// - The shared counts live in a striped table beside the heap rather than
//   in the header: the model keeps the 16-byte header of the GIL build
//   (CPython 3.13t's header is 32 bytes, for ob_tid, ob_ref_local and
//   ob_ref_shared). Only objects another thread has touched have an entry.
// - Owner ids are small numbers, reused after their thread exits, as
//   CPython's ob_tid values are: a new owner simply inherits the local counts.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pyconc/runtime/detail/object.hpp"
#include "pyconc/runtime/fatal.hpp"

namespace pyconc::runtime {

class BiasedRefcounts {
public:
    using OwnerId = detail::OwnerId;

    // One table for the process: objects have one address space.
    static BiasedRefcounts& instance() {
        static BiasedRefcounts table;
        return table;
    }

    // A thread starts running free-threaded code: its owner id, and the
    // eval breaker its merges are requested through.
    OwnerId register_owner(std::atomic<bool>& eval_breaker) {
        const std::lock_guard lock{owners_mutex_};
        OwnerId id = detail::unowned;
        for (std::size_t i = 1; i < owners_.size(); ++i) {
            if (!owners_[i].alive) {
                id = static_cast<OwnerId>(i);
                break;
            }
        }
        if (id == detail::unowned) {
            if (owners_.empty()) owners_.emplace_back();  // id 0 is `unowned`
            if (owners_.size() > detail::largest_owner)
                fatal("biased refcounts", "more than 65534 threads at once");
            id = static_cast<OwnerId>(owners_.size());
            owners_.emplace_back();
        }
        owners_[id] = Owner{true, {}, &eval_breaker};
        return id;
    }

    // The thread is done: it merges what was queued for it; objects it
    // still owns are merged by whoever next takes their shared count below 0.
    void unregister_owner(OwnerId id) {
        while (true) {
            std::vector<Object*> queued;
            {
                const std::lock_guard lock{owners_mutex_};
                Owner& owner = owners_.at(id);
                if (owner.queue.empty()) {
                    owner = Owner{};  // not alive: other threads merge its objects themselves
                    return;
                }
                queued.swap(owner.queue);
            }
            for (Object* op : queued) merge_queued_object(*op);  // may queue more
        }
    }

    // _Py_brc_merge_refcounts: the owner merges the objects queued for it.
    void merge_queued(OwnerId id) {
        std::vector<Object*> queued;
        {
            const std::lock_guard lock{owners_mutex_};
            queued.swap(owners_.at(id).queue);
        }
        for (Object* op : queued) merge_queued_object(*op);
    }

    // --- the counting paths (object.hpp calls them) -----------------------------

    void incref_shared(Object& op) noexcept {
        Stripe& stripe = stripe_of(op);
        const std::lock_guard lock{stripe.mutex};
        entry(stripe, op).count += 1;
    }

    void decref_shared(Object& op) noexcept {
        Stripe& stripe = stripe_of(op);
        std::unique_lock lock{stripe.mutex};
        Shared& shared = entry(stripe, op);
        shared.count -= 1;
        const OwnerId owner_id = op.owner();
        if (owner_id == detail::merged) {
            if (shared.count < 0) fatal("Py_DECREF", "shared reference count went below zero");
            if (shared.count == 0 && !shared.queued) {
                stripe.counts.erase(&op);
                lock.unlock();
                detail::dealloc(op);
            }
            return;
        }
        if (shared.count >= 0 || shared.queued) return;
        // Below 0 while an owner still counts: only the owner can tell.
        shared.queued = true;
        if (queue_for_owner(owner_id, op)) return;
        // The owner has exited: merge here (brc.c does the same).
        shared.queued = false;
        const std::int64_t total = merge_locked(op, shared);
        if (total == 0) {
            stripe.counts.erase(&op);
            lock.unlock();
            detail::dealloc(op);
        }
    }

    // The owner's local count reached 0.
    void merge_zero_local(Object& op) noexcept {
        // No other thread ever counted it (the common case): no lock, no
        // table, as CPython's one atomic load of ob_ref_shared.
        if ((op.owner_.load(std::memory_order_acquire) & detail::shared_flag) == 0) {
            detail::dealloc(op);
            return;
        }
        Stripe& stripe = stripe_of(op);
        std::unique_lock lock{stripe.mutex};
        const auto found = stripe.counts.find(&op);
        if (found == stripe.counts.end()) {  // nobody else ever counted: free at once
            lock.unlock();
            detail::dealloc(op);  // still owned: a finalizer's incref here stays local
            return;
        }
        Shared& shared = found->second;
        op.owner_.fetch_or(detail::merged, std::memory_order_relaxed);  // give up ownership
        if (shared.count < 0 && !shared.queued) fatal("merge", "reference counts that add up below zero");
        if (shared.count == 0 && !shared.queued) {
            stripe.counts.erase(found);
            lock.unlock();
            detail::dealloc(op);
        }
    }

    // An object made by a thread that owns nothing (not attached as a
    // free-threaded thread): it starts merged, its one reference shared.
    void born_shared(Object& op) {
        op.refcnt_ = 0;
        op.owner_.fetch_or(detail::merged, std::memory_order_relaxed);
        Stripe& stripe = stripe_of(op);
        const std::lock_guard lock{stripe.mutex};
        entry(stripe, op).count = 1;
    }

    // local + shared. Exact when the owner is this thread, has exited, or
    // is stopped (a collection stops the world first).
    [[nodiscard]] std::int64_t total(const Object& op) noexcept {
        Stripe& stripe = stripe_of(op);
        const std::lock_guard lock{stripe.mutex};
        const auto found = stripe.counts.find(&op);
        const std::int64_t shared = found == stripe.counts.end() ? 0 : found->second.count;
        return op.owner() == detail::merged ? shared : op.refcnt_ + shared;
    }

    // Objects with a shared count now (for tests and the lesson).
    [[nodiscard]] std::size_t shared_entries() {
        std::size_t entries = 0;
        for (Stripe& stripe : stripes_) {
            const std::lock_guard lock{stripe.mutex};
            entries += stripe.counts.size();
        }
        return entries;
    }

private:
    struct Shared {
        std::int64_t count = 0;
        bool queued = false;  // on its owner's queue: only that merge may free it
    };
    struct Stripe {
        std::mutex mutex;
        std::unordered_map<const Object*, Shared> counts;
    };
    struct Owner {
        bool alive = false;
        std::vector<Object*> queue;
        std::atomic<bool>* eval_breaker = nullptr;
    };
    static constexpr std::size_t stripe_count = 64;

    BiasedRefcounts() = default;

    Stripe& stripe_of(const Object& op) noexcept {
        return stripes_[(std::hash<const Object*>{}(&op) >> 4U) % stripe_count];
    }

    // op's shared count (made at 0 if it has none), under the stripe's lock.
    static Shared& entry(Stripe& stripe, Object& op) {
        const auto [where, made] = stripe.counts.try_emplace(&op);
        if (made) op.owner_.fetch_or(detail::shared_flag, std::memory_order_release);
        return where->second;
    }

    // False when the owner is not running any more.
    bool queue_for_owner(OwnerId id, Object& op) {
        const std::lock_guard lock{owners_mutex_};
        if (id >= owners_.size() || !owners_[id].alive) return false;
        owners_[id].queue.push_back(&op);
        owners_[id].eval_breaker->store(true, std::memory_order_relaxed);
        return true;
    }

    // The merge itself, under the stripe's lock: the shared count becomes
    // the whole count. Returns it.
    static std::int64_t merge_locked(Object& op, Shared& shared) noexcept {
        if (op.owner() != detail::merged) {
            shared.count += op.refcnt_;
            op.refcnt_ = 0;
            op.owner_.fetch_or(detail::merged, std::memory_order_relaxed);
        }
        if (shared.count < 0) fatal("merge", "reference counts that add up below zero");
        return shared.count;
    }

    void merge_queued_object(Object& op) noexcept {
        Stripe& stripe = stripe_of(op);
        std::unique_lock lock{stripe.mutex};
        Shared& shared = entry(stripe, op);
        shared.queued = false;
        if (merge_locked(op, shared) == 0) {
            stripe.counts.erase(&op);
            lock.unlock();
            detail::dealloc(op);
        }
    }

    std::array<Stripe, stripe_count> stripes_;
    std::mutex owners_mutex_;
    std::vector<Owner> owners_;
};

namespace detail {
inline void shared_incref(Object& op) noexcept {
    BiasedRefcounts::instance().incref_shared(op);
}
inline void shared_decref(Object& op) noexcept {
    BiasedRefcounts::instance().decref_shared(op);
}
inline void merge_zero_local(Object& op) noexcept {
    BiasedRefcounts::instance().merge_zero_local(op);
}
inline std::int64_t biased_total(const Object& op) noexcept {
    return BiasedRefcounts::instance().total(op);
}
}  // namespace detail

}  // namespace pyconc::runtime

// What a decref to 0 calls (detail::dealloc) is defined with the heap, which
// needs this header's body complete: so it comes after it.
#include "pyconc/runtime/heap.hpp"  // IWYU pragma: export
