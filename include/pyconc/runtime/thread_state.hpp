#pragma once
// One model thread's eval loop (PyThreadState and the loop of Python/ceval.c).
//
// How this works
// - A model thread runs *instructions*: one method per modelled opcode
//   (`load_global`, `load_const`, `binary_add`, `store_global`,
//   `jump_backward`, `call`, `resume`, ...), working on a value stack of
//   model objects. Lesson code reads like the disassembly of the Python it
//   mirrors. Each instruction is counted.
// - After an instruction the interpreter's policy makes a *check point*
//   (`CheckPoints::py39`: every one; `py310`: RESUME, JUMP_BACKWARD, CALL,
//   as since bpo-29988 / gh-74174), the thread looks at the eval breaker: if
//   a drop request is pending it drops the GIL and takes it again
//   (ceval.c's eval_breaker handling). That is the only place a thread gives
//   the GIL up while running Python code, so a read and a write with no
//   check point between them can never be split.
// - How the thread takes and drops the GIL is its attachment's
//   (attachment.hpp): on CPython's GIL, in a deterministic schedule's turns
//   (the thread then reports every instruction, and at a check point hands
//   its turn on when the schedule says so), or in the free-threaded world.
// - Each thread keeps its statistics (instructions, check points, GIL
//   acquisitions, time holding and time waiting) and, when the interpreter
//   carries a Trace, records its GIL transitions there with the reason for
//   each drop. An instruction hook (off by default) lets the explorer watch
//   every instruction.
// - `Attached` is a thread running in its interpreter: it makes the
//   interpreter's heap current on this OS thread and holds the GIL;
//   `AllowThreads` is Py_BEGIN/END_ALLOW_THREADS, around a blocking call.
// - Objects are touched only while the GIL is held: the GIL is what makes
//   their plain reference counts safe.
// - In an interpreter without a GIL (GilMode::disabled) a thread attaches
//   to the World instead of taking the GIL, and many run at once. Its check
//   points then read its own eval breaker (as CPython 3.13 keeps one per
//   thread), set when the world is to stop for a collection or when other
//   threads queued objects for it to merge (biased_refcount.hpp). The
//   globals dict is read and written inside its per-object lock
//   (critical_section.hpp); nothing makes `counter += 1` one step, so
//   updates are lost in parallel.
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pyconc/runtime/attachment.hpp"
#include "pyconc/runtime/critical_section.hpp"
#include "pyconc/runtime/fatal.hpp"
#include "pyconc/runtime/gil.hpp"
#include "pyconc/runtime/heap.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/name.hpp"
#include "pyconc/runtime/trace.hpp"
#include "pyconc/runtime/types.hpp"

namespace pyconc::runtime {

// LOAD_GLOBAL_MODULE's inline cache (PEP 659), kept per thread for the
// names it has met: the name's identity (name.hpp), the dict's keys version
// and the entry's index. A hit reads the entry without comparing a
// character; a new key in the dict is a miss that looks the name up again.
class GlobalsCache {
public:
    // The index of `name` in `globals`, or Dict::not_found.
    [[nodiscard]] std::size_t index_of(const Dict& globals, Name name) noexcept {
        Entry& entry = entries_[slot_of(name)];
        if (entry.name == name.identity() && entry.keys_version == globals.keys_version()) return entry.index;
        const std::size_t index = globals.index_of(name.text());
        if (index != Dict::not_found) entry = {name.identity(), globals.keys_version(), index};
        return index;
    }

private:
    struct Entry {
        const void* name = nullptr;
        std::uint64_t keys_version = 0;  // versions start at 1: an empty entry never hits
        std::size_t index = 0;
    };
    static constexpr std::size_t size = 4;
    static std::size_t slot_of(Name name) noexcept {
        return (reinterpret_cast<std::uintptr_t>(name.identity()) >> 3U) %
               size;  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): a hash of the address
    }
    std::array<Entry, size> entries_{};
};

