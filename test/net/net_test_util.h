// Helpers shared by the real-socket tests: the namespace guard, an owned uv loop that checks
// every handle was closed, a datagram recorder, and a sender/receiver socket pair.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "io/udp_socket.h"

/// Skips the test unless it runs inside the private network namespace of .ci/in-netns.sh
/// (which sets BLIP_NETNS), so no test ever sends multicast on a real network.
#define REQUIRE_NETNS()                                                                \
    do {                                                                               \
        if (std::getenv("BLIP_NETNS") == nullptr) {                                    \
            GTEST_SKIP() << "needs a private network namespace (run via .ci/test.sh)"; \
        }                                                                              \
    } while (0)

namespace blip::nettest {

inline std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

/// Owns a loop; at the end every handle must be closed, so uv_loop_close() must succeed.
class Loop {
public:
    Loop() { EXPECT_EQ(uv_loop_init(&loop_), 0); }
    ~Loop() {
        if (!closed_) close_and_check();
    }
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;
    uv_loop_t* get() { return &loop_; }

    /// Runs the loop until `done` or a timeout; false on timeout.
    bool run_until(const std::function<bool()>& done,
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            uv_run(&loop_, UV_RUN_NOWAIT);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return true;
    }
    /// Lets pending work (close callbacks, late duplicates) run for a moment.
    void settle(std::chrono::milliseconds t) {
        run_until([] { return false; }, t);
    }
    /// Runs until no handle is active or closing, then requires the loop to close cleanly.
    void close_and_check() {
        closed_ = true;
        uv_run(&loop_, UV_RUN_DEFAULT);
        EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle was left open";
    }

private:
    uv_loop_t loop_{};
    bool closed_ = false;
};

/// Records every datagram a UdpSocket delivers.
struct Received {
    std::vector<std::vector<std::uint8_t>> datagrams;
    io::UdpSocket::OnDatagram callback() {
        return
            [this](std::span<const std::uint8_t> d) { datagrams.emplace_back(d.begin(), d.end()); };
    }
};

/// A sending and a receiving socket, each recording what it hears. Declare it after the Loop
/// it opens on, so that it goes first.
struct SocketPair {
    io::UdpSocket tx;
    io::UdpSocket rx;
    Received rtx;
    Received rrx;

    /// Opens tx, then rx; on failure says which one and why.
    ::testing::AssertionResult open(uv_loop_t* loop, const io::UdpOptions& tx_options,
                                    const io::UdpOptions& rx_options) {
        std::string err;
        if (tx.open(loop, tx_options, rtx.callback(), nullptr, &err) != 0) {
            return ::testing::AssertionFailure() << "open tx: " << err;
        }
        if (rx.open(loop, rx_options, rrx.callback(), nullptr, &err) != 0) {
            return ::testing::AssertionFailure() << "open rx: " << err;
        }
        return ::testing::AssertionSuccess();
    }
    void close() {
        tx.close(nullptr);
        rx.close(nullptr);
    }
};

}  // namespace blip::nettest
