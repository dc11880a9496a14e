#pragma once
// The GIL trace: when each model thread asked for the GIL, took it and
// dropped it, and why it dropped it.
//
// How this works
// - An Interpreter may carry a Trace (`Interpreter::set_trace`). Its thread
//   states name themselves to it when they are made (`add_thread`) and
//   record an event at each GIL transition: `asked` when take_gil starts,
//   `took` when it returns, `dropped` with the reason. Events happen a few
//   times per switch interval, not per instruction, so a mutex is cheap
//   enough; with no trace the cost is one null test per transition.
// - `timeline()` turns the events into spans per thread: waiting (asked,
//   not yet taken), holding (taken, not yet dropped); the gaps between are
//   released (blocked in a call, or not started, or finished). The
//   renderers (lesson/timeline.hpp) draw those spans.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace pyconc::runtime {

enum class GilEvent : unsigned char { asked, took, dropped };

// Why a thread dropped the GIL.
enum class DropReason : unsigned char {
    none,           // (not a drop)
    interval,       // another thread waited a whole switch interval: a drop request
    blocking_call,  // Py_BEGIN_ALLOW_THREADS: a sleep, I/O, a lock wait
    turn,           // a deterministic schedule ended its turn
    exit,           // the thread finished
};

[[nodiscard]] constexpr const char* drop_reason_name(DropReason reason) noexcept {
    switch (reason) {
        case DropReason::none:
            return "-";
        case DropReason::interval:
            return "interval expired";
        case DropReason::blocking_call:
            return "blocking call";
        case DropReason::turn:
            return "scheduled turn";
        case DropReason::exit:
            return "thread finished";
    }
    return "?";
}

class Trace {
public:
    using Clock = std::chrono::steady_clock;

    struct Event {
        Clock::time_point at;
        std::uint32_t thread;
        GilEvent event;
        DropReason reason;
    };

    enum class SpanState : unsigned char { waiting, holding };
    struct Span {
        double from_ms;  // since the trace began
        double to_ms;
        SpanState state;
        DropReason ended_by;  // holding spans: why the GIL was dropped
    };
    struct ThreadTimeline {
        std::string name;
        std::vector<Span> spans;
        double holding_ms = 0;
        double waiting_ms = 0;
        std::uint64_t drops_by_reason[5] = {};  // indexed by DropReason
    };
    struct Timeline {
        double length_ms = 0;  // from the trace's start to its last event
        std::vector<ThreadTimeline> threads;
    };

    Trace() : started_(Clock::now()) {}
    Trace(const Trace&) = delete;
    Trace& operator=(const Trace&) = delete;

    // A thread states's number in this trace, in the order they were made.
    std::uint32_t add_thread(std::string name) {
        const std::lock_guard lock{mutex_};
        names_.push_back(std::move(name));
        return static_cast<std::uint32_t>(names_.size() - 1);
    }

    void record(std::uint32_t thread, GilEvent event, DropReason reason = DropReason::none) {
        const Clock::time_point now = Clock::now();
        const std::lock_guard lock{mutex_};
        events_.push_back({now, thread, event, reason});
    }

    [[nodiscard]] std::vector<Event> events() const {
        const std::lock_guard lock{mutex_};
        return events_;
    }

    // The events as spans per thread, with the totals.
    [[nodiscard]] Timeline timeline() const {
        const std::lock_guard lock{mutex_};
        Timeline timeline;
        timeline.threads.resize(names_.size());
        for (std::size_t i = 0; i < names_.size(); ++i) timeline.threads[i].name = names_[i];
        std::vector<double> open_since(names_.size(), -1.0);
        std::vector<SpanState> open_state(names_.size(), SpanState::waiting);
        for (const Event& event : events_) {
            const double at_ms = std::chrono::duration<double, std::milli>(event.at - started_).count();
            timeline.length_ms = std::max(timeline.length_ms, at_ms);
            ThreadTimeline& thread = timeline.threads[event.thread];
            const auto close = [&](DropReason ended_by) {
                if (open_since[event.thread] < 0) return;
                const Span span{open_since[event.thread], at_ms, open_state[event.thread], ended_by};
                (span.state == SpanState::holding ? thread.holding_ms : thread.waiting_ms) +=
                    span.to_ms - span.from_ms;
                thread.spans.push_back(span);
            };
            switch (event.event) {
                case GilEvent::asked:
                    open_since[event.thread] = at_ms;
                    open_state[event.thread] = SpanState::waiting;
                    break;
                case GilEvent::took:
                    close(DropReason::none);
                    open_since[event.thread] = at_ms;
                    open_state[event.thread] = SpanState::holding;
                    break;
                case GilEvent::dropped:
                    close(event.reason);
                    ++thread.drops_by_reason[static_cast<std::size_t>(event.reason)];
                    open_since[event.thread] = -1.0;
                    break;
            }
        }
        return timeline;
    }

private:
    mutable std::mutex mutex_;
    Clock::time_point started_;
    std::vector<std::string> names_;
    std::vector<Event> events_;
};

}  // namespace pyconc::runtime
