// IPv6 multicast through the public API on a veth pair the test creates (and always deletes):
// one channel on each end, lossy (inject_loss 0.1), every message delivered in order. Skips with
// the reason when the pair cannot be created (no CAP_NET_ADMIN, no veth support).
#include <blip/blip.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "api_test_util.h"

namespace {

using namespace blip_api_test;

// Runs a shell command; returns its exit status and (merged) output.
int run(const std::string& cmd, std::string* output = nullptr) {
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr) return -1;
    std::array<char, 256> buf{};
    std::string out;
    while (fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) out += buf.data();
    const int status = pclose(p);
    if (output != nullptr) *output = out;
    return status;
}

// A veth pair with IPv6 link-local addresses, deleted on destruction (deleting one end deletes
// both), even when the test fails.
class VethPair {
public:
    VethPair() {
        static std::atomic<int> counter{0};
        const std::string suffix =
            std::to_string(getpid() % 100000) + "x" + std::to_string(counter++);
        a_ = "bvA" + suffix;  // at most 15 characters (IFNAMSIZ - 1)
        b_ = "bvB" + suffix;
        std::string out;
        if (run("ip link add " + a_ + " type veth peer name " + b_, &out) != 0) {
            error_ = "ip link add " + a_ + " type veth peer name " + b_ + " failed: " + out;
            return;
        }
        created_ = true;
        // No duplicate address detection on a private link: the address is usable at once.
        for (const std::string& n : {a_, b_}) {
            run("sysctl -qw net.ipv6.conf." + n + ".accept_dad=0");
            if (run("ip link set " + n + " up", &out) != 0) {
                error_ = "ip link set " + n + " up failed: " + out;
                return;
            }
        }
        // Wait (up to 5 s) for both link-local addresses to leave the tentative state.
        const auto deadline = Clock::now() + 5s;
        for (;;) {
            std::string sa, sb;
            run("ip -6 addr show dev " + a_, &sa);
            run("ip -6 addr show dev " + b_, &sb);
            const auto ready = [](const std::string& s) {
                return s.find("inet6 fe80") != std::string::npos &&
                       s.find("tentative") == std::string::npos;
            };
            if (ready(sa) && ready(sb)) break;
            if (Clock::now() > deadline) {
                error_ = "no usable IPv6 link-local address on " + a_ + "/" + b_ + " after 5 s:\n" +
                         sa + sb;
                return;
            }
            std::this_thread::sleep_for(50ms);
        }
        ok_ = true;
    }
    ~VethPair() {
        if (created_) {
            std::string out;
            EXPECT_EQ(run("ip link del " + a_, &out), 0)
                << "could not delete " << a_ << ": " << out;
        }
    }
    VethPair(const VethPair&) = delete;
    VethPair& operator=(const VethPair&) = delete;

    bool ok() const { return ok_; }
    const std::string& error() const { return error_; }
    const std::string& a() const { return a_; }
    const std::string& b() const { return b_; }

private:
    std::string a_, b_, error_;
    bool created_ = false;
    bool ok_ = false;
};

#define REQUIRE_VETH(pair)                                                                 \
    do {                                                                                   \
        if (!(pair).ok()) GTEST_SKIP() << "cannot create a veth pair: " << (pair).error(); \
    } while (0)

ConfigPtr config6(const std::string& group, int port, const std::string& iface, uint64_t seed) {
    ConfigPtr c = make_config();
    set_str(c.get(), "group", group.c_str());
    set_int(c.get(), "port", port);
    set_str(c.get(), "interface", iface.c_str());
    set_str(c.get(), "inject_loss", "0.1");
    set_int(c.get(), "inject_seed", static_cast<int64_t>(seed));
    set_str(c.get(), "join", "recover");  // the second to open joins late: recover from 0
    set_int(c.get(), "recv_buffer", 4 << 20);
    return c;
}

// Sends n messages each way between a and b and checks both sides got everything in order.
void exchange(blip_channel_t* a, blip_channel_t* b, int n) {
    auto sender = [n](blip_channel_t* ch, uint32_t salt) {
        for (int i = 0; i < n; ++i) {
            uint64_t seq = 0;
            if (send_blocking(ch, 0, payload(i, 50 + (i % 7) * 300, salt), &seq) != BLIP_OK ||
                seq != static_cast<uint64_t>(i)) {
                return false;
            }
            if (i % 20 == 19) std::this_thread::sleep_for(1ms);
        }
        return true;
    };
    EXPECT_TRUE(sender(a, 0xA));
    EXPECT_TRUE(sender(b, 0xB));
    for (auto [rx, tx, salt] : {std::tuple{b, a, 0xAu}, std::tuple{a, b, 0xBu}}) {
        const auto events = receive_messages(rx, n, 60s);
        const auto msgs = only(events, BLIP_EVENT_MESSAGE);
        ASSERT_EQ(msgs.size(), static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) {
            ASSERT_EQ(msgs[i].sequence, static_cast<uint64_t>(i));
            ASSERT_EQ(msgs[i].data, payload(i, 50 + (i % 7) * 300, salt)) << i;
            EXPECT_EQ(msgs[i].node_id, node_id(tx));
        }
        EXPECT_TRUE(only(events, BLIP_EVENT_LOSS).empty());
        EXPECT_GT(stat(rx, "injected_drops"), 0u);
    }
}

