#pragma once
// Starting a child process by one of the three start methods, and learning
// how it ended (Lib/multiprocessing/popen_fork.py, popen_spawn_posix.py,
// popen_forkserver.py, forkserver.py).
//
// How this works
// - A child runs a registered child main (spawn.hpp: "pool" for a pool's
//   worker, "process" for a Process) and talks to its parent over a
//   connection it finds as file descriptor 3, whatever the start method.
// - fork: fork() and run the child main in the copy, which keeps the
//   parent's memory as it was: its globals too. Only the forking thread is
//   copied, so a lock another thread held stays held in the child; the
//   child closes every descriptor but its connection, so that it holds no
//   other child's end open.
// - spawn: fork() and exec this program (spawn.hpp); the parent waits for
//   the child's bootstrap message, so a program that forgot
//   freeze_support() fails at start() with Python's advice.
// - forkserver: the first use spawns a server (one per process, single-
//   threaded, its memory the program's at start-up); each child is a fork
//   of the server. The parent sends the server the child's connection and
//   the write end of a status pipe (SCM_RIGHTS); the server writes the
//   child's pid there, and its exit code when it ends, as CPython's
//   forkserver does. The server, and so its children, end with the parent.
// - Popen::poll() gives the exit code: waitpid for a child of ours, the
//   status pipe for the server's.
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "pyconc/multiprocessing/connection.hpp"
#include "pyconc/multiprocessing/spawn.hpp"
#include "pyconc/multiprocessing/start_method.hpp"

namespace pyconc::multiprocessing {

namespace detail {

// In a child started by fork (ours or the server's): the connection on
// FD 3, nothing else open but the standard streams, then the child main.
[[noreturn]] inline void become_child(std::string_view mode, int connection_fd) {
    if (connection_fd != 3 && ::dup2(connection_fd, 3) < 0) ::_exit(126);
    ::close_range(4, ~0U, 0);
    Connection parent{3};
    ::_exit(run_child_main(mode, parent));
}

// fork(), the standard streams flushed first (or the child would print the
// parent's buffered output again). The child asks to die with its parent,
// runs `child` and _exits with what it returns: not exit(), as the
// parent's atexit handlers and statics are not the child's.
template <class Child>
[[nodiscard]] pid_t fork_running(Child child) {
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) {
        die_with_parent(parent);
        const int status = child();
        std::fflush(stdout);
        std::fflush(stderr);
        ::_exit(status);
    }
    return pid;
}

// exit code from a waitpid status: minus the signal that killed it, as Python.
[[nodiscard]] inline int exit_code_of(int status) noexcept {
    return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
}

// A fork-server request: the child's mode, and two descriptors (its
// connection, the status pipe's write end) as SCM_RIGHTS.
struct ForkRequest {
    std::array<char, 32> mode{};
};

inline void send_fork_request(int socket, std::string_view mode, std::array<int, 2> fds) {
    ForkRequest request;
    mode.copy(request.mode.data(), request.mode.size() - 1);
    iovec data{&request, sizeof request};
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof fds)> control{};
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof fds);
    std::memcpy(CMSG_DATA(header), fds.data(), sizeof fds);
    ssize_t sent = 0;
    do {
        sent = ::sendmsg(socket, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent != static_cast<ssize_t>(sizeof request)) throw EOFError();
}

// The next request, or nothing at end-of-file (the parent is gone).
inline std::optional<std::pair<std::string, std::array<int, 2>>> receive_fork_request(int socket) {
    ForkRequest request;
    iovec data{&request, sizeof request};
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(std::array<int, 2>))> control{};
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    ssize_t got = 0;
    do {
        got = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    } while (got < 0 && errno == EINTR);
    const cmsghdr* header = CMSG_FIRSTHDR(&message);
    if (got != static_cast<ssize_t>(sizeof request) || header == nullptr || header->cmsg_type != SCM_RIGHTS) {
        return std::nullopt;
    }
    std::array<int, 2> fds{};
    std::memcpy(fds.data(), CMSG_DATA(header), sizeof fds);
    request.mode.back() = '\0';
    return std::pair{std::string{request.mode.data()}, fds};
}

