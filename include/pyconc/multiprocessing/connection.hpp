#pragma once
// multiprocessing.Pipe and its Connections: messages between processes.
//
// How this works (Lib/multiprocessing/connection.py)
// - Pipe() is a pair of connected Unix sockets (duplex, as Pipe's default
//   is on Unix). A message is its length (8 bytes) and then its bytes, so
//   the reader gets whole messages; send/recv pickle and unpickle
//   (pickle.hpp).
// - recv() on a connection whose other end is closed raises EOFError, as in
//   Python: that is how a parent learns that a worker died.
// - The sockets are close-on-exec; a process that must keep one across exec
//   (a spawned child) gets it duplicated on purpose (spawn.hpp).
#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include "pyconc/multiprocessing/pickle.hpp"

namespace pyconc::multiprocessing {

class EOFError : public std::runtime_error {
public:
    EOFError() : std::runtime_error("EOFError: the other end of the connection is closed") {}
};

class Connection {
public:
    Connection() = default;
    explicit Connection(int fd) noexcept : fd_(fd) {}
    Connection(Connection&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Connection& operator=(Connection&& other) noexcept {
        if (this != &other) {
            close();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() { close(); }

    [[nodiscard]] int fileno() const noexcept { return fd_; }
    [[nodiscard]] bool closed() const noexcept { return fd_ < 0; }
    void close() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

    void send_bytes(std::string_view bytes) const {
        const auto size = static_cast<std::uint64_t>(bytes.size());
        write_all(&size, sizeof size);
        write_all(bytes.data(), bytes.size());
    }
    [[nodiscard]] std::string recv_bytes() const {
        std::uint64_t size = 0;
        read_all(&size, sizeof size);
        std::string bytes(size, '\0');
        read_all(bytes.data(), size);
        return bytes;
    }
    template <class T>
    void send(const T& value) const {
        send_bytes(dumps(value));
    }
    template <class T>
    [[nodiscard]] T recv() const {
        return loads<T>(recv_bytes());
    }

    // conn.poll(timeout): whether a message (or EOF) is waiting.
    [[nodiscard]] bool poll(double timeout_seconds = 0) const {
        pollfd ready{fd_, POLLIN, 0};
        int result = 0;
        do {
            result = ::poll(&ready, 1, static_cast<int>(timeout_seconds * 1000));
        } while (result < 0 && errno == EINTR);
        return result > 0;
    }

private:
    void write_all(const void* data, std::size_t size) const {
        const auto* bytes = static_cast<const char*>(data);
        while (size > 0) {
            const ssize_t written = ::send(fd_, bytes, size, MSG_NOSIGNAL);
            if (written < 0) {
                if (errno == EINTR) continue;
                if (errno == EPIPE || errno == ECONNRESET) throw EOFError();
                throw std::system_error(errno, std::generic_category(), "send on a connection");
            }
            bytes += written;
            size -= static_cast<std::size_t>(written);
        }
    }
    void read_all(void* data, std::size_t size) const {
        auto* bytes = static_cast<char*>(data);
        while (size > 0) {
            const ssize_t got = ::recv(fd_, bytes, size, 0);
            if (got == 0) throw EOFError();
            if (got < 0) {
                if (errno == EINTR) continue;
                if (errno == ECONNRESET) throw EOFError();
                throw std::system_error(errno, std::generic_category(), "recv on a connection");
            }
            bytes += got;
            size -= static_cast<std::size_t>(got);
        }
    }

    int fd_ = -1;
};

// multiprocessing.Pipe(): two connected ends (named as Python names it).
// NOLINTNEXTLINE(readability-identifier-naming)
[[nodiscard]] inline std::pair<Connection, Connection> Pipe() {
    int fds[2] = {-1, -1};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        throw std::system_error(errno, std::generic_category(), "socketpair");
    }
    return {Connection{fds[0]}, Connection{fds[1]}};
}

}  // namespace pyconc::multiprocessing