// ff02::1:b11b%<ifname>: link-local scope given in the group.
TEST(Ipv6, LinkLocalGroupWithScopeOnAVethPair) {
    REQUIRE_NETNS();
    VethPair veth;
    REQUIRE_VETH(veth);
    const int port = unique_port();
    Context ctx;
    ConfigPtr ca = config6("ff02::1:b11b%" + veth.a(), port, veth.a(), 11);
    ConfigPtr cb = config6("ff02::1:b11b%" + veth.b(), port, veth.b(), 22);
    blip_channel_t* a = ctx.open(ca.get());
    blip_channel_t* b = ctx.open(cb.get());
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    exchange(a, b, 300);
}

// ff12:: (transient, link-local scope) with the interface given only as `interface`, in two
// contexts.
TEST(Ipv6, TransientGroupByInterfaceOnAVethPair) {
    REQUIRE_NETNS();
    VethPair veth;
    REQUIRE_VETH(veth);
    const int port = unique_port();
    Context ctx1, ctx2;
    ConfigPtr ca = config6("ff12::b11b:2", port, veth.a(), 33);
    ConfigPtr cb = config6("ff12::b11b:2", port, veth.b(), 44);
    blip_channel_t* a = ctx1.open(ca.get());
    blip_channel_t* b = ctx2.open(cb.get());
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    exchange(a, b, 300);
}

// loopback off: the sender's own host does not hear it on the sending interface (on lo every
// datagram comes back in anyway, so this needs a real link), the far end of the link does.
TEST(Ipv6, LoopbackOffIsNotHeardOnTheSendingHost) {
    REQUIRE_NETNS();
    VethPair veth;
    REQUIRE_VETH(veth);
    const int port = unique_port();
    const std::string ga = "ff02::1:b11b%" + veth.a(), gb = "ff02::1:b11b%" + veth.b();
    Context ctx;
    ConfigPtr near_cfg = make_config(), far_cfg = make_config(), quiet_cfg = make_config(),
              loud_cfg = make_config();
    for (auto& [c, g, i] :
         {std::tuple{near_cfg.get(), ga, veth.a()}, std::tuple{far_cfg.get(), gb, veth.b()},
          std::tuple{quiet_cfg.get(), ga, veth.a()}, std::tuple{loud_cfg.get(), ga, veth.a()}}) {
        set_str(c, "group", g.c_str());
        set_int(c, "port", port);
        set_str(c, "interface", i.c_str());
    }
    set_int(quiet_cfg.get(), "loopback", 0);
    blip_channel_t* near_rx = ctx.open(near_cfg.get());
    blip_channel_t* far_rx = ctx.open(far_cfg.get());
    blip_channel_t* quiet = ctx.open(quiet_cfg.get());
    blip_channel_t* loud = ctx.open(loud_cfg.get());
    ASSERT_NE(near_rx, nullptr);
    ASSERT_NE(far_rx, nullptr);
    ASSERT_NE(quiet, nullptr);
    ASSERT_NE(loud, nullptr);
    send(quiet, "quiet");
    ASSERT_EQ(blip_channel_wait_sent(quiet, 10000), BLIP_OK);
    send(loud, "loud");

    // The far end hears both.
    const auto far_msgs = only(receive_messages(far_rx, 2), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(far_msgs.size(), 2u);
    // The near end hears only the one with loopback on.
    const auto near_msgs = only(receive_messages(near_rx, 1), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(near_msgs.size(), 1u);
    EXPECT_EQ(near_msgs[0].data, "loud");
    for (const Event& e : drain(near_rx, 300)) {
        EXPECT_NE(e.node_id, node_id(quiet)) << blip_event_type_name(e.type);
    }
}

// A group scoped to one interface but opened on another is inconsistent: refused with a message.
TEST(Ipv6, ScopeAndInterfaceMustAgree) {
    REQUIRE_NETNS();
    VethPair veth;
    REQUIRE_VETH(veth);
    Context ctx;
    ConfigPtr c = make_config();
    set_str(c.get(), "group", ("ff02::1:b11b%" + veth.a()).c_str());
    set_int(c.get(), "port", unique_port());
    set_str(c.get(), "interface", veth.b().c_str());
    blip_channel_t* ch = nullptr;
    const int rc = blip_channel_open(ctx.get(), c.get(), &ch);
    EXPECT_EQ(rc, BLIP_EINVAL) << blip_err_name(rc) << ": " << blip_config_error(c.get());
    EXPECT_EQ(ch, nullptr);
    EXPECT_STRNE(blip_config_error(c.get()), "");
}

// An IPv4 group on an interface that has only IPv6 addresses: refused (no address of the
// group's family), with a message.
TEST(Ipv6, Ipv4GroupOnAnIpv6OnlyInterface) {
    REQUIRE_NETNS();
    VethPair veth;
    REQUIRE_VETH(veth);
    Context ctx;
    ConfigPtr c = channel_config(unique_address(), veth.a().c_str());
    blip_channel_t* ch = nullptr;
    const int rc = blip_channel_open(ctx.get(), c.get(), &ch);
    EXPECT_TRUE(rc == BLIP_EADDRNOTAVAIL || rc == BLIP_ENODEV)
        << blip_err_name(rc) << ": " << blip_config_error(c.get());
    EXPECT_EQ(ch, nullptr);
    EXPECT_STRNE(blip_config_error(c.get()), "");
}

}  // namespace
