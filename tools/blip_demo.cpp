// blip_demo.cpp - blip-demo: one sender and N receivers as separate processes over loopback
// multicast, each receiver dropping a share of datagrams; checks that every receiver got every
// message in order and prints a report. The parent never opens a channel: it only forks
// (before any Blip thread exists), collects the roles' reports and judges.
#include <blip/blip.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "demo_payload.h"
#include "demo_report.h"
#include "demo_roles.h"
#include "tool_common.h"

namespace {

constexpr const char* kProg = "blip-demo";
constexpr std::uint64_t kReadyTimeoutNs = 10'000'000'000ULL;
constexpr std::uint64_t kRoleMarginNs = 3'000'000'000ULL;  // roles stop this early to report
constexpr std::uint64_t kStopGraceNs = 2'000'000'000ULL;   // after Ctrl-C, to report

volatile std::sig_atomic_t g_interrupted = 0;

void on_signal(int /*sig*/) {
    g_interrupted = 1;
    demo::request_stop();  // the forked roles inherit this handler: they stop and report
}

void print_help() {
    std::printf(
        "usage: blip-demo [options]\n"
        "Runs 1 sender and N receivers as separate processes on loopback multicast. Each\n"
        "receiver drops a share of the datagrams it receives (the inject_loss option: for tests\n"
        "and demos only), recovers them with NAKs and repairs, and checks that every message\n"
        "arrives exactly once, in order and byte-exact. Exit status 0 only if all did.\n\n"
        "It sends multicast: run it inside a private network namespace, e.g.\n"
        "  .ci/in-netns.sh build/tools/blip-demo\n\n"
        "options:\n"
        "  --receivers N      receiver processes (default 3)\n"
        "  --messages N       messages to send (default 20000)\n"
        "  --loss F           fraction of datagrams each receiver drops (default 0.1)\n"
        "  --max-size B       largest message; sizes range 16 B..B (default 65536)\n"
        "  --rate MB          sender's pace in MB/s (default 20; 0 = as fast as it can, which\n"
        "                     on a small machine mostly measures CPU contention)\n"
        "  --interface I      interface (default 127.0.0.1)\n"
        "  --timeout S        give up after S seconds (default 30)\n"
        "  --help             this text\n");
}

demo::Params parse(int argc, char** argv) {
    demo::Params p;
    tools::Args args(kProg, argc, argv);
    std::uint64_t v = 0;
    double rate = 0;
    while (!args.done()) {
        if (args.flag("--help") || args.flag("-h")) {
            print_help();
            std::exit(0);
        }
        // Options that store their value themselves.
        if (args.option_u64("--messages", &p.messages, 1, 100'000'000) ||
            args.option_double("--loss", &p.loss, 0.0, 0.9) ||
            args.option("--interface", &p.interface)) {
            continue;
        }
        if (args.option_u64("--receivers", &v, 1, 64)) {
            p.receivers = static_cast<int>(v);
        } else if (args.option_u64("--max-size", &v, demo::kMinSize, 16 << 20)) {
            p.max_size = static_cast<std::size_t>(v);
        } else if (args.option_double("--rate", &rate, 0, 10000)) {
            p.rate = static_cast<std::uint64_t>(rate * 1e6);
        } else if (args.option_u64("--timeout", &v, 5, 3600)) {
            p.timeout_ms = static_cast<int>(v * 1000);
        } else {
            args.unknown();
        }
    }
    return p;
}

// One forked role: its pid and the pipe its report arrives on.
struct Child {
    pid_t pid = -1;
    int fd = -1;
    std::size_t got = 0;  // report bytes read so far
    bool eof = false;
    int status = -1;  // from waitpid, once reaped
};

// Reads what is available of a T from c.fd into `out`; true once all of it has arrived.
template <typename T>
bool read_report(Child& c, T& out) {
    auto* p = reinterpret_cast<char*>(&out);
    while (c.got < sizeof out) {
        const ssize_t n = read(c.fd, p + c.got, sizeof out - c.got);
        if (n <= 0) {
            c.eof = n == 0;
            return false;
        }
        c.got += static_cast<std::size_t>(n);
    }
    return true;
}

// Forks; the child runs `role` and never returns (_exit skips the parent's stdio buffers).
template <typename F>
pid_t spawn(F role) {
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    if (pid == 0) _exit(role());
    if (pid < 0) {
        std::perror("blip-demo: fork");
        std::exit(1);
    }
    return pid;
}

void print_hint() {
    std::fprintf(stderr,
                 "%s: hint: the demo needs IPv4 multicast on the chosen interface (for lo: "
                 "MULTICAST on and a route for 224.0.0.0/4). Run it inside a private network "
                 "namespace that sets this up and keeps the traffic off the real network:\n"
                 "    .ci/in-netns.sh build/tools/blip-demo\n",
                 kProg);
}

// Asks every role still running to stop and report what it has (the SIGTERM handler they
// inherited sets their stop flag).
void stop_roles(const std::vector<Child*>& children) {
    for (Child* c : children) {
        if (c->pid > 0 && c->status < 0) kill(c->pid, SIGTERM);
    }
}

void kill_all(const std::vector<Child*>& children) {
    for (Child* c : children) {
        if (c->pid > 0 && c->status < 0) kill(c->pid, SIGKILL);
    }
}

void reap(Child& c) {
    if (c.pid > 0 && c.status < 0) waitpid(c.pid, &c.status, 0);
}

}  // namespace

