// Helpers for the public-API tests: they use only <blip/blip.h> (and the standard library), so
// they test exactly the contract a user of libblip.so sees. Must not include anything from src/.
#pragma once

#include <blip/blip.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

/// Skips the test unless it runs inside the private network namespace of .ci/in-netns.sh
/// (which sets BLIP_NETNS), so no test ever sends multicast on a real network. A copy of the
/// macro in test/net/net_test_util.h: test/api may include only the public headers.
#define REQUIRE_NETNS()                                                                    \
    do {                                                                                   \
        if (std::getenv("BLIP_NETNS") == nullptr) {                                        \
            GTEST_SKIP() << "needs a private network namespace (run via .ci/in-netns.sh)"; \
        }                                                                                  \
    } while (0)

namespace blip_api_test {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// A group and port no other test (in this process or another one ctest runs in parallel in the
/// same namespace) uses: the group comes from the pid, the port from a per-process counter.
/// Sockets bind the group address itself (Linux), so equal ports on other groups never mix.
struct Address {
    std::string group;
    int port;
};

inline Address unique_address() {
    static std::atomic<int> counter{0};
    const int n = counter++;
    const auto pid = static_cast<unsigned>(getpid());
    char group[32];
    std::snprintf(group, sizeof group, "239.%u.%u.%u", 64 + ((pid >> 16) & 63), (pid >> 8) & 255,
                  pid & 255);
    return {group, 21000 + (n % 20000)};
}

/// A port for a test that brings its own group (IPv6 on its own veth pair).
inline int unique_port() { return unique_address().port; }

struct ConfigDeleter {
    void operator()(blip_config_t* c) const { EXPECT_EQ(blip_config_destroy(c), BLIP_OK); }
};
using ConfigPtr = std::unique_ptr<blip_config_t, ConfigDeleter>;

inline ConfigPtr make_config() {
    blip_config_t* c = nullptr;
    EXPECT_EQ(blip_config_create(&c), BLIP_OK);
    return ConfigPtr(c);
}

/// A config for `addr` on lo (127.0.0.1); every channel of the API tests names its interface.
inline ConfigPtr channel_config(const Address& addr, const char* iface = "127.0.0.1") {
    ConfigPtr c = make_config();
    if (!c) return c;
    EXPECT_EQ(blip_config_set_string(c.get(), "group", addr.group.c_str()), BLIP_OK)
        << blip_config_error(c.get());
    EXPECT_EQ(blip_config_set_int(c.get(), "port", addr.port), BLIP_OK)
        << blip_config_error(c.get());
    EXPECT_EQ(blip_config_set_string(c.get(), "interface", iface), BLIP_OK)
        << blip_config_error(c.get());
    return c;
}

inline void set_int(blip_config_t* c, const char* name, int64_t v) {
    EXPECT_EQ(blip_config_set_int(c, name, v), BLIP_OK) << name << ": " << blip_config_error(c);
}
inline void set_str(blip_config_t* c, const char* name, const char* v) {
    EXPECT_EQ(blip_config_set_string(c, name, v), BLIP_OK) << name << ": " << blip_config_error(c);
}

/// Owns a context; destroys it (closing its channels) at scope exit.
class Context {
public:
    Context() { EXPECT_EQ(blip_context_create(&ctx_), BLIP_OK); }
    ~Context() { destroy(); }
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    blip_context_t* get() const { return ctx_; }
    void destroy() {
        if (ctx_ != nullptr) {
            EXPECT_EQ(blip_context_destroy(ctx_), BLIP_OK);
        }
        ctx_ = nullptr;
    }

