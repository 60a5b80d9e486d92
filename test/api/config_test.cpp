// Config by name (blip.h, "Configuration"): every option of the header's table by string and by
// its typed setter, unknown names, wrong types, out-of-range values, the error message, and that
// a failed set keeps the old value. Only the public header.
#include <blip/blip.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "api_test_util.h"

namespace {

using namespace blip_api_test;

enum class Kind { kString, kInt, kBool, kDouble, kIntOrString };

struct Option {
    const char* name;
    Kind kind;
    const char* text;                   // a valid value as text
    int64_t number;                     // a valid value for the typed setter (kInt, kBool, kDouble)
    std::vector<int64_t> bad_ints;      // out of range for set_int (int options)
    std::vector<const char*> bad_text;  // refused by set_string
};

// The table of blip.h, one row per option. Valid values are non-defaults where possible.
const std::vector<Option>& options() {
    static const std::vector<Option> table = {
        {"group", Kind::kString, "239.1.2.3", 0, {}, {}},
        {"port",
         Kind::kInt,
         "5000",
         6000,
         {0, -1, 65536, 1LL << 40},
         {"70000", "0", "abc", "", "12x"}},
        {"interface", Kind::kString, "lo", 0, {}, {}},
        {"ttl", Kind::kInt, "4", 0, {-1, 256}, {"256", "-1", "four"}},
        {"loopback", Kind::kBool, "false", 0, {}, {"maybe", ""}},
        {"reuse_port", Kind::kBool, "0", 1, {}, {"perhaps"}},
        {"segmentation_offload", Kind::kBool, "false", 0, {}, {"sometimes"}},
        {"recv_buffer", Kind::kInt, "1048576", 65536, {-1}, {"-1", "lots"}},
        {"send_buffer", Kind::kInt, "1048576", 65536, {-1}, {"-1", "x"}},
        {"datagram_size", Kind::kInt, "9000", 128, {127, 65001, -1}, {"127", "65001", "big"}},
        {"max_message_size",
         Kind::kInt,
         "4294967295",
         4096,
         {-1, 0, 4294967296LL},
         {"-1", "1e", "0", "4294967296"}},
        {"stream", Kind::kInt, "4294967295", 7, {-1, 4294967296LL}, {"4294967296", "-1", "s"}},
        {"accept_streams", Kind::kString, "1,2,3", 0, {}, {}},
        {"window_bytes", Kind::kInt, "1048576", 1 << 20, {-1}, {"-1"}},
        {"window_messages", Kind::kInt, "1000", 1000, {-1}, {"-1"}},
        {"send_queue_bytes", Kind::kInt, "100000", 100000, {-1}, {"-1"}},
        {"send_queue_messages", Kind::kInt, "100", 100, {-1}, {"-1"}},
        {"rate_limit", Kind::kInt, "1000000", 1000000, {-1}, {"-1", "fast"}},
        {"repair_rate", Kind::kInt, "1000000", 1000000, {-1}, {"-1"}},
        {"repair_burst", Kind::kInt, "65536", 65536, {-1}, {"-1"}},
        {"repair_holdoff_us", Kind::kInt, "500", 500, {-1}, {"-1"}},
        {"heartbeat_min_us", Kind::kInt, "1000", 1000, {-1}, {"-1"}},
        {"heartbeat_max_us", Kind::kInt, "2000000", 2000000, {-1}, {"-1"}},
        {"flow_control", Kind::kBool, "off", 1, {}, {"sometimes"}},
        {"flow_timeout_ms", Kind::kInt, "2000", 2000, {-1, 0}, {"-1", "0"}},
        {"join", Kind::kString, "recover", 0, {}, {"sometimes", ""}},
        {"reorder_buffer_bytes", Kind::kInt, "65507", 1 << 20, {-1}, {"-1"}},
        {"nak_delay_min_us", Kind::kInt, "50", 50, {-1}, {"-1"}},
        {"nak_backoff_us", Kind::kInt, "1000", 1000, {-1}, {"-1"}},
        {"repair_timeout_us", Kind::kInt, "2000", 2000, {-1}, {"-1"}},
        {"adaptive_repair_timeout", Kind::kBool, "no", 0, {}, {"maybe"}},
        {"repair_timeout_min_us", Kind::kInt, "100", 100, {-1, 0}, {"-1", "0"}},
        {"nak_retry_max_us", Kind::kInt, "200000", 200000, {-1}, {"-1"}},
        {"nak_max_retries", Kind::kInt, "10", 10, {-1}, {"-1"}},
        {"sender_timeout_ms", Kind::kInt, "10000", 10000, {-1}, {"-1"}},
        {"sender_forget_ms", Kind::kInt, "120000", 120000, {-1}, {"-1"}},
        {"max_senders", Kind::kInt, "16", 16, {-1}, {"-1"}},
        {"busy_poll_us", Kind::kInt, "50", 50, {-1, 1000001}, {"-1", "1000001"}},
        {"receive_queue_messages", Kind::kInt, "100", 100, {-1}, {"-1"}},
        {"receive_queue_bytes", Kind::kInt, "1048576", 1 << 20, {-1}, {"-1"}},
        {"node_id", Kind::kIntOrString, "0x1f", 12345, {}, {"node", "0xzz", "12ab"}},
        {"node_name", Kind::kString, "host/service", 0, {}, {}},
        {"seed", Kind::kInt, "42", 42, {}, {"seedless"}},
        {"inject_loss", Kind::kDouble, "0.1", 0, {2, -1}, {"1.5", "-0.1", "nan", "lots"}},
        {"inject_seed", Kind::kInt, "7", 7, {}, {"x"}},
    };
    return table;
}

bool mentions(const blip_config_t* cfg, const std::string& what) {
    return std::string(blip_config_error(cfg)).find(what) != std::string::npos;
}

TEST(Config, CreateAndDestroy) {
    blip_config_t* cfg = nullptr;
    ASSERT_EQ(blip_config_create(&cfg), BLIP_OK);
    ASSERT_NE(cfg, nullptr);
    EXPECT_STREQ(blip_config_error(cfg), "");
    EXPECT_EQ(blip_config_destroy(cfg), BLIP_OK);
}

TEST(Config, NullArguments) {
    EXPECT_EQ(blip_config_create(nullptr), BLIP_EINVAL);
    EXPECT_EQ(blip_config_destroy(nullptr), BLIP_EINVAL);
    EXPECT_EQ(blip_config_set_string(nullptr, "ttl", "1"), BLIP_EINVAL);
    EXPECT_EQ(blip_config_set_int(nullptr, "ttl", 1), BLIP_EINVAL);
    EXPECT_EQ(blip_config_set_double(nullptr, "inject_loss", 0.5), BLIP_EINVAL);
    EXPECT_EQ(blip_config_set_bool(nullptr, "loopback", 1), BLIP_EINVAL);
    EXPECT_EQ(blip_config_set_callback(nullptr, nullptr, nullptr), BLIP_EINVAL);
    ASSERT_NE(blip_config_error(nullptr), nullptr);
    EXPECT_STREQ(blip_config_error(nullptr), "");

    ConfigPtr cfg = make_config();
    ASSERT_TRUE(cfg);
    EXPECT_EQ(blip_config_set_string(cfg.get(), nullptr, "1"), BLIP_EINVAL);
    EXPECT_EQ(blip_config_set_string(cfg.get(), "ttl", nullptr), BLIP_EINVAL);
    EXPECT_STRNE(blip_config_error(cfg.get()), "");
    EXPECT_EQ(blip_config_set_int(cfg.get(), nullptr, 1), BLIP_EINVAL);
    EXPECT_EQ(blip_config_set_double(cfg.get(), nullptr, 0.5), BLIP_EINVAL);
    EXPECT_EQ(blip_config_set_bool(cfg.get(), nullptr, 1), BLIP_EINVAL);
    // A NULL callback selects pull mode: valid.
    EXPECT_EQ(blip_config_set_callback(cfg.get(), nullptr, nullptr), BLIP_OK);
}

TEST(Config, EveryOptionBySetString) {
    for (const Option& o : options()) {
        ConfigPtr cfg = make_config();
        ASSERT_TRUE(cfg);
        EXPECT_EQ(blip_config_set_string(cfg.get(), o.name, o.text), BLIP_OK)
            << o.name << " = \"" << o.text << "\": " << blip_config_error(cfg.get());
        EXPECT_STREQ(blip_config_error(cfg.get()), "") << o.name;
    }
}

TEST(Config, EveryOptionByTypedSetter) {
    for (const Option& o : options()) {
        ConfigPtr cfg = make_config();
        ASSERT_TRUE(cfg);
        int rc = BLIP_EINTERNAL;
        switch (o.kind) {
            case Kind::kString:
                rc = blip_config_set_string(cfg.get(), o.name, o.text);
                break;
            case Kind::kInt:
            case Kind::kIntOrString:
                rc = blip_config_set_int(cfg.get(), o.name, o.number);
                break;
            case Kind::kBool:
                rc = blip_config_set_bool(cfg.get(), o.name, static_cast<int>(o.number));
                break;
            case Kind::kDouble:
                rc = blip_config_set_double(cfg.get(), o.name, 0.25);
                break;
        }
        EXPECT_EQ(rc, BLIP_OK) << o.name << ": " << blip_config_error(cfg.get());
        EXPECT_STREQ(blip_config_error(cfg.get()), "") << o.name;
    }
}

TEST(Config, BoolOptionsAcceptTextFormsAndIntZeroOne) {
    for (const char* name : {"loopback", "reuse_port", "segmentation_offload"}) {
        ConfigPtr cfg = make_config();
        ASSERT_TRUE(cfg);
        for (const char* text : {"true", "false", "1", "0"}) {
            EXPECT_EQ(blip_config_set_string(cfg.get(), name, text), BLIP_OK)
                << name << " = " << text << ": " << blip_config_error(cfg.get());
        }
        EXPECT_EQ(blip_config_set_bool(cfg.get(), name, 42), BLIP_OK) << "any nonzero is true";
        EXPECT_EQ(blip_config_set_int(cfg.get(), name, 0), BLIP_OK) << blip_config_error(cfg.get());
        EXPECT_EQ(blip_config_set_int(cfg.get(), name, 1), BLIP_OK) << blip_config_error(cfg.get());
    }
}

TEST(Config, DoubleOptionAcceptsIntAndRefusesNaN) {
    ConfigPtr cfg = make_config();
    ASSERT_TRUE(cfg);
    EXPECT_EQ(blip_config_set_int(cfg.get(), "inject_loss", 0), BLIP_OK);
    EXPECT_EQ(blip_config_set_int(cfg.get(), "inject_loss", 1), BLIP_OK);
    EXPECT_EQ(blip_config_set_double(cfg.get(), "inject_loss", 0.0), BLIP_OK);
    EXPECT_EQ(blip_config_set_double(cfg.get(), "inject_loss", 1.0), BLIP_OK);
    for (double bad :
         {std::nan(""), 1.0000001, -0.0000001, std::numeric_limits<double>::infinity()}) {
        EXPECT_EQ(blip_config_set_double(cfg.get(), "inject_loss", bad), BLIP_EINVAL) << bad;
        EXPECT_TRUE(mentions(cfg.get(), "inject_loss")) << blip_config_error(cfg.get());
    }
}

TEST(Config, NodeIdTakesIntOrDecimalOrHexText) {
    ConfigPtr cfg = make_config();
    ASSERT_TRUE(cfg);
    EXPECT_EQ(blip_config_set_string(cfg.get(), "node_id", "12345"), BLIP_OK);
    EXPECT_EQ(blip_config_set_string(cfg.get(), "node_id", "0xdeadBEEF01"), BLIP_OK);
    EXPECT_EQ(blip_config_set_string(cfg.get(), "node_id", "18446744073709551615"), BLIP_OK)
        << "node ids are 64-bit";
    EXPECT_EQ(blip_config_set_int(cfg.get(), "node_id", 77), BLIP_OK);
    EXPECT_EQ(blip_config_set_string(cfg.get(), "node_id", "18446744073709551616"), BLIP_EINVAL)
        << "above 64 bits";
    EXPECT_TRUE(mentions(cfg.get(), "node_id")) << blip_config_error(cfg.get());
}

TEST(Config, UnknownNameIsNotSupportedByEverySetter) {
    ConfigPtr cfg = make_config();
    ASSERT_TRUE(cfg);
    const char* name = "no_such_option_xyz";
    EXPECT_EQ(blip_config_set_string(cfg.get(), name, "1"), BLIP_ENOTSUP);
    EXPECT_TRUE(mentions(cfg.get(), name)) << blip_config_error(cfg.get());
    EXPECT_EQ(blip_config_set_int(cfg.get(), name, 1), BLIP_ENOTSUP);
    EXPECT_TRUE(mentions(cfg.get(), name)) << blip_config_error(cfg.get());
    EXPECT_EQ(blip_config_set_double(cfg.get(), name, 1.0), BLIP_ENOTSUP);
    EXPECT_TRUE(mentions(cfg.get(), name)) << blip_config_error(cfg.get());
    EXPECT_EQ(blip_config_set_bool(cfg.get(), name, 1), BLIP_ENOTSUP);
    EXPECT_TRUE(mentions(cfg.get(), name)) << blip_config_error(cfg.get());
    // Names are exact: no case folding, no prefix matching.
    EXPECT_EQ(blip_config_set_int(cfg.get(), "TTL", 1), BLIP_ENOTSUP);
    EXPECT_EQ(blip_config_set_int(cfg.get(), "tt", 1), BLIP_ENOTSUP);
    EXPECT_EQ(blip_config_set_int(cfg.get(), "ttl ", 1), BLIP_ENOTSUP);
    EXPECT_EQ(blip_config_set_string(cfg.get(), "", "1"), BLIP_ENOTSUP);
}

TEST(Config, OutOfRangeIntsAreRefusedWithAMessageNamingTheOption) {
    for (const Option& o : options()) {
        for (int64_t bad : o.bad_ints) {
            ConfigPtr cfg = make_config();
            ASSERT_TRUE(cfg);
            EXPECT_EQ(blip_config_set_int(cfg.get(), o.name, bad), BLIP_EINVAL)
                << o.name << " = " << bad;
            EXPECT_TRUE(mentions(cfg.get(), o.name))
                << o.name << " = " << bad << ": \"" << blip_config_error(cfg.get()) << "\"";
        }
    }
}

TEST(Config, BadTextIsRefusedWithAMessageNamingTheOption) {
    for (const Option& o : options()) {
        for (const char* bad : o.bad_text) {
            ConfigPtr cfg = make_config();
            ASSERT_TRUE(cfg);
            EXPECT_EQ(blip_config_set_string(cfg.get(), o.name, bad), BLIP_EINVAL)
                << o.name << " = \"" << bad << "\"";
            EXPECT_TRUE(mentions(cfg.get(), o.name))
                << o.name << " = \"" << bad << "\": \"" << blip_config_error(cfg.get()) << "\"";
        }
    }
}

TEST(Config, WrongTypeIsRefusedWithAMessageNamingTheOption) {
    for (const Option& o : options()) {
        ConfigPtr cfg = make_config();
        ASSERT_TRUE(cfg);
        auto expect_refused = [&](int rc, const char* setter) {
            EXPECT_EQ(rc, BLIP_EINVAL) << setter << " on " << o.name;
            EXPECT_TRUE(mentions(cfg.get(), o.name))
                << setter << " on " << o.name << ": \"" << blip_config_error(cfg.get()) << "\"";
        };
        // set_double only for double options; set_bool only for bool options; set_int not for
        // string options (node_id excepted).
        if (o.kind != Kind::kDouble) {
            expect_refused(blip_config_set_double(cfg.get(), o.name, 1.0), "set_double");
        }
        if (o.kind != Kind::kBool) {
            expect_refused(blip_config_set_bool(cfg.get(), o.name, 1), "set_bool");
        }
        if (o.kind == Kind::kString) {
            expect_refused(blip_config_set_int(cfg.get(), o.name, 1), "set_int");
        }
    }
}

TEST(Config, ErrorIsClearedBySuccess) {
    ConfigPtr cfg = make_config();
    ASSERT_TRUE(cfg);
    EXPECT_EQ(blip_config_set_int(cfg.get(), "ttl", 300), BLIP_EINVAL);
    EXPECT_TRUE(mentions(cfg.get(), "ttl"));
    EXPECT_EQ(blip_config_set_int(cfg.get(), "ttl", 3), BLIP_OK);
    EXPECT_STREQ(blip_config_error(cfg.get()), "");
}

// Misuse of the handle type: a context is not a config.
TEST(Config, WrongHandleKindIsRefused) {
    blip_context_t* ctx = nullptr;
    ASSERT_EQ(blip_context_create(&ctx), BLIP_OK);
    auto* fake = reinterpret_cast<blip_config_t*>(ctx);
    EXPECT_EQ(blip_config_set_int(fake, "ttl", 1), BLIP_EINVAL);
    EXPECT_EQ(blip_config_set_string(fake, "ttl", "1"), BLIP_EINVAL);
    EXPECT_EQ(blip_config_set_callback(fake, nullptr, nullptr), BLIP_EINVAL);
    EXPECT_EQ(blip_config_destroy(fake), BLIP_EINVAL);
    EXPECT_EQ(blip_context_destroy(ctx), BLIP_OK);
}

// ---- What a failed set leaves behind, observed through a channel --------------------------

// max_message_size is observable without a peer: a send above it gives BLIP_EMSGSIZE.
TEST(Config, FailedSetKeepsTheOldValue) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    ConfigPtr cfg = channel_config(addr);
    ASSERT_TRUE(cfg);
    ASSERT_EQ(blip_config_set_int(cfg.get(), "max_message_size", 1000), BLIP_OK);
    EXPECT_EQ(blip_config_set_int(cfg.get(), "max_message_size", -5), BLIP_EINVAL);
    EXPECT_EQ(blip_config_set_string(cfg.get(), "max_message_size", "lots"), BLIP_EINVAL);
    EXPECT_EQ(blip_config_set_double(cfg.get(), "max_message_size", 5000.0), BLIP_EINVAL);
    EXPECT_EQ(blip_config_set_bool(cfg.get(), "max_message_size", 1), BLIP_EINVAL);
    // The port too: a failed set must not leave a half-parsed value.
    EXPECT_EQ(blip_config_set_string(cfg.get(), "port", "99999"), BLIP_EINVAL);
    EXPECT_EQ(blip_config_set_string(cfg.get(), "port", "123abc"), BLIP_EINVAL);

