// Misuse gives a specific error code, never a crash: NULL and wrong-kind handles, bad or missing
// options at open, a busy port, calls on a closed channel, oversized messages. Context lifetime
// and the calls a callback must not make are in lifecycle_test.cpp.
#include <blip/blip.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "api_test_util.h"

namespace {

using namespace blip_api_test;

// Every channel-taking function with `ch`; each must give `expected`.
void expect_all_channel_calls(blip_channel_t* ch, int expected, const char* what) {
    uint64_t seq = 0, v = 0, node = 0;
    size_t count = 0;
    int fd = -1;
    blip_event_t* ev = nullptr;
    EXPECT_EQ(blip_channel_send(ch, "x", 1, &seq), expected) << what << ": send";
    EXPECT_EQ(blip_channel_send_stream(ch, 1, "x", 1, &seq), expected) << what << ": send_stream";
    EXPECT_EQ(blip_channel_wait_writable(ch, 0), expected) << what << ": wait_writable";
    EXPECT_EQ(blip_channel_wait_sent(ch, 0), expected) << what << ": wait_sent";
    EXPECT_EQ(blip_channel_receive(ch, 0, &ev), expected) << what << ": receive";
    EXPECT_EQ(ev, nullptr);
    EXPECT_EQ(blip_channel_fd(ch, &fd), expected) << what << ": fd";
    EXPECT_EQ(blip_channel_identity(ch, &node, nullptr), expected) << what << ": identity";
    EXPECT_EQ(blip_channel_stat(ch, "messages_sent", &v), expected) << what << ": stat";
    EXPECT_EQ(blip_channel_remotes(ch, nullptr, nullptr, 0, &count), expected)
        << what << ": remotes";
    EXPECT_EQ(blip_channel_remote_stat(ch, 1, 0, "messages", &v), expected)
        << what << ": remote_stat";
    EXPECT_EQ(blip_channel_close(ch), expected) << what << ": close";
}

TEST(Misuse, NullHandles) {
    expect_all_channel_calls(nullptr, BLIP_EINVAL, "NULL channel");
    EXPECT_EQ(blip_context_create(nullptr), BLIP_EINVAL);
    EXPECT_EQ(blip_context_destroy(nullptr), BLIP_EINVAL);
    blip_channel_t* ch = nullptr;
    ConfigPtr cfg = make_config();
    EXPECT_EQ(blip_channel_open(nullptr, cfg.get(), &ch), BLIP_EINVAL);
    blip_event_info_t info{};
    info.size = sizeof info;
    EXPECT_EQ(blip_event_get_info(nullptr, &info), BLIP_EINVAL);
    EXPECT_EQ(blip_event_free(nullptr), BLIP_EINVAL);

    Context ctx;
    EXPECT_EQ(blip_channel_open(ctx.get(), nullptr, &ch), BLIP_EINVAL);
    EXPECT_EQ(blip_channel_open(ctx.get(), cfg.get(), nullptr), BLIP_EINVAL);
    EXPECT_EQ(ch, nullptr);
}

// Distinct handle kinds are told apart at the boundary: a config or a context passed where
// something else is expected gives BLIP_EINVAL.
TEST(Misuse, WrongHandleKinds) {
    ConfigPtr cfg = make_config();
    Context ctx;
    auto* cfg_as_channel = reinterpret_cast<blip_channel_t*>(cfg.get());
    auto* ctx_as_channel = reinterpret_cast<blip_channel_t*>(ctx.get());
    expect_all_channel_calls(cfg_as_channel, BLIP_EINVAL, "config as channel");
    expect_all_channel_calls(ctx_as_channel, BLIP_EINVAL, "context as channel");
    EXPECT_EQ(blip_context_destroy(reinterpret_cast<blip_context_t*>(cfg.get())), BLIP_EINVAL);
    EXPECT_EQ(blip_config_destroy(reinterpret_cast<blip_config_t*>(ctx.get())), BLIP_EINVAL);
    EXPECT_EQ(blip_event_free(reinterpret_cast<blip_event_t*>(cfg.get())), BLIP_EINVAL);
    EXPECT_EQ(blip_event_free(reinterpret_cast<blip_event_t*>(ctx.get())), BLIP_EINVAL);
    blip_event_info_t info{};
    info.size = sizeof info;
    EXPECT_EQ(blip_event_get_info(reinterpret_cast<blip_event_t*>(cfg.get()), &info), BLIP_EINVAL);
    blip_channel_t* ch = nullptr;
    EXPECT_EQ(blip_channel_open(reinterpret_cast<blip_context_t*>(cfg.get()), cfg.get(), &ch),
              BLIP_EINVAL);
    EXPECT_EQ(blip_channel_open(ctx.get(), reinterpret_cast<blip_config_t*>(ctx.get()), &ch),
              BLIP_EINVAL);
    EXPECT_EQ(ch, nullptr);
    // Both still work afterwards.
    EXPECT_EQ(blip_config_set_int(cfg.get(), "ttl", 2), BLIP_OK);
}

TEST(Misuse, NamesOfCodesTypesAndReasons) {
    const int codes[] = {BLIP_OK,         BLIP_EINVAL,        BLIP_ENOMEM,    BLIP_EAGAIN,
                         BLIP_EMSGSIZE,   BLIP_ECLOSED,       BLIP_ETIMEDOUT, BLIP_ENOTSUP,
                         BLIP_EADDRINUSE, BLIP_EADDRNOTAVAIL, BLIP_ENODEV,    BLIP_EPROTO,
                         BLIP_ESTATE,     BLIP_EIO,           BLIP_EINTERNAL};
    const char* names[] = {
        "BLIP_OK",      "BLIP_EINVAL",    "BLIP_ENOMEM",  "BLIP_EAGAIN",     "BLIP_EMSGSIZE",
        "BLIP_ECLOSED", "BLIP_ETIMEDOUT", "BLIP_ENOTSUP", "BLIP_EADDRINUSE", "BLIP_EADDRNOTAVAIL",
        "BLIP_ENODEV",  "BLIP_EPROTO",    "BLIP_ESTATE",  "BLIP_EIO",        "BLIP_EINTERNAL"};
    for (size_t i = 0; i < std::size(codes); ++i) {
        EXPECT_STREQ(blip_err_name(codes[i]), names[i]);
        ASSERT_NE(blip_strerror(codes[i]), nullptr);
        EXPECT_STRNE(blip_strerror(codes[i]), "unknown error") << names[i];
        EXPECT_STRNE(blip_strerror(codes[i]), "") << names[i];
    }
    EXPECT_STREQ(blip_err_name(-15), "BLIP_E_UNKNOWN");
    EXPECT_STREQ(blip_strerror(-15), "unknown error");
    EXPECT_STREQ(blip_err_name(INT32_MIN), "BLIP_E_UNKNOWN");

    const struct {
        int type;
        const char* name;
    } types[] = {{BLIP_EVENT_MESSAGE, "message"},
                 {BLIP_EVENT_LOSS, "loss"},
                 {BLIP_EVENT_SENDER_NEW, "sender_new"}};
    for (const auto& t : types) EXPECT_STREQ(blip_event_type_name(t.type), t.name);
    std::vector<std::string> seen;
    for (int t = BLIP_EVENT_MESSAGE; t <= BLIP_EVENT_WARNING; ++t) {
        const std::string n = blip_event_type_name(t);
        EXPECT_NE(n, "unknown") << t;
        for (const auto& s : seen) EXPECT_NE(s, n) << "two types named " << n;
        seen.push_back(n);
    }
    EXPECT_STREQ(blip_event_type_name(0), "unknown");
    EXPECT_STREQ(blip_event_type_name(BLIP_EVENT_WARNING + 1), "unknown");
    EXPECT_STREQ(blip_event_type_name(-1), "unknown");

    EXPECT_STREQ(blip_loss_reason_name(BLIP_LOSS_LEFT_WINDOW), "left_window");
    EXPECT_STREQ(blip_loss_reason_name(BLIP_LOSS_SENDER_GONE), "sender_gone");
    EXPECT_STREQ(blip_loss_reason_name(BLIP_LOSS_GAVE_UP), "gave_up");
    EXPECT_STREQ(blip_loss_reason_name(BLIP_LOSS_REJECTED), "rejected");
    EXPECT_STREQ(blip_loss_reason_name(0), "unknown");
    EXPECT_STREQ(blip_loss_reason_name(5), "unknown");
}

// ---- Open failures -----------------------------------------------------------------------

// Opens with `cfg` and expects `code`, out unchanged and a non-empty message in the config.
void expect_open_fails(blip_config_t* cfg, int code, const std::string& mentioned = "") {
    Context ctx;
    blip_channel_t* ch = reinterpret_cast<blip_channel_t*>(&ctx);  // sentinel
    const int rc = blip_channel_open(ctx.get(), cfg, &ch);
    EXPECT_EQ(rc, code) << blip_err_name(rc) << " (wanted " << blip_err_name(code)
                        << "): " << blip_config_error(cfg);
    EXPECT_EQ(ch, reinterpret_cast<blip_channel_t*>(&ctx)) << "out changed on failure";
    const std::string err = blip_config_error(cfg);
    EXPECT_FALSE(err.empty()) << "no message for " << blip_err_name(code);
    if (!mentioned.empty()) {
        EXPECT_NE(err.find(mentioned), std::string::npos)
            << "message \"" << err << "\" does not mention \"" << mentioned << "\"";
    }
}

TEST(Misuse, MissingRequiredOptions) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    {
        ConfigPtr cfg = make_config();
        set_int(cfg.get(), "port", addr.port);
        set_str(cfg.get(), "interface", "127.0.0.1");
        expect_open_fails(cfg.get(), BLIP_EINVAL, "group");
    }
    {
        ConfigPtr cfg = make_config();
        set_str(cfg.get(), "group", addr.group.c_str());
        set_str(cfg.get(), "interface", "127.0.0.1");
        expect_open_fails(cfg.get(), BLIP_EINVAL, "port");
    }
    {
        ConfigPtr cfg = make_config();
        set_str(cfg.get(), "group", addr.group.c_str());
        set_int(cfg.get(), "port", addr.port);
        expect_open_fails(cfg.get(), BLIP_EINVAL, "interface");
    }
    {
        ConfigPtr cfg = make_config();
        expect_open_fails(cfg.get(), BLIP_EINVAL);
    }
}

