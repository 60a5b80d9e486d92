// Channels in pull mode over loopback multicast (127.0.0.1): exchange in one and in two contexts,
// sequence numbers, identities, no self-delivery, empty and fragmented messages, streams and
// foreign traffic. Every test opens channels on its own group and port; all skip outside the
// private network namespace.
#include <arpa/inet.h>
#include <blip/blip.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "api_test_util.h"

namespace {

using namespace blip_api_test;

// Sends `n` messages from `tx`, checks that `rx` receives exactly them: in order, with the
// sequence numbers send returned, the sender's node and session ids, and intact payloads.
void expect_exchange(blip_channel_t* tx, blip_channel_t* rx, int n, uint32_t salt) {
    uint64_t tx_node = 0, tx_session = 0;
    ASSERT_EQ(blip_channel_identity(tx, &tx_node, &tx_session), BLIP_OK);
    std::vector<uint64_t> seqs;
    for (int i = 0; i < n; ++i) seqs.push_back(send(tx, payload(i, 10 + i * 7, salt)));

    const auto events = receive_messages(rx, n);
    const auto msgs = only(events, BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        EXPECT_EQ(msgs[i].sequence, seqs[i]) << i;
        EXPECT_EQ(msgs[i].node_id, tx_node) << i;
        EXPECT_EQ(msgs[i].session_id, tx_session) << i;
        EXPECT_EQ(msgs[i].stream_id, 0u) << i;
        EXPECT_EQ(msgs[i].data, payload(i, 10 + i * 7, salt)) << i;
        if (i > 0) {
            EXPECT_EQ(msgs[i].sequence, msgs[i - 1].sequence + 1) << "consecutive";
        }
    }
    // No loss was reported on a lossless link.
    EXPECT_TRUE(only(events, BLIP_EVENT_LOSS).empty());
}

TEST(Channel, TwoChannelsInOneContextExchangeMessages) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr ca = channel_config(addr), cb = channel_config(addr);
    blip_channel_t* a = ctx.open(ca.get());
    blip_channel_t* b = ctx.open(cb.get());
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_NE(node_id(a), node_id(b)) << "random node ids per open";
    expect_exchange(a, b, 20, 1);
    expect_exchange(b, a, 20, 2);
}

TEST(Channel, TwoContextsExchangeMessages) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx1, ctx2;
    ConfigPtr ca = channel_config(addr), cb = channel_config(addr);
    blip_channel_t* a = ctx1.open(ca.get());
    blip_channel_t* b = ctx2.open(cb.get());
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    expect_exchange(a, b, 20, 3);
    expect_exchange(b, a, 20, 4);
}

// Sequence numbers start at 0 per stream and sender start, and count up by one.
TEST(Channel, SequenceNumbersStartAtZero) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    for (uint64_t i = 0; i < 5; ++i) EXPECT_EQ(send(tx, "m" + std::to_string(i)), i);
    const auto msgs = only(receive_messages(rx, 5), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), 5u);
    for (uint64_t i = 0; i < 5; ++i) {
        EXPECT_EQ(msgs[i].sequence, i);
        EXPECT_EQ(msgs[i].data, "m" + std::to_string(i));
    }
}

// The sender's own messages are not delivered back to it, although loopback is on.
TEST(Channel, OwnMessagesAreNotDeliveredToTheSender) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr ca = channel_config(addr), cb = channel_config(addr);
    blip_channel_t* a = ctx.open(ca.get());
    blip_channel_t* b = ctx.open(cb.get());
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    const uint64_t me = node_id(a);
    for (int i = 0; i < 10; ++i) send(a, "self " + std::to_string(i));
    // b hears them all, so they were on the wire (and looped back to a's socket too).
    ASSERT_EQ(only(receive_messages(b, 10), BLIP_EVENT_MESSAGE).size(), 10u);
    for (const Event& e : drain(a)) {
        EXPECT_NE(e.node_id, me) << "event " << blip_event_type_name(e.type)
                                 << " about our own node";
        EXPECT_NE(e.type, BLIP_EVENT_MESSAGE) << "a delivered message: " << e.data;
    }
}

