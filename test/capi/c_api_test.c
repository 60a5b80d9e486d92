/* c_api_test.c - exercises libblip from strict C99 through <blip/blip.h> only: the error table,
 * config, context, two channels on 127.0.0.1 exchanging 1000 messages in pull mode and a few in
 * callback mode, stats by name, misuse codes and a clean shutdown.
 *
 * Exit status: 0 on success, 77 (skipped) when not inside the private network namespace of
 * .ci/in-netns.sh (BLIP_NETNS unset; the parts that need no network still run), 1 on failure,
 * with every failed check printed to stderr. */
#define _POSIX_C_SOURCE 200809L

#include <blip/blip.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures = 0;

static void check_true(int ok, const char* what, int line) {
    if (!ok) {
        fprintf(stderr, "FAIL (line %d): %s\n", line, what);
        failures++;
    }
}

static void check_rc(int got, int want, const char* what, int line) {
    if (got != want) {
        fprintf(stderr, "FAIL (line %d): %s gave %s (%d), expected %s\n", line, what,
                blip_err_name(got), got, blip_err_name(want));
        failures++;
    }
}

#define CHECK(cond) check_true((cond) ? 1 : 0, #cond, __LINE__)
#define CHECK_RC(expr, want) check_rc((expr), (want), #expr, __LINE__)

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* ---- Errors and version ----------------------------------------------------------------- */

static void test_error_table(void) {
    static const struct {
        int code;
        const char* name;
    } table[] = {
        {BLIP_OK, "BLIP_OK"},
        {BLIP_EINVAL, "BLIP_EINVAL"},
        {BLIP_ENOMEM, "BLIP_ENOMEM"},
        {BLIP_EAGAIN, "BLIP_EAGAIN"},
        {BLIP_EMSGSIZE, "BLIP_EMSGSIZE"},
        {BLIP_ECLOSED, "BLIP_ECLOSED"},
        {BLIP_ETIMEDOUT, "BLIP_ETIMEDOUT"},
        {BLIP_ENOTSUP, "BLIP_ENOTSUP"},
        {BLIP_EADDRINUSE, "BLIP_EADDRINUSE"},
        {BLIP_EADDRNOTAVAIL, "BLIP_EADDRNOTAVAIL"},
        {BLIP_ENODEV, "BLIP_ENODEV"},
        {BLIP_EPROTO, "BLIP_EPROTO"},
        {BLIP_ESTATE, "BLIP_ESTATE"},
        {BLIP_EIO, "BLIP_EIO"},
        {BLIP_EINTERNAL, "BLIP_EINTERNAL"},
    };
    size_t i, j;
    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        const char* name = blip_err_name(table[i].code);
        const char* text = blip_strerror(table[i].code);
        CHECK(table[i].code == -(int)i); /* dense, never renumbered */
        CHECK(name != NULL && strcmp(name, table[i].name) == 0);
        CHECK(text != NULL && text[0] != '\0' && strcmp(text, "unknown error") != 0);
        for (j = 0; j < i; j++) {
            CHECK(strcmp(blip_strerror(table[i].code), blip_strerror(table[j].code)) != 0);
        }
    }
    CHECK(strcmp(blip_err_name(-15), "BLIP_E_UNKNOWN") == 0);
    CHECK(strcmp(blip_err_name(1), "BLIP_E_UNKNOWN") == 0);
    CHECK(strcmp(blip_err_name(INT_MIN), "BLIP_E_UNKNOWN") == 0);
    CHECK(strcmp(blip_strerror(INT_MIN), "unknown error") == 0);
    CHECK(strcmp(blip_strerror(INT_MAX), "unknown error") == 0);
    CHECK(strcmp(blip_version(), BLIP_VERSION_STRING) == 0);
    CHECK(blip_version_number() == BLIP_VERSION_NUMBER);
    CHECK(strcmp(blip_event_type_name(BLIP_EVENT_MESSAGE), "message") == 0);
    CHECK(strcmp(blip_event_type_name(999), "unknown") == 0);
    CHECK(strcmp(blip_loss_reason_name(BLIP_LOSS_GAVE_UP), "gave_up") == 0);
}

/* ---- Config ------------------------------------------------------------------------------ */

static int error_mentions(const blip_config_t* cfg, const char* what) {
    return strstr(blip_config_error(cfg), what) != NULL;
}

