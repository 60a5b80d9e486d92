// Statistics by name: enumeration of both scopes, every name readable, counters that match an
// exchange, the list of remote sender streams, and the error codes of the getters.
#include <blip/blip.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api_test_util.h"

namespace {

using namespace blip_api_test;

bool well_formed(const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
}

TEST(Stats, NamesEnumerateUntilEinval) {
    for (int scope : {BLIP_STATS_CHANNEL, BLIP_STATS_REMOTE}) {
        const auto names = stat_names(scope);
        EXPECT_GE(names.size(), 3u) << "scope " << scope;
        std::set<std::string> unique;
        for (const std::string& n : names) {
            EXPECT_TRUE(well_formed(n)) << "\"" << n << "\"";
            EXPECT_TRUE(unique.insert(n).second) << "duplicate " << n;
        }
        // Past the end stays past the end; the out-parameter is untouched.
        const char* name = "sentinel";
        EXPECT_EQ(blip_stat_name(scope, names.size(), &name), BLIP_EINVAL);
        EXPECT_EQ(blip_stat_name(scope, names.size() + 1000, &name), BLIP_EINVAL);
        EXPECT_EQ(blip_stat_name(scope, SIZE_MAX, &name), BLIP_EINVAL);
        EXPECT_STREQ(name, "sentinel");
        EXPECT_EQ(blip_stat_name(scope, 0, nullptr), BLIP_EINVAL);
        // The list is stable: index 0 names the same counter on every call.
        const char* again = nullptr;
        ASSERT_EQ(blip_stat_name(scope, 0, &again), BLIP_OK);
        EXPECT_EQ(std::string(again), names[0]);
    }
    const char* name = nullptr;
    EXPECT_EQ(blip_stat_name(2, 0, &name), BLIP_EINVAL);
    EXPECT_EQ(blip_stat_name(-1, 0, &name), BLIP_EINVAL);
}

// The counters blip.h names as examples exist.
TEST(Stats, DocumentedNamesExist) {
    for (const char* n : {"messages_sent", "naks_sent", "kernel_drops"}) {
        EXPECT_TRUE(has_stat(BLIP_STATS_CHANNEL, n)) << n;
    }
    for (const char* n : {"messages", "repairs", "naks_sent"}) {
        EXPECT_TRUE(has_stat(BLIP_STATS_REMOTE, n)) << n;
    }
}

struct Pair {
    Context ctx;
    ConfigPtr rc, tc;
    blip_channel_t* rx = nullptr;
    blip_channel_t* tx = nullptr;
    explicit Pair(const Address& addr) : rc(channel_config(addr)), tc(channel_config(addr)) {
        rx = ctx.open(rc.get());
        tx = ctx.open(tc.get());
    }
};

TEST(Stats, EveryNameIsReadable) {
    REQUIRE_NETNS();
    Pair p(unique_address());
    ASSERT_NE(p.rx, nullptr);
    ASSERT_NE(p.tx, nullptr);
    send(p.tx, "hello");
    ASSERT_EQ(only(receive_messages(p.rx, 1), BLIP_EVENT_MESSAGE).size(), 1u);
    const uint64_t tx_node = node_id(p.tx);
    for (const std::string& n : stat_names(BLIP_STATS_CHANNEL)) {
        uint64_t v = 0;
        EXPECT_EQ(blip_channel_stat(p.rx, n.c_str(), &v), BLIP_OK) << n;
        EXPECT_EQ(blip_channel_stat(p.tx, n.c_str(), &v), BLIP_OK) << n;
    }
    for (const std::string& n : stat_names(BLIP_STATS_REMOTE)) {
        uint64_t v = 0;
        EXPECT_EQ(blip_channel_remote_stat(p.rx, tx_node, 0, n.c_str(), &v), BLIP_OK) << n;
    }
}

// After an exchange the counters say exactly what was sent and received.
TEST(Stats, CountersMatchAnExchange) {
    REQUIRE_NETNS();
    Pair p(unique_address());
    ASSERT_NE(p.rx, nullptr);
    ASSERT_NE(p.tx, nullptr);
    EXPECT_EQ(stat(p.tx, "messages_sent"), 0u);
    const int n = 50;
    uint64_t bytes = 0;
    for (int i = 0; i < n; ++i) {
        const std::string m = payload(i, 10 + i * 31);
        bytes += m.size();
        send(p.tx, m);
    }
    ASSERT_EQ(only(receive_messages(p.rx, n), BLIP_EVENT_MESSAGE).size(), static_cast<size_t>(n));
    const uint64_t tx_node = node_id(p.tx);
    EXPECT_EQ(stat(p.tx, "messages_sent"), static_cast<uint64_t>(n));
    EXPECT_EQ(stat(p.rx, "messages_sent"), 0u) << "the receiver sent nothing";
    EXPECT_EQ(remote_stat(p.rx, tx_node, 0, "messages"), static_cast<uint64_t>(n));
    if (has_stat(BLIP_STATS_CHANNEL, "bytes_sent")) {
        EXPECT_EQ(stat(p.tx, "bytes_sent"), bytes);
    }
    if (has_stat(BLIP_STATS_REMOTE, "bytes")) {
        EXPECT_EQ(remote_stat(p.rx, tx_node, 0, "bytes"), bytes);
    }
    // The channel scope sums the remote streams: a counter of messages received equals n.
    bool found = false;
    for (const char* name : {"messages_received", "messages_delivered", "messages"}) {
        if (has_stat(BLIP_STATS_CHANNEL, name)) {
            found = true;
            EXPECT_EQ(stat(p.rx, name), static_cast<uint64_t>(n)) << name;
            EXPECT_EQ(stat(p.tx, name), 0u) << name << ": own messages are not received";
        }
    }
    EXPECT_TRUE(found) << "no channel counter of received messages";
    // Nothing was lost, so nothing was NAKed or repaired.
    EXPECT_EQ(stat(p.rx, "naks_sent"), 0u);
    EXPECT_EQ(remote_stat(p.rx, tx_node, 0, "repairs"), 0u);
    EXPECT_EQ(remote_stat(p.rx, tx_node, 0, "naks_sent"), 0u);
}

// The kernel drops each of a channel's own looped-back datagrams at its receive socket (a filter
// does it, and counts it as a drop); kernel_drops leaves those out: it counts only datagrams lost
// for want of buffer space. Both sides send here (data one way, NAKs the other).
TEST(Stats, KernelDropsLeaveOutOwnLoopedDatagrams) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(rc.get(), "recv_buffer", 4 << 20);
    set_str(rc.get(), "inject_loss", "0.1");
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    const int n = 2000;
    for (int i = 0; i < n; ++i) {
        ASSERT_EQ(send_blocking(tx, 0, payload(static_cast<uint64_t>(i), 200), nullptr), BLIP_OK);
        if (i % 100 == 99) {
            ASSERT_EQ(blip_channel_wait_sent(tx, 10000), BLIP_OK);
        }
    }
    ASSERT_EQ(only(receive_messages(rx, n, 30s), BLIP_EVENT_MESSAGE).size(),
              static_cast<size_t>(n));
    ASSERT_GT(stat(tx, "socket_datagrams_sent"), 0u);
    ASSERT_GT(stat(rx, "naks_sent"), 0u) << "10% loss and no NAK: the test checks nothing";
    EXPECT_EQ(stat(tx, "kernel_drops"), 0u);
    EXPECT_EQ(stat(rx, "kernel_drops"), 0u);
    EXPECT_EQ(stat(tx, "own_looped"), 0u) << "own datagrams reached the engine";
}