// The server's SIGCHLD, written into a pipe its loop polls.
inline int child_ended_pipe = -1;
inline void note_child_ended(int /*signal*/) {
    const int saved = errno;
    const char byte = 0;
    [[maybe_unused]] const auto written = ::write(child_ended_pipe, &byte, 1);
    errno = saved;
}

// forkserver.main: fork a child per request; report each one's pid, then
// its exit code, on its status pipe. Ends when the parent does.
inline int fork_server_main(Connection& parent) {
    std::array<int, 2> ended{-1, -1};
    if (::pipe2(ended.data(), O_CLOEXEC | O_NONBLOCK) != 0) return 1;
    child_ended_pipe = ended[1];
    struct sigaction action {};
    action.sa_handler = note_child_ended;
    action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    ::sigaction(SIGCHLD, &action, nullptr);
    const pid_t server = ::getpid();
    std::map<pid_t, int> status_pipes;
    while (true) {
        std::array<pollfd, 2> fds{{{parent.fileno(), POLLIN, 0}, {ended[0], POLLIN, 0}}};
        if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return 1;
        if (fds[1].revents != 0) {
            std::array<char, 64> drained{};
            while (::read(ended[0], drained.data(), drained.size()) > 0) {
            }
            int status = 0;
            pid_t pid = 0;
            while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
                const auto found = status_pipes.find(pid);
                if (found == status_pipes.end()) continue;
                const int code = exit_code_of(status);
                [[maybe_unused]] const auto written = ::write(found->second, &code, sizeof code);
                ::close(found->second);
                status_pipes.erase(found);
            }
        }
        if (fds[0].revents == 0) continue;
        auto request = receive_fork_request(parent.fileno());
        if (!request) return 0;  // the parent is gone: so are we, and our children with us
        auto& [mode, passed] = *request;
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::signal(SIGCHLD, SIG_DFL);
            die_with_parent(server);
            become_child(mode, passed[0]);
        }
        ::close(passed[0]);
        if (pid > 0) {
            [[maybe_unused]] const auto written = ::write(passed[1], &pid, sizeof pid);
            status_pipes.emplace(pid, passed[1]);
        } else {
            ::close(passed[1]);  // the parent reads end-of-file where the pid should be
        }
    }
}
// NOLINTNEXTLINE(cert-err58-cpp): a program that cannot register at start-up should stop there
inline const bool fork_server_registered = register_child_main("forkserver", fork_server_main);

// Reads exactly sizeof(T) bytes from `fd` (blocking), or nothing at end-of-file.
template <class T>
std::optional<T> read_value(int fd) {
    T value{};
    auto* bytes = reinterpret_cast<char*>(&value);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
    std::size_t got = 0;
    while (got < sizeof value) {
        const ssize_t n = ::read(fd, bytes + got, sizeof value - got);
        if (n == 0) return std::nullopt;
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::nullopt;
        }
        got += static_cast<std::size_t>(n);
    }
    return value;
}

}  // namespace detail

// This process's fork server, started at its first use.
class ForkServer {
public:
    static ForkServer& instance() {
        static ForkServer server;
        return server;
    }
    ForkServer(const ForkServer&) = delete;
    ForkServer& operator=(const ForkServer&) = delete;
    ~ForkServer() {
        connection_.close();  // the server sees end-of-file and ends
        if (pid_ > 0) {
            int status = 0;
            while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
            }
        }
    }

    // A child in `mode` over `child_end`, forked by the server: its pid,
    // and the descriptor its exit code will arrive on (ours to close).
    [[nodiscard]] std::pair<pid_t, int> fork_child(std::string_view mode, const Connection& child_end) {
        const std::lock_guard lock{mutex_};
        start();
        std::array<int, 2> status{-1, -1};
        if (::pipe2(status.data(), O_CLOEXEC) != 0) {
            throw std::system_error(errno, std::generic_category(), "pipe2");
        }
        try {
            detail::send_fork_request(connection_.fileno(), mode, {child_end.fileno(), status[1]});
        } catch (const EOFError&) {
            ::close(status[0]);
            ::close(status[1]);
            throw std::runtime_error("the fork server is gone: no child can be started");
        }
        ::close(status[1]);
        const auto pid = detail::read_value<pid_t>(status[0]);
        if (!pid) {
            ::close(status[0]);
            throw std::runtime_error("the fork server could not fork a child");
        }
        return {*pid, status[0]};
    }
    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    // The server's pid if it was started, else -1 (without starting it).
    [[nodiscard]] static pid_t instance_pid() noexcept { return started_pid_; }