// Membership comes in order with the deliveries: SENDER_NEW before the sender's first message.
TEST(Channel, SenderNewPrecedesTheFirstMessage) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    uint64_t tx_node = 0, tx_session = 0;
    ASSERT_EQ(blip_channel_identity(tx, &tx_node, &tx_session), BLIP_OK);
    send(tx, "hello");
    const auto events = receive_messages(rx, 1);
    ASSERT_FALSE(events.empty());
    ASSERT_EQ(events.back().type, BLIP_EVENT_MESSAGE);
    int sender_new = 0;
    for (const Event& e : events) {
        if (e.type == BLIP_EVENT_SENDER_NEW) {
            ++sender_new;
            EXPECT_EQ(e.node_id, tx_node);
            EXPECT_EQ(e.session_id, tx_session);
            EXPECT_EQ(e.stream_id, 0u);
        }
        // A WARNING (e.g. a clamped buffer) may come first; nothing else.
        if (e.type != BLIP_EVENT_MESSAGE && e.type != BLIP_EVENT_SENDER_NEW) {
            EXPECT_EQ(e.type, BLIP_EVENT_WARNING) << blip_event_type_name(e.type);
        }
    }
    EXPECT_EQ(sender_new, 1);
}

TEST(Channel, EmptyMessages) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    uint64_t s0 = 99, s1 = 99, s2 = 99;
    ASSERT_EQ(blip_channel_send(tx, nullptr, 0, &s0), BLIP_OK);
    ASSERT_EQ(blip_channel_send(tx, "x", 0, &s1), BLIP_OK);
    ASSERT_EQ(blip_channel_send(tx, "after", 5, &s2), BLIP_OK);
    const auto msgs = only(receive_messages(rx, 3), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), 3u);
    EXPECT_EQ(msgs[0].sequence, s0);
    EXPECT_EQ(msgs[0].data, "");
    EXPECT_TRUE(msgs[0].data_null) << "data is NULL when empty";
    EXPECT_EQ(msgs[1].sequence, s1);
    EXPECT_EQ(msgs[1].data, "");
    EXPECT_TRUE(msgs[1].data_null);
    EXPECT_EQ(msgs[2].sequence, s2);
    EXPECT_EQ(msgs[2].data, "after");
}

// 1 MiB is fragmented into ~750 datagrams of 1400 bytes; it must arrive whole and intact,
// followed by a small message sent after it.
TEST(Channel, OneMebibyteMessageArrivesIntact) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(rc.get(), "recv_buffer", 8 << 20);  // fewer kernel drops; a clamp only warns
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    const std::string big = payload(7, 1 << 20);
    const uint64_t s_big = send(tx, big);
    const uint64_t s_small = send(tx, "tail");
    const auto msgs = only(receive_messages(rx, 2, 30s), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0].sequence, s_big);
    EXPECT_EQ(msgs[0].data.size(), big.size());
    EXPECT_TRUE(msgs[0].data == big) << "payload differs";
    EXPECT_EQ(msgs[1].sequence, s_small);
    EXPECT_EQ(msgs[1].data, "tail");
}

// node_id and node_name set the identity that receivers see; identity() reports it.
TEST(Channel, ConfiguredIdentity) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_str(tc.get(), "node_id", "0x1234abcd5678");
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    uint64_t node = 0, session = 0;
    ASSERT_EQ(blip_channel_identity(tx, &node, &session), BLIP_OK);
    EXPECT_EQ(node, 0x1234abcd5678ULL);
    EXPECT_EQ(blip_channel_identity(tx, nullptr, nullptr), BLIP_OK) << "both may be NULL";
    uint64_t node2 = 0;
    EXPECT_EQ(blip_channel_identity(tx, &node2, nullptr), BLIP_OK);
    EXPECT_EQ(node2, node);
    send(tx, "who");
    const auto msgs = only(receive_messages(rx, 1), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].node_id, 0x1234abcd5678ULL);
    EXPECT_EQ(msgs[0].session_id, session);
}

// node_name hashes to a stable node id: the same name gives the same id on every open, another
// name another id; the session changes per open.
TEST(Channel, NodeNameGivesAStableNodeId) {
    REQUIRE_NETNS();
    Context ctx;
    auto open_named = [&](const char* name, uint64_t* node, uint64_t* session) {
        ConfigPtr c = channel_config(unique_address());
        set_str(c.get(), "node_name", name);
        blip_channel_t* ch = ctx.open(c.get());
        ASSERT_NE(ch, nullptr);
        ASSERT_EQ(blip_channel_identity(ch, node, session), BLIP_OK);
        EXPECT_EQ(blip_channel_close(ch), BLIP_OK);
    };
    uint64_t n1 = 0, n2 = 0, n3 = 0, s1 = 0, s2 = 0, s3 = 0;
    open_named("host-a/service", &n1, &s1);
    open_named("host-a/service", &n2, &s2);
    open_named("host-b/service", &n3, &s3);
    EXPECT_NE(n1, 0u);
    EXPECT_EQ(n1, n2);
    EXPECT_NE(n1, n3);
    EXPECT_NE(s1, s2) << "a new session per open";
}