static void test_config(void) {
    blip_config_t* cfg = NULL;
    CHECK_RC(blip_config_create(NULL), BLIP_EINVAL);
    CHECK_RC(blip_config_create(&cfg), BLIP_OK);
    if (cfg == NULL) return;
    CHECK(strcmp(blip_config_error(cfg), "") == 0);

    CHECK_RC(blip_config_set_string(cfg, "group", "239.1.2.3"), BLIP_OK);
    CHECK_RC(blip_config_set_int(cfg, "port", 4000), BLIP_OK);
    CHECK_RC(blip_config_set_string(cfg, "ttl", "4"), BLIP_OK);
    CHECK_RC(blip_config_set_bool(cfg, "loopback", 1), BLIP_OK);
    CHECK_RC(blip_config_set_double(cfg, "inject_loss", 0.5), BLIP_OK);
    CHECK_RC(blip_config_set_string(cfg, "node_id", "0x1f"), BLIP_OK);
    CHECK_RC(blip_config_set_callback(cfg, NULL, NULL), BLIP_OK);

    CHECK_RC(blip_config_set_int(cfg, "ttl", 300), BLIP_EINVAL);
    CHECK(error_mentions(cfg, "ttl"));
    CHECK_RC(blip_config_set_string(cfg, "port", "seventy"), BLIP_EINVAL);
    CHECK(error_mentions(cfg, "port"));
    CHECK_RC(blip_config_set_double(cfg, "inject_loss", 1.5), BLIP_EINVAL);
    CHECK(error_mentions(cfg, "inject_loss"));
    CHECK_RC(blip_config_set_double(cfg, "ttl", 1.0), BLIP_EINVAL); /* wrong type */
    CHECK(error_mentions(cfg, "ttl"));
    CHECK_RC(blip_config_set_int(cfg, "group", 1), BLIP_EINVAL);
    CHECK(error_mentions(cfg, "group"));
    CHECK_RC(blip_config_set_int(cfg, "no_such_option", 1), BLIP_ENOTSUP);
    CHECK(error_mentions(cfg, "no_such_option"));
    CHECK_RC(blip_config_set_string(cfg, "ttl", "2"), BLIP_OK);
    CHECK(strcmp(blip_config_error(cfg), "") == 0);

    CHECK_RC(blip_config_set_string(NULL, "ttl", "1"), BLIP_EINVAL);
    CHECK_RC(blip_config_set_string(cfg, NULL, "1"), BLIP_EINVAL);
    CHECK_RC(blip_config_set_string(cfg, "ttl", NULL), BLIP_EINVAL);
    CHECK(strcmp(blip_config_error(NULL), "") == 0);
    CHECK_RC(blip_config_destroy(cfg), BLIP_OK);
    CHECK_RC(blip_config_destroy(NULL), BLIP_EINVAL);
}

/* ---- Channels ---------------------------------------------------------------------------- */

static char group[32];
static int port;

static blip_config_t* channel_config(void) {
    blip_config_t* cfg = NULL;
    if (blip_config_create(&cfg) != BLIP_OK) return NULL;
    CHECK_RC(blip_config_set_string(cfg, "group", group), BLIP_OK);
    CHECK_RC(blip_config_set_int(cfg, "port", port), BLIP_OK);
    CHECK_RC(blip_config_set_string(cfg, "interface", "127.0.0.1"), BLIP_OK);
    CHECK_RC(blip_config_set_int(cfg, "recv_buffer", 4 << 20), BLIP_OK);
    return cfg;
}

static void make_message(unsigned i, char* buf, size_t* len) {
    size_t k;
    *len = 16 + (i * 53) % 700;
    for (k = 0; k < *len; k++) buf[k] = (char)((i * 31 + k * 7) & 0xff);
}

/* Sends, waiting for room when the send queue is full. */
static int send_blocking(blip_channel_t* ch, const void* data, size_t len, uint64_t* seq) {
    for (;;) {
        int rc = blip_channel_send(ch, data, len, seq);
        if (rc != BLIP_EAGAIN) return rc;
        rc = blip_channel_wait_writable(ch, 10000);
        if (rc != BLIP_OK) return rc;
    }
}

struct callback_state {
    pthread_mutex_t mu;
    int messages;
    int wrong_order;
    uint64_t next_seq;
    uint64_t node;
    int wrong_node;
    int on_test_thread;
    pthread_t test_thread;
};

static void on_event(void* user, blip_channel_t* ch, const blip_event_info_t* info) {
    struct callback_state* s = (struct callback_state*)user;
    blip_event_t* ev = NULL;
    pthread_mutex_lock(&s->mu);
    if (pthread_equal(pthread_self(), s->test_thread)) s->on_test_thread++;
    if (info->type == BLIP_EVENT_MESSAGE) {
        if (s->messages > 0 && info->sequence != s->next_seq) s->wrong_order++;
        if (info->node_id != s->node) s->wrong_node++;
        s->next_seq = info->sequence + 1;
        s->messages++;
    }
    pthread_mutex_unlock(&s->mu);
    /* Callback mode refuses pull calls. */
    if (blip_channel_receive(ch, 0, &ev) != BLIP_ESTATE) {
        pthread_mutex_lock(&s->mu);
        s->wrong_order += 1000;
        pthread_mutex_unlock(&s->mu);
    }
}