int main(int argc, char** argv) {
    demo::Params p = parse(argc, argv);
    p.port = 20000 + static_cast<int>(getpid() % 20000);  // parallel runs do not share a group
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);  // a role whose parent died just fails its report write

    demo::print_intro(p);
    const std::uint64_t start = tools::monotonic_ns();
    const std::uint64_t hard_deadline = start + static_cast<std::uint64_t>(p.timeout_ms) * 1000000;
    p.stop_at_ns = hard_deadline - kRoleMarginNs;

    std::vector<Child> rx(static_cast<std::size_t>(p.receivers));
    std::vector<demo::ReceiverReport> reports(rx.size());
    std::vector<bool> reported(rx.size(), false);
    std::vector<Child*> all;
    for (std::size_t i = 0; i < rx.size(); ++i) {
        int fds[2];
        if (pipe(fds) != 0) return std::perror("blip-demo: pipe"), 1;
        rx[i].pid = spawn([&] {
            close(fds[0]);
            return demo::run_receiver(p, static_cast<int>(i), fds[1]);
        });
        close(fds[1]);
        rx[i].fd = fds[0];
        all.push_back(&rx[i]);
    }

    // Every receiver listens before the sender starts, so each receives the session from its
    // first message (the join rule) and the run is the same every time.
    const std::uint64_t ready_deadline = std::min(hard_deadline, start + kReadyTimeoutNs);
    bool ok = true;
    for (Child& c : rx) {
        pollfd pfd{c.fd, POLLIN, 0};
        char b = 0;
        while (g_interrupted == 0 && tools::monotonic_ns() < ready_deadline &&
               poll(&pfd, 1, 100) == 0) {
        }
        if (pfd.revents != 0 && read(c.fd, &b, 1) == 1 && b == 'R') {
            continue;
        }
        ok = false;
        const std::size_t i = static_cast<std::size_t>(&c - rx.data());
        if (b == 'F' && read_report(c, reports[i])) {
            const int rc = reports[i].open_rc;
            std::fprintf(stderr, "%s: receiver %zu: open %s:%d on %s: %s (%s)%s%s\n", kProg, i + 1,
                         p.group, p.port, p.interface, blip_strerror(rc), blip_err_name(rc),
                         reports[i].error[0] != '\0' ? ": " : "", reports[i].error);
        } else {
            std::fprintf(stderr, "%s: receiver %zu did not get ready\n", kProg, i + 1);
        }
        break;
    }
    if (!ok) {
        print_hint();
        kill_all(all);
        for (Child& c : rx) reap(c);
        return 1;
    }

    int report_fds[2];
    int done_fds[2];
    if (pipe(report_fds) != 0 || pipe(done_fds) != 0) return std::perror("blip-demo: pipe"), 1;
    Child tx;
    tx.pid = spawn([&] {
        close(report_fds[0]);
        close(done_fds[1]);
        for (Child& c : rx) close(c.fd);
        return demo::run_sender(p, report_fds[1], done_fds[0]);
    });
    close(report_fds[1]);
    close(done_fds[0]);
    tx.fd = report_fds[0];
    all.push_back(&tx);

    // Collect the receivers' reports; the sender reports after they are done (it lingers to
    // serve repairs until done_fds[1] closes), or early if it failed. On Ctrl-C every role is
    // told to stop, and gets a moment to report what it has.
    demo::SenderReport sender;
    bool sender_reported = false;
    std::size_t pending = rx.size();
    std::uint64_t deadline = hard_deadline;
    bool stopping = false;
    while (pending > 0 && tools::monotonic_ns() < deadline) {
        if (g_interrupted != 0 && !stopping) {
            stopping = true;
            stop_roles(all);
            deadline = std::min(deadline, tools::monotonic_ns() + kStopGraceNs);
        }
        // A finished pipe gets fd -1: poll ignores it (a closed one would report POLLHUP forever).
        std::vector<pollfd> pfds;
        for (std::size_t i = 0; i < rx.size(); ++i) {
            pfds.push_back({reported[i] || rx[i].eof ? -1 : rx[i].fd, POLLIN, 0});
        }
        pfds.push_back({sender_reported || tx.eof ? -1 : tx.fd, POLLIN, 0});
        if (poll(pfds.data(), pfds.size(), 100) <= 0) continue;
        for (std::size_t i = 0; i < rx.size(); ++i) {
            if (pfds[i].revents == 0) continue;
            if (read_report(rx[i], reports[i])) {
                reported[i] = true;
                --pending;
            } else if (rx[i].eof) {
                --pending;  // died without a report: judged as failed below
            }
        }
        if (pfds.back().revents != 0 && read_report(tx, sender)) {
            sender_reported = true;
            // A sender that stopped early will send nothing more: let the receivers report now.
            if (sender.open_rc != BLIP_OK || sender.messages < p.messages) stop_roles(all);
        }
    }
    close(done_fds[1]);  // the sender stops lingering
    while (!sender_reported && !tx.eof && tools::monotonic_ns() < deadline) {
        if (g_interrupted != 0 && !stopping) {
            stopping = true;
            stop_roles(all);
            deadline = std::min(deadline, tools::monotonic_ns() + kStopGraceNs);
        }
        pollfd pfd{tx.fd, POLLIN, 0};
        if (poll(&pfd, 1, 100) > 0) sender_reported = read_report(tx, sender);
    }
    kill_all(all);
    for (Child* c : all) reap(*c);

    demo::print_report(p, sender, sender_reported, reports, reported);
    std::fflush(stdout);  // keep stdout and stderr lines in order on a terminal
    if (sender_reported && sender.open_rc != BLIP_OK) {
        std::fprintf(stderr, "%s: sender: open %s:%d on %s: %s (%s)%s%s\n", kProg, p.group, p.port,
                     p.interface, blip_strerror(sender.open_rc), blip_err_name(sender.open_rc),
                     sender.error[0] != '\0' ? ": " : "", sender.error);
    }
    bool pass = sender_reported && sender.open_rc == BLIP_OK && sender.messages == p.messages;
    bool none_arrived = true;
    for (std::size_t i = 0; i < rx.size(); ++i) {
        pass = pass && reported[i] && reports[i].finished && reports[i].in_order &&
               reports[i].delivered == p.messages;
        none_arrived = none_arrived && (!reported[i] || reports[i].delivered == 0);
    }
    if (g_interrupted != 0) {
        std::printf("FAIL: interrupted\n");
    } else if (pass) {
        std::printf(
            "PASS: every receiver got all %llu messages exactly once, in order and "
            "byte-exact, despite dropping %.0f%% of what it received.\n",
            static_cast<unsigned long long>(p.messages), p.loss * 100);
    } else {
        std::printf("FAIL: see the table above%s\n",
                    tools::monotonic_ns() >= hard_deadline ? " (timed out; processes killed)" : "");
        if (none_arrived && sender_reported && sender.messages > 0) print_hint();
    }
    return pass ? 0 : 1;
}