TEST(Misuse, GroupNotMulticast) {
    REQUIRE_NETNS();
    ConfigPtr cfg = channel_config(unique_address());
    const int rc = blip_config_set_string(cfg.get(), "group", "10.1.2.3");
    if (rc != BLIP_OK) {
        EXPECT_EQ(rc, BLIP_EINVAL);
        EXPECT_NE(std::string(blip_config_error(cfg.get())).find("group"), std::string::npos);
        return;
    }
    expect_open_fails(cfg.get(), BLIP_EINVAL, "10.1.2.3");
}

TEST(Misuse, UnknownInterface) {
    REQUIRE_NETNS();
    ConfigPtr cfg = channel_config(unique_address(), "nosuch0");
    expect_open_fails(cfg.get(), BLIP_ENODEV, "nosuch0");
}

// An interface given by an address no interface has, or by an unused index: ENODEV or
// EADDRNOTAVAIL (the header allows both), with a message.
TEST(Misuse, InterfaceAddressOrIndexNotPresent) {
    REQUIRE_NETNS();
    for (const char* iface : {"10.99.99.99", "9999"}) {
        ConfigPtr cfg = channel_config(unique_address(), iface);
        Context ctx;
        blip_channel_t* ch = nullptr;
        const int rc = blip_channel_open(ctx.get(), cfg.get(), &ch);
        EXPECT_TRUE(rc == BLIP_ENODEV || rc == BLIP_EADDRNOTAVAIL)
            << iface << ": " << blip_err_name(rc);
        EXPECT_EQ(ch, nullptr);
        EXPECT_STRNE(blip_config_error(cfg.get()), "") << iface;
    }
}

