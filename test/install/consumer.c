/* consumer.c - a C99 program built out of tree against an INSTALLED Blip (pkg-config or
 * find_package), by test/install/install_test.sh. It checks that the headers and the loaded
 * library agree on the version, drives the config and context API, and, inside the private
 * network namespace of .ci/in-netns.sh (BLIP_NETNS set), sends one message from one channel to
 * another over loopback multicast. Exit status 0 on success; every failure says what failed. */
#define _POSIX_C_SOURCE 200809L

#include <blip/blip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(call)                                                                 \
    do {                                                                            \
        int rc_ = (call);                                                           \
        if (rc_ != BLIP_OK) {                                                       \
            fprintf(stderr, "FAIL line %d: %s returned %s (%s)\n", __LINE__, #call, \
                    blip_err_name(rc_), blip_strerror(rc_));                        \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

#define EXPECT(cond, ...)                                           \
    do {                                                            \
        if (!(cond)) {                                              \
            fprintf(stderr, "FAIL line %d: %s: ", __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                           \
            fprintf(stderr, "\n");                                  \
            exit(1);                                                \
        }                                                           \
    } while (0)

static void check_version(void) {
    printf("headers %s (%d), library %s (%d)\n", BLIP_VERSION_STRING, BLIP_VERSION_NUMBER,
           blip_version(), blip_version_number());
    EXPECT(strcmp(blip_version(), BLIP_VERSION_STRING) == 0, "library %s, headers %s",
           blip_version(), BLIP_VERSION_STRING);
    EXPECT(blip_version_number() == BLIP_VERSION_NUMBER, "library %d, headers %d",
           blip_version_number(), BLIP_VERSION_NUMBER);
#ifdef EXPECT_VERSION
    EXPECT(strcmp(BLIP_VERSION_STRING, EXPECT_VERSION) == 0, "installed headers say %s, built %s",
           BLIP_VERSION_STRING, EXPECT_VERSION);
#endif
    EXPECT(strcmp(blip_err_name(BLIP_EINVAL), "BLIP_EINVAL") == 0, "%s",
           blip_err_name(BLIP_EINVAL));
}

/* Sets the options every channel needs, plus a few of each value type. */
static void fill_config(blip_config_t* cfg, const char* group, int port) {
    CHECK(blip_config_set_string(cfg, "group", group));
    CHECK(blip_config_set_int(cfg, "port", port));
    CHECK(blip_config_set_string(cfg, "interface", "127.0.0.1"));
    CHECK(blip_config_set_int(cfg, "ttl", 1));
    CHECK(blip_config_set_bool(cfg, "loopback", 1));
    CHECK(blip_config_set_double(cfg, "inject_loss", 0.0));
    CHECK(blip_config_set_string(cfg, "datagram_size", "1400"));
}

static void check_config(void) {
    blip_config_t* cfg = NULL;
    int rc;
    CHECK(blip_config_create(&cfg));
    fill_config(cfg, "239.1.2.3", 4242);
    rc = blip_config_set_int(cfg, "no_such_option", 1);
    EXPECT(rc == BLIP_ENOTSUP, "unknown option gave %s", blip_err_name(rc));
    rc = blip_config_set_int(cfg, "ttl", 300);
    EXPECT(rc == BLIP_EINVAL, "ttl 300 gave %s", blip_err_name(rc));
    EXPECT(blip_config_error(cfg)[0] != '\0', "no message after a refused value");
    CHECK(blip_config_destroy(cfg));
}

static void check_context(void) {
    blip_context_t* ctx = NULL;
    CHECK(blip_context_create(&ctx));
    EXPECT(ctx != NULL, "no context");
    CHECK(blip_context_destroy(ctx));
}

/* One message from channel tx to channel rx of the same context, over loopback multicast. */
static void check_channel(void) {
    char group[32];
    const int pid = (int)getpid();
    const int port = 40000 + pid % 20000;
    blip_context_t* ctx = NULL;
    blip_config_t* cfg = NULL;
    blip_channel_t *rx = NULL, *tx = NULL;
    uint64_t tx_node = 0, seq = 99;
    const char text[] = "hello from an installed blip";
    int got = 0;

    snprintf(group, sizeof group, "239.78.%d.%d", (pid >> 8) & 0xFF, pid & 0xFF);
    CHECK(blip_context_create(&ctx));
    CHECK(blip_config_create(&cfg));
    fill_config(cfg, group, port);
    CHECK(blip_channel_open(ctx, cfg, &rx)); /* pull mode: the default */
    CHECK(blip_channel_open(ctx, cfg, &tx));
    CHECK(blip_config_destroy(cfg));
    CHECK(blip_channel_identity(tx, &tx_node, NULL));
    CHECK(blip_channel_send(tx, text, sizeof text, &seq));
    EXPECT(seq == 0, "first message numbered %llu", (unsigned long long)seq);

    while (!got) {
        blip_event_t* ev = NULL;
        blip_event_info_t info;
        int rc = blip_channel_receive(rx, 5000, &ev);
        EXPECT(rc == BLIP_OK, "no message within 5 s: %s", blip_err_name(rc));
        memset(&info, 0, sizeof info);
        info.size = sizeof info;
        CHECK(blip_event_get_info(ev, &info));
        printf("rx event: %s\n", blip_event_type_name(info.type));
        if (info.type == BLIP_EVENT_MESSAGE) {
            EXPECT(info.node_id == tx_node, "message from node %llx, sender is %llx",
                   (unsigned long long)info.node_id, (unsigned long long)tx_node);
            EXPECT(info.sequence == 0, "sequence %llu", (unsigned long long)info.sequence);
            EXPECT(info.length == sizeof text && memcmp(info.data, text, sizeof text) == 0,
                   "payload of %lu bytes differs", (unsigned long)info.length);
            got = 1;
        } else {
            EXPECT(info.type != BLIP_EVENT_LOSS && info.type != BLIP_EVENT_OVERRUN, "%s event",
                   blip_event_type_name(info.type));
        }
        CHECK(blip_event_free(ev));
    }
    CHECK(blip_channel_close(tx));
    CHECK(blip_channel_close(rx));
    CHECK(blip_context_destroy(ctx));
    printf("channel: one message sent and received on %s:%d\n", group, port);
}

int main(void) {
    check_version();
    check_config();
    check_context();
    if (getenv("BLIP_NETNS") != NULL) {
        check_channel();
    } else {
        printf("BLIP_NETNS unset: channel check skipped (needs .ci/in-netns.sh)\n");
    }
    printf("OK\n");
    return 0;
}