// A frame's value stack: a fixed array of references, as CPython's frame
// has (co_stacksize), so a push or a pop is an index and a pointer.
// Its bounds are checked in debug builds only, as CPython's are (asserts in
// ceval.c): the model programs are fixed code, like a code object whose
// co_stacksize the compiler computed, and the check cost the countdown loop
// a tenth of its time.
//
// A slot owns its reference, or borrows it: as CPython 3.14's _PyStackRef,
// a set low bit marks a reference pushed by LOAD_FAST_BORROW, which the
// frame's local keeps alive, so pushing and popping it counts nothing. A
// borrowed reference that leaves the stack for good (stored, returned)
// becomes a new one there (PyStackRef_AsPyObjectSteal).
class ValueStack {
public:
    static constexpr std::size_t capacity = 16;

    ValueStack() = default;
    ValueStack(const ValueStack&) = delete;
    ValueStack& operator=(const ValueStack&) = delete;
    ~ValueStack() { clear(); }

    void push(Ref<Object> value) { push_bits(bits_of(value.release())); }  // the slot owns it now
    void push_borrowed(Object* value) { push_bits(bits_of(value) | borrowed_bit); }
    // Pops the top as a reference of the caller's own.
    [[nodiscard]] Ref<Object> pop() {
        const std::uintptr_t bits = pop_bits();
        Object* value = object_of(bits);
        if ((bits & borrowed_bit) != 0U) return value ? Ref<Object>::new_ref(*value) : Ref<Object>{};
        return Ref<Object>::steal(value);
    }
    // Pops the top for `use` to read, then lets it go (PyStackRef_CLOSE):
    // a borrowed reference is neither taken nor released.
    template <typename Use>
    decltype(auto) pop_and_close(Use&& use) {
        const std::uintptr_t bits = pop_bits();
        if ((bits & borrowed_bit) != 0U) return std::forward<Use>(use)(object_of(bits));
        const Ref<Object> owned = Ref<Object>::steal(object_of(bits));
        return std::forward<Use>(use)(owned.get());
    }
    [[nodiscard]] const Object* top() const noexcept {
        return depth_ == 0 ? nullptr : object_of(slots_[depth_ - 1]);
    }
    void clear() noexcept {
        while (depth_ != 0) (void)pop_and_close([](const Object*) {});
    }

private:
    static constexpr std::uintptr_t borrowed_bit = 1;  // objects are aligned: bit 0 is free

    static std::uintptr_t bits_of(Object* value) noexcept {
        return reinterpret_cast<std::uintptr_t>(
            value);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): a tagged pointer
    }
    static Object* object_of(std::uintptr_t bits) noexcept {
        return reinterpret_cast<Object*>(
            bits &
            ~borrowed_bit);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast,performance-no-int-to-ptr)
    }
    void push_bits(std::uintptr_t bits) {
#ifndef NDEBUG
        if (depth_ == capacity) fatal("ThreadState", "value stack overflow");
#endif
        slots_[depth_++] = bits;
    }
    std::uintptr_t pop_bits() {
#ifndef NDEBUG
        if (depth_ == 0) fatal("ThreadState", "pop from an empty value stack");
#endif
        return slots_[--depth_];
    }

    std::array<std::uintptr_t, capacity> slots_{};  // [0, depth_): an object pointer, owned unless tagged
    std::size_t depth_ = 0;
};