static void test_channels(void) {
    enum { N = 1000, CB = 5 };
    blip_context_t* ctx = NULL;
    blip_config_t* rcfg = channel_config();
    blip_config_t* tcfg = channel_config();
    blip_config_t* ccfg = channel_config();
    blip_config_t* bad = channel_config();
    blip_channel_t* rx = NULL;
    blip_channel_t* tx = NULL;
    blip_channel_t* cbch = NULL;
    blip_channel_t* fail = NULL;
    struct callback_state state;
    uint64_t tx_node = 0, tx_session = 0, v = 0, seq = 0;
    uint64_t nodes[4];
    uint32_t streams[4];
    size_t count = 0, i;
    unsigned got = 0, sent;
    int rc, other_events = 0, misordered = 0, corrupt = 0;
    double deadline;
    char buf[1024];
    char* huge;
    const char* name = NULL;

    if (rcfg == NULL || tcfg == NULL || ccfg == NULL || bad == NULL) {
        CHECK(!"config create");
        return;
    }
    CHECK_RC(blip_context_create(NULL), BLIP_EINVAL);
    CHECK_RC(blip_context_create(&ctx), BLIP_OK);
    if (ctx == NULL) return;

    /* The receiver first: it is there when the sender's session begins. */
    rc = blip_channel_open(ctx, rcfg, &rx);
    CHECK_RC(rc, BLIP_OK);
    if (rc != BLIP_OK) fprintf(stderr, "  open: %s\n", blip_config_error(rcfg));
    rc = blip_channel_open(ctx, tcfg, &tx);
    CHECK_RC(rc, BLIP_OK);
    if (rx == NULL || tx == NULL) {
        blip_context_destroy(ctx);
        return;
    }
    CHECK_RC(blip_channel_identity(tx, &tx_node, &tx_session), BLIP_OK);

    /* Pull mode: 1000 messages in order, intact, with the sequence numbers send returned. */
    for (sent = 0; sent < N; sent++) {
        size_t len;
        make_message(sent, buf, &len);
        rc = send_blocking(tx, buf, len, &seq);
        if (rc != BLIP_OK || seq != sent) {
            CHECK_RC(rc, BLIP_OK);
            CHECK(seq == sent);
            break;
        }
    }
    deadline = now_ms() + 30000;
    while (got < N && now_ms() < deadline) {
        blip_event_t* ev = NULL;
        blip_event_info_t info;
        memset(&info, 0, sizeof info);
        info.size = sizeof info;
        rc = blip_channel_receive(rx, 100, &ev);
        if (rc == BLIP_ETIMEDOUT) continue;
        if (rc != BLIP_OK) {
            CHECK_RC(rc, BLIP_OK);
            break;
        }
        CHECK_RC(blip_event_get_info(ev, &info), BLIP_OK);
        if (info.type == BLIP_EVENT_MESSAGE) {
            size_t len;
            make_message(got, buf, &len);
            if (info.sequence != got || info.node_id != tx_node || info.session_id != tx_session) {
                misordered++;
            } else if (info.length != len || memcmp(info.data, buf, len) != 0) {
                corrupt++;
            }
            got++;
        } else if (info.type != BLIP_EVENT_SENDER_NEW && info.type != BLIP_EVENT_WARNING) {
            other_events++;
        }
        CHECK_RC(blip_event_free(ev), BLIP_OK);
    }
    CHECK(got == N);
    CHECK(misordered == 0);
    CHECK(corrupt == 0);
    CHECK(other_events == 0);
    if (got != N) fprintf(stderr, "  received %u of %d messages\n", got, N);

    /* Callback mode: a third channel hears the next few. */
    memset(&state, 0, sizeof state);
    pthread_mutex_init(&state.mu, NULL);
    state.node = tx_node;
    state.test_thread = pthread_self();
    CHECK_RC(blip_config_set_callback(ccfg, on_event, &state), BLIP_OK);
    CHECK_RC(blip_channel_open(ctx, ccfg, &cbch), BLIP_OK);
    for (i = 0; i < CB; i++) CHECK_RC(send_blocking(tx, "callback", 8, NULL), BLIP_OK);
    deadline = now_ms() + 10000;
    for (;;) {
        int n;
        pthread_mutex_lock(&state.mu);
        n = state.messages;
        pthread_mutex_unlock(&state.mu);
        if (n >= CB || now_ms() > deadline) break;
        sleep_ms(1);
    }
    pthread_mutex_lock(&state.mu);
    CHECK(state.messages == CB);
    CHECK(state.wrong_order == 0);
    CHECK(state.wrong_node == 0);
    CHECK(state.on_test_thread == 0);
    pthread_mutex_unlock(&state.mu);

    /* Stats by name. */
    CHECK_RC(blip_stat_name(BLIP_STATS_CHANNEL, 0, &name), BLIP_OK);
    for (i = 0; blip_stat_name(BLIP_STATS_CHANNEL, i, &name) == BLIP_OK; i++) {
        CHECK_RC(blip_channel_stat(rx, name, &v), BLIP_OK);
    }
    CHECK(i > 0);
    for (i = 0; blip_stat_name(BLIP_STATS_REMOTE, i, &name) == BLIP_OK; i++) {
        CHECK_RC(blip_channel_remote_stat(rx, tx_node, 0, name, &v), BLIP_OK);
    }
    CHECK(i > 0);
    CHECK_RC(blip_stat_name(7, 0, &name), BLIP_EINVAL);
    CHECK_RC(blip_channel_stat(tx, "messages_sent", &v), BLIP_OK);
    CHECK(v == N + CB);
    deadline = now_ms() + 10000;
    do {
        CHECK_RC(blip_channel_remote_stat(rx, tx_node, 0, "messages", &v), BLIP_OK);
    } while (v < N + CB && now_ms() < deadline && (sleep_ms(1), 1));
    CHECK(v == N + CB);
    CHECK_RC(blip_channel_stat(rx, "messages_received", &v), BLIP_OK);
    CHECK(v == N + CB);
    CHECK_RC(blip_channel_stat(rx, "no_such_counter", &v), BLIP_ENOTSUP);
    CHECK_RC(blip_channel_remote_stat(rx, tx_node + 1, 0, "messages", &v), BLIP_EADDRNOTAVAIL);
    CHECK_RC(blip_channel_remote_stat(rx, tx_node, 0, "no_such_counter", &v), BLIP_ENOTSUP);
    CHECK_RC(blip_channel_remotes(rx, nodes, streams, 4, &count), BLIP_OK);
    CHECK(count == 1 && nodes[0] == tx_node && streams[0] == 0);

    /* Misuse. */
    CHECK_RC(blip_channel_send(NULL, "x", 1, NULL), BLIP_EINVAL);
    CHECK_RC(blip_channel_send(tx, NULL, 1, NULL), BLIP_EINVAL);
    CHECK_RC(blip_channel_close(NULL), BLIP_EINVAL);
    CHECK_RC(blip_event_free(NULL), BLIP_EINVAL);
    CHECK_RC(blip_context_destroy(NULL), BLIP_EINVAL);
    CHECK_RC(blip_channel_open(ctx, NULL, &fail), BLIP_EINVAL);
    CHECK_RC(blip_channel_send((blip_channel_t*)(void*)rcfg, "x", 1, NULL), BLIP_EINVAL);
    huge = (char*)calloc((16u << 20) + 1, 1);
    if (huge != NULL) {
        CHECK_RC(blip_channel_send(tx, huge, (16u << 20) + 1, NULL), BLIP_EMSGSIZE);
        free(huge);
    }
    CHECK_RC(blip_config_set_string(bad, "interface", "nosuch0"), BLIP_OK);
    CHECK_RC(blip_channel_open(ctx, bad, &fail), BLIP_ENODEV);
    CHECK(fail == NULL);
    CHECK(strstr(blip_config_error(bad), "nosuch0") != NULL);
    CHECK_RC(blip_channel_close(cbch), BLIP_OK);
    CHECK_RC(blip_channel_close(cbch), BLIP_ECLOSED);
    CHECK_RC(blip_channel_send(cbch, "x", 1, NULL), BLIP_ECLOSED);

    /* Shutdown with rx and tx still open: the context closes them. */
    CHECK_RC(blip_context_destroy(ctx), BLIP_OK);
    pthread_mutex_destroy(&state.mu);
    CHECK_RC(blip_config_destroy(rcfg), BLIP_OK);
    CHECK_RC(blip_config_destroy(tcfg), BLIP_OK);
    CHECK_RC(blip_config_destroy(ccfg), BLIP_OK);
    CHECK_RC(blip_config_destroy(bad), BLIP_OK);
}

int main(void) {
    unsigned pid = (unsigned)getpid();

    test_error_table();
    test_config();
    if (getenv("BLIP_NETNS") == NULL) {
        if (failures != 0) {
            fprintf(stderr, "c_api_test: %d check(s) failed\n", failures);
            return 1;
        }
        printf("SKIP: the channel part needs a private network namespace (.ci/in-netns.sh)\n");
        return 77;
    }
    /* A group of our own (from the pid), so parallel tests in the namespace do not mix. */
    sprintf(group, "239.%u.%u.%u", 128 + ((pid >> 16) & 63), (pid >> 8) & 255, pid & 255);
    port = 20000 + (int)(pid % 20000);
    test_channels();
    if (failures != 0) {
        fprintf(stderr, "c_api_test: %d check(s) failed\n", failures);
        return 1;
    }
    printf("OK: C API test passed (blip %s)\n", blip_version());
    return 0;
}