    /// Opens a channel; fails the test (and returns nullptr) on error.
    blip_channel_t* open(blip_config_t* cfg) {
        blip_channel_t* ch = nullptr;
        const int rc = blip_channel_open(ctx_, cfg, &ch);
        EXPECT_EQ(rc, BLIP_OK) << blip_err_name(rc) << ": " << blip_config_error(cfg);
        return rc == BLIP_OK ? ch : nullptr;
    }

private:
    blip_context_t* ctx_ = nullptr;
};

/// A copy of one event, owning its payload and text.
struct Event {
    int type = 0;
    int reason = 0;
    uint64_t node_id = 0;
    uint64_t session_id = 0;
    uint32_t stream_id = 0;
    int open_ended = 0;
    uint64_t sequence = 0;
    uint64_t count = 0;
    uint64_t old_session_id = 0;
    bool data_null = true;
    std::string data;
    int error = 0;
    std::string text;
    uint64_t suppressed = 0;
};

inline Event copy_info(const blip_event_info_t& i) {
    Event e;
    e.type = i.type;
    e.reason = i.reason;
    e.node_id = i.node_id;
    e.session_id = i.session_id;
    e.stream_id = i.stream_id;
    e.open_ended = i.open_ended;
    e.sequence = i.sequence;
    e.count = i.count;
    e.old_session_id = i.old_session_id;
    e.data_null = i.data == nullptr;
    if (i.data != nullptr) e.data.assign(static_cast<const char*>(i.data), i.length);
    e.error = i.error;
    if (i.text != nullptr) e.text = i.text;
    e.suppressed = i.suppressed;
    return e;
}

/// Takes one event; returns the receive code (the event is copied and freed on BLIP_OK).
inline int receive(blip_channel_t* ch, int timeout_ms, Event* out) {
    blip_event_t* ev = nullptr;
    const int rc = blip_channel_receive(ch, timeout_ms, &ev);
    if (rc != BLIP_OK) return rc;
    blip_event_info_t info{};
    info.size = sizeof info;
    const int irc = blip_event_get_info(ev, &info);
    EXPECT_EQ(irc, BLIP_OK);
    if (out != nullptr) *out = copy_info(info);
    EXPECT_EQ(blip_event_free(ev), BLIP_OK);
    return irc == BLIP_OK ? BLIP_OK : irc;
}

/// Receives events until `messages` MESSAGE events arrived or `timeout` passed; returns all
/// events taken (of every type), in order.
inline std::vector<Event> receive_messages(blip_channel_t* ch, size_t messages,
                                           std::chrono::milliseconds timeout = 10s) {
    std::vector<Event> out;
    size_t got = 0;
    const auto deadline = Clock::now() + timeout;
    while (got < messages && Clock::now() < deadline) {
        Event e;
        const int rc = receive(ch, 50, &e);
        if (rc == BLIP_ETIMEDOUT) continue;
        if (rc != BLIP_OK) {
            ADD_FAILURE() << "blip_channel_receive: " << blip_err_name(rc);
            break;
        }
        if (e.type == BLIP_EVENT_MESSAGE) ++got;
        out.push_back(std::move(e));
    }
    return out;
}

/// Takes every event that arrives within `quiet` (until a receive times out).
inline std::vector<Event> drain(blip_channel_t* ch, int quiet_ms = 200) {
    std::vector<Event> out;
    for (;;) {
        Event e;
        const int rc = receive(ch, quiet_ms, &e);
        if (rc != BLIP_OK) {
            EXPECT_TRUE(rc == BLIP_ETIMEDOUT) << blip_err_name(rc);
            break;
        }
        out.push_back(std::move(e));
    }
    return out;
}

inline std::vector<Event> only(const std::vector<Event>& events, int type) {
    std::vector<Event> out;
    for (const Event& e : events) {
        if (e.type == type) out.push_back(e);
    }
    return out;
}

/// Polls `done` every millisecond until it holds or `timeout` passes.
inline bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
        if (Clock::now() > deadline) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

/// Reads a channel counter; fails the test if it cannot be read.
inline uint64_t stat(blip_channel_t* ch, const char* name) {
    uint64_t v = 0;
    const int rc = blip_channel_stat(ch, name, &v);
    EXPECT_EQ(rc, BLIP_OK) << "blip_channel_stat(" << name << "): " << blip_err_name(rc);
    return v;
}

inline uint64_t remote_stat(blip_channel_t* ch, uint64_t node, uint32_t stream, const char* name) {
    uint64_t v = 0;
    const int rc = blip_channel_remote_stat(ch, node, stream, name, &v);
    EXPECT_EQ(rc, BLIP_OK) << "blip_channel_remote_stat(" << name << "): " << blip_err_name(rc);
    return v;
}

/// Every counter name of a scope, as blip_stat_name() lists them.
inline std::vector<std::string> stat_names(int scope) {
    std::vector<std::string> names;
    for (size_t i = 0;; ++i) {
        const char* name = nullptr;
        const int rc = blip_stat_name(scope, i, &name);
        if (rc == BLIP_EINVAL) break;
        EXPECT_EQ(rc, BLIP_OK);
        if (rc != BLIP_OK || name == nullptr || i > 10000) break;
        names.emplace_back(name);
    }
    return names;
}

inline bool has_stat(int scope, const std::string& name) {
    for (const std::string& n : stat_names(scope)) {
        if (n == name) return true;
    }
    return false;
}

inline uint64_t node_id(blip_channel_t* ch) {
    uint64_t node = 0;
    EXPECT_EQ(blip_channel_identity(ch, &node, nullptr), BLIP_OK);
    return node;
}

/// A message whose content follows from its index (and a salt), so receivers can check it.
inline std::string payload(uint64_t i, size_t size, uint32_t salt = 0) {
    std::string s(size, '\0');
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ULL ^ salt;
    for (size_t k = 0; k < size; ++k) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s[k] = static_cast<char>(x);
    }
    return s;
}