class ThreadState {
public:
    // Joins the interpreter's way of running, in creation order (the order
    // deterministic turns are taken in).
    ThreadState(Interpreter& interpreter, std::string name)
        : interpreter_(interpreter),
          name_(std::move(name)),
          every_instruction_checks_(interpreter.check_points() == CheckPoints::py39),
          free_threaded_(interpreter.free_threaded()),
          attachment_(attachment_for(interpreter, this)),
          eval_breaker_(&attachment_->eval_breaker()),
          watched_(every_instruction_checks_ || attachment_->reports_every_instruction()),
          trace_(free_threaded_ ? nullptr : interpreter.trace()),  // no GIL, no GIL trace
          trace_id_(trace_ ? trace_->add_thread(name_) : 0) {}
    ThreadState(const ThreadState&) = delete;
    ThreadState& operator=(const ThreadState&) = delete;

    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] Interpreter& interpreter() noexcept { return interpreter_; }

    // Runs on this OS thread as this thread state, holding the GIL.
    class Attached {
    public:
        explicit Attached(ThreadState& tstate) : tstate_(tstate), heap_(tstate.interpreter_.heap()) {
            tstate_.attachment_->begin();
            tstate_.take_gil();
        }
        Attached(const Attached&) = delete;
        Attached& operator=(const Attached&) = delete;
        ~Attached() {
            tstate_.clear_frame();  // its references go while the GIL is still held (or while attached)
            tstate_.attachment_->end();
            tstate_.drop_gil(DropReason::exit);
        }

    private:
        ThreadState& tstate_;
        Heap::Attach heap_;
    };

    // Py_BEGIN_ALLOW_THREADS ... Py_END_ALLOW_THREADS: the GIL is released
    // for the guard's life. Touch no model object inside.
    class AllowThreads {
    public:
        explicit AllowThreads(ThreadState& tstate) : tstate_(tstate) {
            tstate_.attachment_->before_blocking();
            tstate_.drop_gil(DropReason::blocking_call);
        }
        AllowThreads(const AllowThreads&) = delete;
        AllowThreads& operator=(const AllowThreads&) = delete;
        ~AllowThreads() { tstate_.take_gil(); }

    private:
        ThreadState& tstate_;
    };

    // --- instructions ----------------------------------------------------------
    enum class Opcode : unsigned char {
        resume,
        load_global,
        store_global,
        load_const,
        load_fast,
        load_fast_borrow,
        store_fast,
        binary_add,
        binary_subtract,
        binary_multiply,
        binary_modulo,
        compare_lt,
        pop_jump_if_false,
        jump_backward,
        call,
        pop_top,
        return_value,
    };

    // RESUME: entering a function. A check point under both policies.
    void resume() { after(Opcode::resume); }

    // LOAD_GLOBAL name: push the module global (a new reference, taken
    // inside the dict's critical section when there is no GIL).
    void load_global(Name name) {
        Dict& globals = interpreter_.globals();
        if (free_threaded_) [[unlikely]] {
            const CriticalSection section{globals.mutex(), true};
            stack_.push(global(globals, name));
        } else {
            stack_.push(global(globals, name));
        }
        after(Opcode::load_global);
    }
    // STORE_GLOBAL name: pop into the module global; the old value is
    // released after the critical section, as CPython's dict does.
    void store_global(Name name) {
        Dict& globals = interpreter_.globals();
        Ref<Object> old;
        if (free_threaded_) [[unlikely]] {
            const CriticalSection section{globals.mutex(), true};
            old = set_global(globals, name, pop());
        } else {
            old = set_global(globals, name, pop());
        }
        old.reset();
        after(Opcode::store_global);
    }
    // LOAD_CONST value (an int constant).
    void load_const(std::int64_t value) {
        stack_.push(Int::from(value));
        after(Opcode::load_const);
    }
    // LOAD_FAST slot: push the local (a new reference).
    void load_fast(std::size_t slot) {
        stack_.push(Ref<Object>(local(slot)));
        after(Opcode::load_fast);
    }
    // LOAD_FAST_BORROW slot (3.14): push the local without a reference of
    // its own, where 3.14's compiler proved that the local outlives it.
    void load_fast_borrow(std::size_t slot) {
        stack_.push_borrowed(local(slot).get());
        after(Opcode::load_fast_borrow);
    }
    void store_fast(std::size_t slot) {
        local(slot) = pop();
        after(Opcode::store_fast);
    }
    // BINARY_OP +: a new int; the operands are released.
    void binary_add() {
        const std::int64_t right = pop_int();
        const std::int64_t left = pop_int();
        stack_.push(Int::from(left + right));
        after(Opcode::binary_add);
    }
    void binary_subtract() {
        const std::int64_t right = pop_int();
        const std::int64_t left = pop_int();
        stack_.push(Int::from(left - right));
        after(Opcode::binary_subtract);
    }
    void binary_multiply() {
        const std::int64_t right = pop_int();
        const std::int64_t left = pop_int();
        stack_.push(Int::from(left * right));
        after(Opcode::binary_multiply);
    }
    // BINARY_OP %: Python's modulo takes the sign of the divisor.
    void binary_modulo() {
        const std::int64_t right = pop_int();
        const std::int64_t left = pop_int();
        if (right == 0) fatal("BINARY_OP %", "integer modulo by zero");
        std::int64_t result = left % right;
        if (result != 0 && ((result < 0) != (right < 0))) result += right;
        stack_.push(Int::from(result));
        after(Opcode::binary_modulo);
    }
    // COMPARE_OP <: pushes 1 or 0 (the model has no bool).
    void compare_lt() {
        const std::int64_t right = pop_int();
        const std::int64_t left = pop_int();
        stack_.push(Int::from(left < right ? 1 : 0));
        after(Opcode::compare_lt);
    }
    // POP_JUMP_IF_FALSE: returns whether the loop goes on (the jump not taken).
    [[nodiscard]] bool pop_jump_if_false() {
        const bool truth = pop_int() != 0;
        after(Opcode::pop_jump_if_false);
        return truth;
    }
    // JUMP_BACKWARD: the end of a loop body. A check point under both policies.
    void jump_backward() { after(Opcode::jump_backward); }
    // CALL: runs `function` (a model function: more instructions), then is a
    // check point under both policies. Pushes None (nothing).
    void call(const std::function<void(ThreadState&)>& function) {
        function(*this);
        stack_.push(Ref<Object>{});
        after(Opcode::call);
    }
    // CALL of a callable that returns an object (a class making an
    // instance, say): pushes what `function` returned.
    void call_returning(const std::function<Ref<Object>(ThreadState&)>& function) {
        stack_.push(function(*this));
        after(Opcode::call);
    }
    void pop_top() {
        stack_.pop_and_close([](const Object*) {});
        after(Opcode::pop_top);
    }
    // RETURN_VALUE at the end of a model function (its caller's CALL pushes
    // the result; the model keeps one frame per thread).
    void return_value() { after(Opcode::return_value); }
    // RETURN_VALUE of an int to C++: pops it and hands it over (what a C
    // caller of a Python function gets back).
    [[nodiscard]] std::int64_t return_int() {
        const std::int64_t value = pop_int();
        after(Opcode::return_value);
        return value;
    }

    // The top of the value stack (null when empty): for instruction hooks.
    [[nodiscard]] const Object* top() const noexcept { return stack_.top(); }

    // Called after every instruction, with the GIL held, before any switch
    // the instruction's check point makes. Off (empty) by default.
    using InstructionHook = std::function<void(const ThreadState&, Opcode)>;
    void set_instruction_hook(InstructionHook hook) {
        hook_ = std::move(hook);
        watched_ = hook_ || every_instruction_checks_ || attachment_->reports_every_instruction();
    }

    // --- statistics ------------------------------------------------------------
    using Duration = std::chrono::steady_clock::duration;
    [[nodiscard]] std::uint64_t instructions() const noexcept { return instructions_; }
    [[nodiscard]] std::uint64_t check_points() const noexcept { return check_points_; }
    [[nodiscard]] std::uint64_t gil_acquisitions() const noexcept { return acquisitions_; }
    [[nodiscard]] Duration time_holding() const noexcept { return holding_; }
    [[nodiscard]] Duration time_waiting() const noexcept { return waiting_; }