private:
    ForkServer() = default;
    void start() {
        if (pid_ > 0) return;
        auto [mine, servers] = Pipe();
        pid_ = spawn_child("forkserver", servers);
        started_pid_ = pid_;
        servers.close();
        await_bootstrap(mine, pid_);
        connection_ = std::move(mine);
    }

    static inline pid_t started_pid_ = -1;
    std::mutex mutex_;
    Connection connection_;
    pid_t pid_ = -1;
};

// A started child and how it ends (multiprocessing's Popen classes).
class Popen {
public:
    // Starts a child in `mode` (a registered child main) by `method`,
    // talking over `child_end`, which the parent should close after.
    Popen(StartMethod method, std::string_view mode, const Connection& child_end) : method_(method) {
        switch (method) {
            case StartMethod::fork:
                pid_ = fork_in_place(mode, child_end);
                break;
            case StartMethod::spawn:
                pid_ = spawn_child(std::string{mode}.c_str(), child_end);
                break;
            case StartMethod::forkserver:
                std::tie(pid_, status_fd_) = ForkServer::instance().fork_child(mode, child_end);
                break;
        }
    }
    Popen(Popen&& other) noexcept
        : method_(other.method_),
          pid_(std::exchange(other.pid_, -1)),
          status_fd_(std::exchange(other.status_fd_, -1)),
          exitcode_(other.exitcode_) {}
    Popen& operator=(Popen&&) = delete;
    Popen(const Popen&) = delete;
    Popen& operator=(const Popen&) = delete;
    ~Popen() {
        if (status_fd_ >= 0) ::close(status_fd_);
    }

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    [[nodiscard]] StartMethod start_method() const noexcept { return method_; }
    // A spawned child's bootstrap message (spawn.hpp), read from the parent's end.
    void await_bootstrap(const Connection& mine) const {
        if (method_ == StartMethod::spawn) multiprocessing::await_bootstrap(mine, pid_);
    }

    // The exit code once the child has ended (minus the signal that killed
    // it), nothing while it runs; `wait` blocks until it ends.
    [[nodiscard]] std::optional<int> poll(bool wait) {
        if (exitcode_ || pid_ <= 0) return exitcode_;
        if (status_fd_ >= 0) {
            pollfd ready{status_fd_, POLLIN, 0};
            if (!wait && ::poll(&ready, 1, 0) <= 0) return std::nullopt;
            exitcode_ = detail::read_value<int>(status_fd_).value_or(-SIGKILL);  // the server died with it
            ::close(std::exchange(status_fd_, -1));
            return exitcode_;
        }
        int status = 0;
        pid_t reaped = 0;
        do {
            reaped = ::waitpid(pid_, &status, wait ? 0 : WNOHANG);
        } while (reaped < 0 && errno == EINTR);
        if (reaped == pid_) exitcode_ = detail::exit_code_of(status);
        return exitcode_;
    }
    void send_signal(int number) const {
        if (pid_ > 0 && !exitcode_) ::kill(pid_, number);
    }

private:
    // The fork start method: the child main runs in a copy of this process.
    static pid_t fork_in_place(std::string_view mode, const Connection& child_end) {
        return detail::fork_running(
            [mode, fd = child_end.fileno()]() -> int { detail::become_child(mode, fd); });
    }

    StartMethod method_;
    pid_t pid_ = -1;
    int status_fd_ = -1;  // forkserver: where the server writes the exit code
    std::optional<int> exitcode_;
};

}  // namespace pyconc::multiprocessing