TEST(Stats, RemotesListTheSenderStreams) {
    REQUIRE_NETNS();
    Pair p(unique_address());
    ASSERT_NE(p.rx, nullptr);
    ASSERT_NE(p.tx, nullptr);
    size_t count = 99;
    ASSERT_EQ(blip_channel_remotes(p.rx, nullptr, nullptr, 0, &count), BLIP_OK);
    EXPECT_EQ(count, 0u) << "nothing heard yet";

    ASSERT_EQ(blip_channel_send_stream(p.tx, 3, "a", 1, nullptr), BLIP_OK);
    ASSERT_EQ(blip_channel_send_stream(p.tx, 9, "b", 1, nullptr), BLIP_OK);
    ASSERT_EQ(only(receive_messages(p.rx, 2), BLIP_EVENT_MESSAGE).size(), 2u);
    const uint64_t tx_node = node_id(p.tx);

    ASSERT_EQ(blip_channel_remotes(p.rx, nullptr, nullptr, 0, &count), BLIP_OK);
    EXPECT_EQ(count, 2u);
    uint64_t nodes[4] = {1, 1, 1, 1};
    uint32_t streams[4] = {1, 1, 1, 1};
    ASSERT_EQ(blip_channel_remotes(p.rx, nodes, streams, 4, &count), BLIP_OK);
    ASSERT_EQ(count, 2u);
    std::set<uint32_t> seen;
    for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(nodes[i], tx_node);
        seen.insert(streams[i]);
    }
    EXPECT_EQ(seen, (std::set<uint32_t>{3, 9}));
    EXPECT_EQ(nodes[2], 1u) << "wrote past count";

    // A short array: count says how many there are, only capacity entries are written.
    uint64_t one_node[2] = {7, 7};
    uint32_t one_stream[2] = {7, 7};
    ASSERT_EQ(blip_channel_remotes(p.rx, one_node, one_stream, 1, &count), BLIP_OK);
    EXPECT_EQ(count, 2u);
    EXPECT_EQ(one_node[0], tx_node);
    EXPECT_TRUE(one_stream[0] == 3 || one_stream[0] == 9);
    EXPECT_EQ(one_node[1], 7u) << "wrote past capacity";
    EXPECT_EQ(one_stream[1], 7u) << "wrote past capacity";

    // Per-stream remote counters.
    EXPECT_EQ(remote_stat(p.rx, tx_node, 3, "messages"), 1u);
    EXPECT_EQ(remote_stat(p.rx, tx_node, 9, "messages"), 1u);
    // The sender does not track itself.
    ASSERT_EQ(blip_channel_remotes(p.tx, nullptr, nullptr, 0, &count), BLIP_OK);
    EXPECT_EQ(count, 0u);
}