TEST(Misuse, PortInUseWithoutReuse) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr first = channel_config(addr);
    set_int(first.get(), "reuse_port", 0);
    ASSERT_EQ(blip_config_set_bool(first.get(), "reuse_port", 0), BLIP_OK);
    blip_channel_t* a = ctx.open(first.get());
    ASSERT_NE(a, nullptr);
    ConfigPtr second = channel_config(addr);
    ASSERT_EQ(blip_config_set_bool(second.get(), "reuse_port", 0), BLIP_OK);
    expect_open_fails(second.get(), BLIP_EADDRINUSE);
    // reuse_port off on the first side only: still refused.
    ConfigPtr third = channel_config(addr);
    expect_open_fails(third.get(), BLIP_EADDRINUSE);
    // Once the first is closed the port is free again.
    ASSERT_EQ(blip_channel_close(a), BLIP_OK);
    blip_channel_t* b = ctx.open(second.get());
    EXPECT_NE(b, nullptr);
    EXPECT_STREQ(blip_config_error(second.get()), "") << "cleared by the successful open";
}

// Relations between options (checked at open) are refused with BLIP_EINVAL and a message that
// names the options by their public names, as in the header's table.
TEST(Misuse, InconsistentOptionsNameThePublicOptions) {
    REQUIRE_NETNS();
    struct Case {
        const char* name;
        int64_t value;
        std::vector<const char*> mentioned;  // the message names at least one of these
    };
    const Case cases[] = {
        {"send_queue_bytes", 1000, {"send_queue_bytes", "max_message_size"}},
        {"heartbeat_min_us", 2000000, {"heartbeat_min_us", "heartbeat_max_us"}},
        {"heartbeat_max_us", 6000000, {"heartbeat_max_us", "sender_timeout_ms"}},
        {"window_bytes", 100, {"window_bytes", "datagram_size"}},
        {"repair_burst", 100, {"repair_burst", "datagram_size"}},
        {"sender_timeout_ms", 100000, {"sender_timeout_ms", "sender_forget_ms"}},
        {"repair_timeout_us", 200000, {"repair_timeout_us", "nak_retry_max_us"}},
        {"reorder_buffer_bytes", 1000, {"reorder_buffer_bytes"}},
    };
    for (const Case& c : cases) {
        ConfigPtr cfg = channel_config(unique_address());
        const int set_rc = blip_config_set_int(cfg.get(), c.name, c.value);
        std::string err;
        if (set_rc != BLIP_OK) {
            EXPECT_EQ(set_rc, BLIP_EINVAL) << c.name;
            err = blip_config_error(cfg.get());
        } else {
            Context ctx;
            blip_channel_t* ch = nullptr;
            EXPECT_EQ(blip_channel_open(ctx.get(), cfg.get(), &ch), BLIP_EINVAL)
                << c.name << " = " << c.value;
            err = blip_config_error(cfg.get());
        }
        bool named = false;
        for (const char* m : c.mentioned) named = named || err.find(m) != std::string::npos;
        EXPECT_TRUE(named) << c.name << " = " << c.value << ": the message \"" << err
                           << "\" names none of the options involved";
    }
}