    Context ctx;
    blip_channel_t* ch = ctx.open(cfg.get());
    ASSERT_NE(ch, nullptr);
    const std::string ok(1000, 'a');
    const std::string big(1001, 'b');
    EXPECT_EQ(blip_channel_send(ch, ok.data(), ok.size(), nullptr), BLIP_OK);
    EXPECT_EQ(blip_channel_send(ch, big.data(), big.size(), nullptr), BLIP_EMSGSIZE);

    // A second channel on the port that was set first hears the first one: the failed port sets
    // did not change it.
    ConfigPtr rx_cfg = channel_config(addr);
    blip_channel_t* rx = ctx.open(rx_cfg.get());
    ASSERT_NE(rx, nullptr);
    // (Sends are transmitted by the loop thread later, so rx may hear message 0 as well.)
    const std::string text = "still port " + std::to_string(addr.port);
    const uint64_t seq = send(ch, text);
    Event got;
    const auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline && got.data != text) {
        if (receive(rx, 100, &got) != BLIP_OK) got = Event();
    }
    EXPECT_EQ(got.data, text);
    EXPECT_EQ(got.sequence, seq);
}

// A channel keeps its own copy of the options: changing or destroying the config afterwards
// changes nothing.
TEST(Config, ChannelKeepsItsOwnCopy) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    ConfigPtr cfg = channel_config(addr);
    ASSERT_TRUE(cfg);
    set_int(cfg.get(), "max_message_size", 100);
    Context ctx;
    blip_channel_t* ch = ctx.open(cfg.get());
    ASSERT_NE(ch, nullptr);
    set_int(cfg.get(), "max_message_size", 100000);
    const std::string big(101, 'x');
    EXPECT_EQ(blip_channel_send(ch, big.data(), big.size(), nullptr), BLIP_EMSGSIZE);
    cfg.reset();
    EXPECT_EQ(blip_channel_send(ch, big.data(), 100, nullptr), BLIP_OK);
    EXPECT_EQ(blip_channel_send(ch, big.data(), big.size(), nullptr), BLIP_EMSGSIZE);
}