inline uint64_t send(blip_channel_t* ch, const std::string& msg) {
    uint64_t seq = ~0ULL;
    const int rc = blip_channel_send(ch, msg.data(), msg.size(), &seq);
    EXPECT_EQ(rc, BLIP_OK) << blip_err_name(rc);
    return seq;
}

/// Sends, retrying after blip_channel_wait_writable() while the send queue is full.
inline int send_blocking(blip_channel_t* ch, uint32_t stream, const std::string& msg,
                         uint64_t* seq) {
    for (;;) {
        const int rc = blip_channel_send_stream(ch, stream, msg.data(), msg.size(), seq);
        if (rc != BLIP_EAGAIN) return rc;
        const int w = blip_channel_wait_writable(ch, 10000);
        if (w != BLIP_OK) return w;
    }
}

/// Sends 1000-byte messages until BLIP_EAGAIN, again after the loop thread had a moment to
/// transmit (the rate limiter's burst leaves at once), until the queue stays full. Use with a
/// low rate_limit. Returns false if the queue would not stay full.
inline bool fill_until_full(blip_channel_t* ch) {
    const std::string m(1000, 'f');
    for (int round = 0; round < 20; ++round) {
        for (int i = 0; i < 100000; ++i) {
            const int rc = blip_channel_send(ch, m.data(), m.size(), nullptr);
            if (rc == BLIP_EAGAIN) break;
            if (rc != BLIP_OK) return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (blip_channel_wait_writable(ch, 0) == BLIP_ETIMEDOUT) return true;
    }
    return false;
}

/// Calls a std::function from a blip_event_fn: set it with set_callback(cfg, &holder).
struct Callback {
    std::function<void(blip_channel_t*, const blip_event_info_t*)> fn;
    static void trampoline(void* user, blip_channel_t* ch, const blip_event_info_t* info) {
        static_cast<Callback*>(user)->fn(ch, info);
    }
};

inline void set_callback(blip_config_t* cfg, Callback* cb) {
    EXPECT_EQ(blip_config_set_callback(cfg, &Callback::trampoline, cb), BLIP_OK);
}

}  // namespace blip_api_test