TEST(Stats, ErrorCodes) {
    REQUIRE_NETNS();
    Pair p(unique_address());
    ASSERT_NE(p.rx, nullptr);
    ASSERT_NE(p.tx, nullptr);
    send(p.tx, "x");
    ASSERT_EQ(only(receive_messages(p.rx, 1), BLIP_EVENT_MESSAGE).size(), 1u);
    const uint64_t tx_node = node_id(p.tx);
    uint64_t v = 12345;
    EXPECT_EQ(blip_channel_stat(p.rx, "no_such_counter", &v), BLIP_ENOTSUP);
    EXPECT_EQ(blip_channel_stat(p.rx, "", &v), BLIP_ENOTSUP);
    EXPECT_EQ(blip_channel_stat(p.rx, nullptr, &v), BLIP_EINVAL);
    EXPECT_EQ(blip_channel_stat(p.rx, "messages_sent", nullptr), BLIP_EINVAL);
    EXPECT_EQ(blip_channel_stat(nullptr, "messages_sent", &v), BLIP_EINVAL);
    EXPECT_EQ(v, 12345u) << "out is untouched on failure";

    EXPECT_EQ(blip_channel_remote_stat(p.rx, tx_node, 0, "no_such_counter", &v), BLIP_ENOTSUP);
    EXPECT_EQ(blip_channel_remote_stat(p.rx, tx_node ^ 1, 0, "messages", &v), BLIP_EADDRNOTAVAIL);
    EXPECT_EQ(blip_channel_remote_stat(p.rx, tx_node, 1, "messages", &v), BLIP_EADDRNOTAVAIL)
        << "stream 1 of the sender was never heard";
    EXPECT_EQ(blip_channel_remote_stat(p.rx, node_id(p.rx), 0, "messages", &v), BLIP_EADDRNOTAVAIL)
        << "a channel is not its own remote";
    EXPECT_EQ(blip_channel_remote_stat(p.rx, tx_node, 0, nullptr, &v), BLIP_EINVAL);
    EXPECT_EQ(blip_channel_remote_stat(p.rx, tx_node, 0, "messages", nullptr), BLIP_EINVAL);
    EXPECT_EQ(blip_channel_remote_stat(nullptr, tx_node, 0, "messages", &v), BLIP_EINVAL);
    EXPECT_EQ(v, 12345u) << "out is untouched on failure";

    size_t count = 0;
    EXPECT_EQ(blip_channel_remotes(p.rx, nullptr, nullptr, 0, nullptr), BLIP_EINVAL);
    EXPECT_EQ(blip_channel_remotes(nullptr, nullptr, nullptr, 0, &count), BLIP_EINVAL);
    EXPECT_EQ(blip_channel_remotes(p.rx, nullptr, nullptr, 4, &count), BLIP_EINVAL)
        << "NULL arrays with capacity > 0";

    // Closed: every getter says so.
    ASSERT_EQ(blip_channel_close(p.rx), BLIP_OK);
    EXPECT_EQ(blip_channel_stat(p.rx, "messages_sent", &v), BLIP_ECLOSED);
    EXPECT_EQ(blip_channel_remote_stat(p.rx, tx_node, 0, "messages", &v), BLIP_ECLOSED);
    EXPECT_EQ(blip_channel_remotes(p.rx, nullptr, nullptr, 0, &count), BLIP_ECLOSED);
}

// The counters can be read from many threads at once while traffic flows.
TEST(Stats, ConcurrentReadsWhileTrafficFlows) {
    REQUIRE_NETNS();
    Pair p(unique_address());
    ASSERT_NE(p.rx, nullptr);
    ASSERT_NE(p.tx, nullptr);
    std::atomic<bool> stop{false};
    std::atomic<int> errors{0};
    std::vector<std::thread> readers;
    const auto channel_names = stat_names(BLIP_STATS_CHANNEL);
    for (int t = 0; t < 3; ++t) {
        readers.emplace_back([&] {
            uint64_t last = 0;
            while (!stop) {
                uint64_t v = 0;
                for (const std::string& n : channel_names) {
                    if (blip_channel_stat(p.rx, n.c_str(), &v) != BLIP_OK) ++errors;
                }
                if (blip_channel_stat(p.tx, "messages_sent", &v) != BLIP_OK) ++errors;
                if (v < last) ++errors;  // counters never go backwards
                last = v;
                size_t count = 0;
                if (blip_channel_remotes(p.rx, nullptr, nullptr, 0, &count) != BLIP_OK) ++errors;
            }
        });
    }
    for (int i = 0; i < 500; ++i) send_blocking(p.tx, 0, payload(i, 200), nullptr);
    const auto msgs = only(receive_messages(p.rx, 500, 30s), BLIP_EVENT_MESSAGE);
    stop = true;
    for (auto& r : readers) r.join();
    EXPECT_EQ(msgs.size(), 500u);
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(stat(p.tx, "messages_sent"), 500u);
}

}  // namespace