// Options whose value is refused only at open (e.g. a group that is not multicast) still give
// BLIP_EINVAL with a message; each is refused either by the setter or by blip_channel_open().
TEST(Config, ValuesRefusedAtSetOrOpen) {
    REQUIRE_NETNS();
    struct Case {
        const char* name;
        const char* value;
    };
    const Case cases[] = {
        {"group", "10.1.2.3"},    {"group", "not-an-address"}, {"group", "224.0.0.300"},
        {"group", "2001:db8::1"}, {"accept_streams", "1,x"},   {"accept_streams", "4294967296"},
        {"interface", ""},
    };
    Context ctx;
    for (const Case& c : cases) {
        const Address addr = unique_address();
        ConfigPtr cfg = channel_config(addr);
        ASSERT_TRUE(cfg);
        const int rc = blip_config_set_string(cfg.get(), c.name, c.value);
        if (rc != BLIP_OK) {
            EXPECT_EQ(rc, BLIP_EINVAL) << c.name << " = \"" << c.value << "\"";
            EXPECT_TRUE(mentions(cfg.get(), c.name))
                << c.name << " = \"" << c.value << "\": " << blip_config_error(cfg.get());
            continue;
        }
        blip_channel_t* ch = nullptr;
        const int orc = blip_channel_open(ctx.get(), cfg.get(), &ch);
        EXPECT_TRUE(orc == BLIP_EINVAL || (c.name == std::string("interface") &&
                                           (orc == BLIP_ENODEV || orc == BLIP_EADDRNOTAVAIL)))
            << c.name << " = \"" << c.value << "\": open gave " << blip_err_name(orc);
        EXPECT_EQ(ch, nullptr) << "out is unchanged on failure";
        EXPECT_STRNE(blip_config_error(cfg.get()), "") << c.name << " = \"" << c.value << "\"";
    }
}

}  // namespace
