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
// - In deterministic mode (Gil::set_switch_every) the check point instead
//   yields the turn once K instructions ran since the thread took the GIL.
// - `Attached` is a thread running in its interpreter: it makes the
//   interpreter's heap current on this OS thread and holds the GIL;
//   `AllowThreads` is Py_BEGIN/END_ALLOW_THREADS, around a blocking call.
// - Objects are touched only while the GIL is held: the GIL is what makes
//   their plain reference counts safe.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pyconc/runtime/fatal.hpp"
#include "pyconc/runtime/gil.hpp"
#include "pyconc/runtime/heap.hpp"
#include "pyconc/runtime/interpreter.hpp"
#include "pyconc/runtime/types.hpp"

namespace pyconc::runtime {

class ThreadState {
public:
    // Registers with the interpreter's GIL, in creation order (the order
    // deterministic scheduling takes turns in).
    ThreadState(Interpreter& interpreter, std::string name)
        : interpreter_(interpreter), name_(std::move(name)), switch_every_(interpreter.gil().switch_every()) {
        interpreter_.gil().register_thread(this);
    }
    ThreadState(const ThreadState&) = delete;
    ThreadState& operator=(const ThreadState&) = delete;
    ~ThreadState() { interpreter_.gil().unregister_thread(this); }

    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] Interpreter& interpreter() noexcept { return interpreter_; }

    // Runs on this OS thread as this thread state, holding the GIL.
    class Attached {
    public:
        explicit Attached(ThreadState& tstate) : tstate_(tstate), heap_(tstate.interpreter_.heap()) {
            tstate_.take_gil();
        }
        Attached(const Attached&) = delete;
        Attached& operator=(const Attached&) = delete;
        ~Attached() {
            tstate_.clear_frame();  // its references go while the GIL is still held
            Gil& gil = tstate_.interpreter_.gil();
            gil.unregister_thread(&tstate_);  // done: the rotation skips it from now on
            gil.drop(&tstate_);
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
            Gil& gil = tstate_.interpreter_.gil();
            gil.mark_blocked(&tstate_);
            gil.drop(&tstate_);
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
        store_fast,
        binary_add,
        binary_subtract,
        compare_lt,
        pop_jump_if_false,
        jump_backward,
        call,
        pop_top,
        return_value,
    };

    // RESUME: entering a function. A check point under both policies.
    void resume() { after(Opcode::resume); }

    // LOAD_GLOBAL name: push the module global (a new reference).
    void load_global(std::string_view name) {
        Object* value = interpreter_.globals().get(name);
        if (!value) fatal("LOAD_GLOBAL", "name is not defined");
        stack_.push_back(Ref<Object>::new_ref(*value));
        after(Opcode::load_global);
    }
    // STORE_GLOBAL name: pop into the module global; the old value is released.
    void store_global(std::string_view name) {
        interpreter_.globals().set(name, pop());
        after(Opcode::store_global);
    }
    // LOAD_CONST value (an int constant).
    void load_const(std::int64_t value) {
        stack_.emplace_back(Int::from(value));
        after(Opcode::load_const);
    }
    void load_fast(std::size_t slot) {
        stack_.push_back(fast_.at(slot));
        after(Opcode::load_fast);
    }
    void store_fast(std::size_t slot) {
        if (fast_.size() <= slot) fast_.resize(slot + 1);
        fast_[slot] = pop();
        after(Opcode::store_fast);
    }
    // BINARY_OP +: a new int; the operands are released.
    void binary_add() {
        const std::int64_t right = pop_int();
        const std::int64_t left = pop_int();
        stack_.emplace_back(Int::from(left + right));
        after(Opcode::binary_add);
    }
    void binary_subtract() {
        const std::int64_t right = pop_int();
        const std::int64_t left = pop_int();
        stack_.emplace_back(Int::from(left - right));
        after(Opcode::binary_subtract);
    }
    // COMPARE_OP <: pushes 1 or 0 (the model has no bool).
    void compare_lt() {
        const std::int64_t right = pop_int();
        const std::int64_t left = pop_int();
        stack_.emplace_back(Int::from(left < right ? 1 : 0));
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
        stack_.emplace_back();
        after(Opcode::call);
    }
    void pop_top() {
        (void)pop();
        after(Opcode::pop_top);
    }
    // RETURN_VALUE at the end of a model function (its caller's CALL pushes
    // the result; the model keeps one frame per thread).
    void return_value() { after(Opcode::return_value); }

    // --- statistics ------------------------------------------------------------
    [[nodiscard]] std::uint64_t instructions() const noexcept { return instructions_; }
    [[nodiscard]] std::uint64_t check_points() const noexcept { return check_points_; }
    [[nodiscard]] std::uint64_t gil_acquisitions() const noexcept { return acquisitions_; }

private:
    [[nodiscard]] bool is_check_point(Opcode op) const noexcept {
        if (interpreter_.check_points() == CheckPoints::py39) return true;
        return op == Opcode::resume || op == Opcode::jump_backward || op == Opcode::call;
    }

    // The eval breaker, after each instruction.
    void after(Opcode op) {
        ++instructions_;
        ++since_taken_;
        if (!is_check_point(op)) return;
        ++check_points_;
        Gil& gil = interpreter_.gil();
        if (switch_every_ != 0) {
            if (since_taken_ >= switch_every_ && gil.yield_turn(this)) {
                ++acquisitions_;
                since_taken_ = 0;
            }
            return;
        }
        if (gil.drop_requested()) {
            gil.drop(this);
            take_gil();
        }
    }

    void take_gil() {
        interpreter_.gil().take(this);
        ++acquisitions_;
        since_taken_ = 0;
    }

    Ref<Object> pop() {
        if (stack_.empty()) fatal("ThreadState", "pop from an empty value stack");
        Ref<Object> top = std::move(stack_.back());
        stack_.pop_back();
        return top;
    }
    std::int64_t pop_int() {
        const Ref<Object> top = pop();
        if (!top || !top->is_int()) fatal("ThreadState", "an int operation on something that is not an int");
        return static_cast<const Int&>(*top).value();
    }
    void clear_frame() {
        stack_.clear();
        fast_.clear();
    }

    Interpreter& interpreter_;
    std::string name_;
    std::uint64_t switch_every_;      // the GIL's, read once: 0 or K
    std::vector<Ref<Object>> stack_;  // the value stack
    std::vector<Ref<Object>> fast_;   // local variables
    std::uint64_t instructions_ = 0;
    std::uint64_t check_points_ = 0;
    std::uint64_t acquisitions_ = 0;
    std::uint64_t since_taken_ = 0;  // instructions since this thread took the GIL
};

}  // namespace pyconc::runtime