// A restart of a named node is reported as SENDER_RESTARTED with the old session.
TEST(Channel, RestartedSenderIsReported) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_str(tc.get(), "node_name", "restarting/sender");
    blip_channel_t* rx = ctx.open(rc.get());
    ASSERT_NE(rx, nullptr);
    blip_channel_t* tx1 = ctx.open(tc.get());
    ASSERT_NE(tx1, nullptr);
    uint64_t node = 0, session1 = 0, session2 = 0;
    ASSERT_EQ(blip_channel_identity(tx1, &node, &session1), BLIP_OK);
    send(tx1, "first life");
    ASSERT_EQ(only(receive_messages(rx, 1), BLIP_EVENT_MESSAGE).size(), 1u);
    ASSERT_EQ(blip_channel_close(tx1), BLIP_OK);

    blip_channel_t* tx2 = ctx.open(tc.get());
    ASSERT_NE(tx2, nullptr);
    ASSERT_EQ(blip_channel_identity(tx2, nullptr, &session2), BLIP_OK);
    EXPECT_EQ(send(tx2, "second life"), 0u) << "sequence numbers restart per sender start";
    const auto events = receive_messages(rx, 1);
    const auto restarted = only(events, BLIP_EVENT_SENDER_RESTARTED);
    ASSERT_EQ(restarted.size(), 1u);
    EXPECT_EQ(restarted[0].node_id, node);
    EXPECT_EQ(restarted[0].session_id, session2);
    EXPECT_EQ(restarted[0].old_session_id, session1);
    const auto msgs = only(events, BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].data, "second life");
    EXPECT_EQ(msgs[0].sequence, 0u);
    EXPECT_EQ(msgs[0].session_id, session2);
}

// Two streams on one group and port stay apart: sequence numbers are per stream, and
// accept_streams filters.
TEST(Channel, StreamsStaySeparate) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr only2 = channel_config(addr), all = channel_config(addr), tc = channel_config(addr);
    set_str(only2.get(), "accept_streams", "2");
    blip_channel_t* rx2 = ctx.open(only2.get());
    blip_channel_t* rx = ctx.open(all.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx2, nullptr);
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    const int n = 20;
    for (int i = 0; i < n; ++i) {
        for (uint32_t stream : {1u, 2u}) {
            uint64_t seq = ~0ULL;
            const std::string m = "s" + std::to_string(stream) + "#" + std::to_string(i);
            ASSERT_EQ(blip_channel_send_stream(tx, stream, m.data(), m.size(), &seq), BLIP_OK);
            EXPECT_EQ(seq, static_cast<uint64_t>(i)) << "stream " << stream;
        }
    }
    const auto got2 = only(receive_messages(rx2, n), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(got2.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        EXPECT_EQ(got2[i].stream_id, 2u);
        EXPECT_EQ(got2[i].sequence, static_cast<uint64_t>(i));
        EXPECT_EQ(got2[i].data, "s2#" + std::to_string(i));
    }
    // Nothing of stream 1 follows.
    for (const Event& e : drain(rx2)) {
        EXPECT_NE(e.stream_id, 1u) << blip_event_type_name(e.type) << " of stream 1";
    }

    const auto got = only(receive_messages(rx, 2 * n), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(got.size(), static_cast<size_t>(2 * n));
    uint64_t next[3] = {0, 0, 0};
    for (const Event& e : got) {
        ASSERT_TRUE(e.stream_id == 1 || e.stream_id == 2) << e.stream_id;
        EXPECT_EQ(e.sequence, next[e.stream_id]) << "stream " << e.stream_id;
        EXPECT_EQ(e.data, "s" + std::to_string(e.stream_id) + "#" + std::to_string(e.sequence));
        ++next[e.stream_id];
    }
    EXPECT_EQ(next[1], static_cast<uint64_t>(n));
    EXPECT_EQ(next[2], static_cast<uint64_t>(n));

    // Both streams are listed as remotes of rx, only stream 2 of rx2.
    size_t count = 0;
    ASSERT_EQ(blip_channel_remotes(rx, nullptr, nullptr, 0, &count), BLIP_OK);
    EXPECT_EQ(count, 2u);
    ASSERT_EQ(blip_channel_remotes(rx2, nullptr, nullptr, 0, &count), BLIP_OK);
    EXPECT_EQ(count, 1u);
}

// The `stream` option selects the stream blip_channel_send() uses.
TEST(Channel, StreamOptionSetsTheDefaultStream) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(tc.get(), "stream", 4000000000LL);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    send(tx, "on the big stream");
    const auto msgs = only(receive_messages(rx, 1), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].stream_id, 4000000000u);
    EXPECT_EQ(msgs[0].sequence, 0u);
}