private:
    using Clock = std::chrono::steady_clock;

    [[nodiscard]] bool is_check_point(Opcode op) const noexcept {
        return every_instruction_checks_ || op == Opcode::resume || op == Opcode::jump_backward ||
               op == Opcode::call;
    }

    // The eval breaker, after each instruction. The common case (py310's
    // check points, no hook, CPython's timed switching, no drop request) is
    // a count and a flag test, and at RESUME, JUMP_BACKWARD and CALL one
    // relaxed load, inlined into the instruction.
    [[gnu::always_inline]] void after(Opcode op) {
        ++instructions_;
        if (watched_) [[unlikely]] {
            watched_after(op);
            return;
        }
        if (op != Opcode::resume && op != Opcode::jump_backward && op != Opcode::call) return;
        ++check_points_;
        if (eval_breaker_->load(std::memory_order_relaxed)) [[unlikely]]
            handle_eval_breaker();
    }

    // _Py_HandlePending: what the attachment serves (merges queued for
    // this thread, a stop-the-world pause), and, for the GIL's drop
    // request, a drop and a take again.
    [[gnu::noinline]] void handle_eval_breaker() {
        if (!attachment_->serve_eval_breaker()) return;
        drop_gil(DropReason::interval);
        take_gil();
    }

    // With an instruction hook, in a deterministic schedule's turns, or
    // under py39's policy.
    [[gnu::noinline]] void watched_after(Opcode op) {
        const bool check_point = is_check_point(op);
        check_points_ += check_point ? 1 : 0;
        if (hook_) hook_(*this, op);
        if (attachment_->reports_every_instruction()) {
            if (attachment_->turn_over(check_point)) {
                const Clock::time_point asked = Clock::now();
                note_drop(DropReason::turn);
                attachment_->yield_turn();
                note_taken(asked);
            }
            return;
        }
        if (check_point && eval_breaker_->load(std::memory_order_relaxed)) handle_eval_breaker();
    }

    // Takes the GIL (or attaches to the world) and drops it, counting and
    // tracing each.
    void take_gil() {
        const Clock::time_point asked = Clock::now();
        if (trace_) trace_->record(trace_id_, GilEvent::asked);
        attachment_->attach();
        note_taken(asked);
    }
    void drop_gil(DropReason reason) {
        note_drop(reason);
        attachment_->detach();
    }
    void note_taken(Clock::time_point asked) {
        taken_at_ = Clock::now();
        waiting_ += taken_at_ - asked;
        ++acquisitions_;
        if (trace_) trace_->record(trace_id_, GilEvent::took);
    }
    void note_drop(DropReason reason) {
        holding_ += Clock::now() - taken_at_;
        if (trace_) {
            trace_->record(trace_id_, GilEvent::dropped, reason);
            if (reason == DropReason::turn) trace_->record(trace_id_, GilEvent::asked);  // at once, again
        }
    }

    // The dict operations behind LOAD_GLOBAL and STORE_GLOBAL, through the inline cache.
    Ref<Object> global(const Dict& globals, Name name) {
        const std::size_t index = globals_cache_.index_of(globals, name);
        if (index == Dict::not_found) fatal("LOAD_GLOBAL", "name is not defined");
        return Ref<Object>::new_ref(*globals.value_at(index));
    }
    // Returns the value it replaces (none for a new global).
    Ref<Object> set_global(Dict& globals, Name name, Ref<Object> value) {
        const std::size_t index = globals_cache_.index_of(globals, name);
        if (index == Dict::not_found) {
            globals.set(name.text(), std::move(value));
            return {};
        }
        return globals.exchange_value_at(index, std::move(value));
    }
    Ref<Object> pop() { return stack_.pop(); }
    Ref<Object>& local(std::size_t slot) {
#ifndef NDEBUG
        if (slot >= fast_.size()) fatal("ThreadState", "a local variable slot past the frame's");
#endif
        return fast_[slot];
    }
    std::int64_t pop_int() {
        return stack_.pop_and_close([](const Object* top) {
            if (!top || !top->is_int())
                fatal("ThreadState", "an int operation on something that is not an int");
            return static_cast<const Int&>(*top).value();
        });
    }
    void clear_frame() {
        stack_.clear();
        for (Ref<Object>& slot : fast_) slot.reset();
    }

    Interpreter& interpreter_;
    std::string name_;
    bool every_instruction_checks_;           // the interpreter's policy is py39
    bool free_threaded_;                      // the interpreter has no GIL: dict operations take its lock
    std::unique_ptr<Attachment> attachment_;  // how it takes and drops the GIL (attachment.hpp)
    const std::atomic<bool>* eval_breaker_;   // what a check point reads: attachment_->eval_breaker()
    bool watched_;  // in turns, a hook, or py39 (a check point after every instruction): after()'s slow path
    Trace* trace_;  // or null
    std::uint32_t trace_id_;  // this thread's number in the trace
    InstructionHook hook_;
    GlobalsCache globals_cache_;
    ValueStack stack_;
    std::array<Ref<Object>, 8> fast_;  // local variables (co_nlocals: enough for the lessons)
    std::uint64_t instructions_ = 0;
    std::uint64_t check_points_ = 0;
    std::uint64_t acquisitions_ = 0;
    Clock::time_point taken_at_{};
    Duration holding_{};
    Duration waiting_{};
};

}  // namespace pyconc::runtime