// A failed open never calls the callback.
TEST(Misuse, FailedOpenNeverCallsTheCallback) {
    REQUIRE_NETNS();
    std::atomic<int> calls{0};
    Callback cb;
    cb.fn = [&](blip_channel_t*, const blip_event_info_t*) { ++calls; };
    Context ctx;
    ConfigPtr cfg = channel_config(unique_address(), "nosuch0");
    set_int(cfg.get(), "recv_buffer", 512 << 20);  // would give a WARNING event if it opened
    set_callback(cfg.get(), &cb);
    blip_channel_t* ch = nullptr;
    EXPECT_EQ(blip_channel_open(ctx.get(), cfg.get(), &ch), BLIP_ENODEV);
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(calls.load(), 0);
}

// ---- Calls on a closed channel -------------------------------------------------------------

TEST(Misuse, EveryCallOnAClosedChannelGivesEclosed) {
    REQUIRE_NETNS();
    Context ctx;
    ConfigPtr cfg = channel_config(unique_address());
    blip_channel_t* ch = ctx.open(cfg.get());
    ASSERT_NE(ch, nullptr);
    EXPECT_EQ(blip_channel_send(ch, "x", 1, nullptr), BLIP_OK);
    ASSERT_EQ(blip_channel_close(ch), BLIP_OK);
    expect_all_channel_calls(ch, BLIP_ECLOSED, "closed channel");  // includes a second close
    EXPECT_EQ(blip_channel_close(ch), BLIP_ECLOSED);
}

TEST(Misuse, OversizedMessage) {
    REQUIRE_NETNS();
    Context ctx;
    ConfigPtr cfg = channel_config(unique_address());
    blip_channel_t* ch = ctx.open(cfg.get());
    ASSERT_NE(ch, nullptr);
    const std::string big((16u << 20) + 1, 'o');  // default max_message_size is 16 MiB
    uint64_t seq = 777;
    EXPECT_EQ(blip_channel_send(ch, big.data(), big.size(), &seq), BLIP_EMSGSIZE);
    EXPECT_EQ(blip_channel_send_stream(ch, 5, big.data(), big.size(), &seq), BLIP_EMSGSIZE);
    EXPECT_EQ(seq, 777u) << "seq written on failure";
    EXPECT_EQ(blip_channel_send(ch, big.data(), SIZE_MAX, &seq), BLIP_EMSGSIZE);
    // The refused sends took no sequence number.
    EXPECT_EQ(blip_channel_send(ch, "ok", 2, &seq), BLIP_OK);
    EXPECT_EQ(seq, 0u);

    ConfigPtr small = channel_config(unique_address());
    set_int(small.get(), "max_message_size", 100);
    blip_channel_t* ch2 = ctx.open(small.get());
    ASSERT_NE(ch2, nullptr);
    EXPECT_EQ(blip_channel_send(ch2, big.data(), 100, nullptr), BLIP_OK);
    EXPECT_EQ(blip_channel_send(ch2, big.data(), 101, nullptr), BLIP_EMSGSIZE);
}