// Sends raw datagrams to the group from a plain UDP socket (IP_MULTICAST_IF 127.0.0.1).
void send_raw(const Address& addr, const std::vector<std::string>& datagrams) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    in_addr lo{};
    lo.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo), 0);
    const unsigned char loop = 1;
    ASSERT_EQ(setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop), 0);
    const unsigned char ttl = 1;
    ASSERT_EQ(setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl), 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(addr.port));
    ASSERT_EQ(inet_pton(AF_INET, addr.group.c_str(), &to.sin_addr), 1);
    for (const std::string& d : datagrams) {
        EXPECT_EQ(
            sendto(fd, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(d.size()));
    }
    close(fd);
}

// Non-Blip datagrams on the group are counted as foreign and never delivered; datagrams with the
// Blip magic but a garbage body are counted as malformed; Blip traffic on the same group and port
// still flows.
TEST(Channel, ForeignTrafficIsCountedNotDelivered) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    for (const char* n : {"foreign_dropped", "malformed_dropped"}) {
        ASSERT_TRUE(has_stat(BLIP_STATS_CHANNEL, n)) << "no channel counter " << n;
    }
    const uint64_t foreign_before = stat(rx, "foreign_dropped");
    const uint64_t malformed_before = stat(rx, "malformed_dropped");

    const std::vector<std::string> foreign = {
        "hello, this is not blip at all, but long enough to look like a packet header and more",
        std::string(200, '\0'), "GET / HTTP/1.1\r\n\r\n", "BLIX"};
    // The magic "BLIP", then a body that cannot be a valid Blip header.
    const std::vector<std::string> malformed = {std::string("BLIP") + std::string(60, '\xff'),
                                                std::string("BLIP") + std::string(4, '\x00')};
    send_raw(addr, foreign);
    send_raw(addr, malformed);
    const uint64_t want_foreign = foreign_before + foreign.size();
    const uint64_t want_malformed = malformed_before + malformed.size();
    EXPECT_TRUE(wait_until(
        [&] {
            return stat(rx, "foreign_dropped") >= want_foreign &&
                   stat(rx, "malformed_dropped") >= want_malformed;
        },
        5s))
        << "foreign_dropped = " << stat(rx, "foreign_dropped") << " (want " << want_foreign
        << "), malformed_dropped = " << stat(rx, "malformed_dropped") << " (want " << want_malformed
        << ")";
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(stat(rx, "foreign_dropped"), want_foreign);
    EXPECT_EQ(stat(rx, "malformed_dropped"), want_malformed);
    // The sender's channel heard them too (same group and port).
    EXPECT_EQ(stat(tx, "foreign_dropped"), want_foreign);

    // Blip still works on the group, and nothing foreign was delivered.
    send(tx, "real");
    const auto events = receive_messages(rx, 1);
    const auto msgs = only(events, BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].data, "real");
    for (const Event& e : events) {
        EXPECT_TRUE(e.type == BLIP_EVENT_MESSAGE || e.type == BLIP_EVENT_SENDER_NEW ||
                    e.type == BLIP_EVENT_WARNING)
            << blip_event_type_name(e.type);
    }
    for (const Event& e : drain(rx, 100)) {
        EXPECT_NE(e.type, BLIP_EVENT_MESSAGE) << "delivered: " << e.data;
    }
    size_t count = 0;
    ASSERT_EQ(blip_channel_remotes(rx, nullptr, nullptr, 0, &count), BLIP_OK);
    EXPECT_EQ(count, 1u) << "foreign traffic created a remote sender";
}

// Two channels on different groups but the same port do not hear each other.
TEST(Channel, OtherGroupOnTheSamePortIsNotHeard) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Address other = addr;
    other.group = "239.63.0." + std::to_string(getpid() % 250 + 1);
    Context ctx;
    ConfigPtr rc = channel_config(addr), oc = channel_config(other), tc = channel_config(addr);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* orx = ctx.open(oc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(orx, nullptr);
    ASSERT_NE(tx, nullptr);
    send(tx, "only for my group");
    ASSERT_EQ(only(receive_messages(rx, 1), BLIP_EVENT_MESSAGE).size(), 1u);
    for (const Event& e : drain(orx)) {
        EXPECT_NE(e.type, BLIP_EVENT_MESSAGE);
        EXPECT_NE(e.node_id, node_id(tx)) << blip_event_type_name(e.type);
    }
}

}  // namespace