TEST(Misuse, BadArgumentsOnAnOpenChannel) {
    REQUIRE_NETNS();
    Context ctx;
    ConfigPtr cfg = channel_config(unique_address());
    blip_channel_t* ch = ctx.open(cfg.get());
    ASSERT_NE(ch, nullptr);
    EXPECT_EQ(blip_channel_send(ch, nullptr, 5, nullptr), BLIP_EINVAL);
    EXPECT_EQ(blip_channel_send_stream(ch, 0, nullptr, 1, nullptr), BLIP_EINVAL);
    EXPECT_EQ(blip_channel_send(ch, nullptr, 0, nullptr), BLIP_OK) << "NULL data with len 0";
    EXPECT_EQ(blip_channel_receive(ch, 0, nullptr), BLIP_EINVAL);
    EXPECT_EQ(blip_channel_fd(ch, nullptr), BLIP_EINVAL);
    // The channel still works.
    EXPECT_EQ(blip_channel_send(ch, "fine", 4, nullptr), BLIP_OK);

    // A channel handle is not a config, a context or an event.
    EXPECT_EQ(blip_config_set_int(reinterpret_cast<blip_config_t*>(ch), "ttl", 1), BLIP_EINVAL);
    EXPECT_EQ(blip_config_destroy(reinterpret_cast<blip_config_t*>(ch)), BLIP_EINVAL);
    EXPECT_EQ(blip_context_destroy(reinterpret_cast<blip_context_t*>(ch)), BLIP_EINVAL);
    EXPECT_EQ(blip_event_free(reinterpret_cast<blip_event_t*>(ch)), BLIP_EINVAL);
    blip_event_info_t info{};
    info.size = sizeof info;
    EXPECT_EQ(blip_event_get_info(reinterpret_cast<blip_event_t*>(ch), &info), BLIP_EINVAL);
    EXPECT_EQ(blip_channel_send(ch, "still fine", 10, nullptr), BLIP_OK);
}

// blip_event_get_info checks `size`, writes at most that many bytes and reports what it filled;
// an event is not a channel.
TEST(Misuse, EventInfoSizeAndEventAsChannel) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    send(tx, "info");
    blip_event_t* ev = nullptr;
    for (;;) {
        ASSERT_EQ(blip_channel_receive(rx, 10000, &ev), BLIP_OK);
        blip_event_info_t info{};
        info.size = sizeof info;
        ASSERT_EQ(blip_event_get_info(ev, &info), BLIP_OK);
        if (info.type == BLIP_EVENT_MESSAGE) break;
        ASSERT_EQ(blip_event_free(ev), BLIP_OK);
    }
    // Too small (smaller than the first version of the struct): refused, nothing written.
    blip_event_info_t small{};
    small.size = sizeof small - 1;
    EXPECT_EQ(blip_event_get_info(ev, &small), BLIP_EINVAL);
    EXPECT_EQ(small.type, 0);
    small.size = 0;
    EXPECT_EQ(blip_event_get_info(ev, &small), BLIP_EINVAL);
    EXPECT_EQ(blip_event_get_info(ev, nullptr), BLIP_EINVAL);

    // Larger (a caller built against a newer header): filled up to what this version knows.
    struct Bigger {
        blip_event_info_t info;
        unsigned char extra[64];
    } big;
    std::memset(&big, 0xAB, sizeof big);
    big.info.size = sizeof big;
    ASSERT_EQ(blip_event_get_info(ev, &big.info), BLIP_OK);
    EXPECT_EQ(big.info.size, sizeof(blip_event_info_t));
    EXPECT_EQ(big.info.type, BLIP_EVENT_MESSAGE);
    EXPECT_EQ(std::string(static_cast<const char*>(big.info.data), big.info.length), "info");
    for (unsigned char b : big.extra) EXPECT_EQ(b, 0xAB) << "wrote past what it knows";

    // An event is not a channel.
    expect_all_channel_calls(reinterpret_cast<blip_channel_t*>(ev), BLIP_EINVAL, "event");
    EXPECT_EQ(blip_event_free(ev), BLIP_OK);
}

}  // namespace
