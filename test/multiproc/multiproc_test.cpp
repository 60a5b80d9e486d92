// multiproc_test.cpp - acceptance test over real loopback multicast: one sender process and
// several receiver processes, each with its own context, with loss injected at every receiver
// (inject_loss, a distinct inject_seed each). Every receiver must get every message in order,
// exactly once and byte-exact, with no LOSS or OVERRUN event. Uses only <blip/blip.h>.
//
// This file is the parent: it forks every child before any Blip context or thread exists, then
// only coordinates through pipes. Receivers (receiver.cpp) open their channels and report
// READY; the parent then releases the sender (sender.cpp); each receiver reports its counters
// and a RESULT line; once all have, the parent tells the sender to close (it kept its channel
// open to serve repairs). The parent enforces an overall timeout and kills every child when it
// expires. Exit status: 0 pass, 1 fail, 2 usage, 77 skipped.
//
// Sends multicast, so it runs only inside the private network namespace of .ci/in-netns.sh
// (BLIP_NETNS set) and exits 77 (skipped) otherwise.
#include <blip/blip.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "mp_common.h"
#include "payload.h"

namespace {

using namespace blip_mp;

constexpr int kSkip = 77;

struct Child {
    std::string name;
    pid_t pid = -1;
    int report_fd = -1;  // read end, parent side
    std::string pending;
    bool ready = false, eof = false, reaped = false;
    std::string result;  // the RESULT line's verdict: "ok", "fail" or "" (none)
    int status = 0;
    std::vector<std::string> stats;  // the STAT and EVENT lines
    std::string summary;             // any other line: what it sent or received
    double done_at = 0;
};

void handle_line(Child& c, const std::string& line, double now) {
    if (line == "READY") {
        c.ready = true;
    } else if (line.rfind("RESULT ", 0) == 0) {
        c.result = line.substr(7, line.find(' ', 7) - 7);
        c.done_at = now;
    } else if (line.rfind("STAT ", 0) == 0 || line.rfind("EVENT ", 0) == 0) {
        c.stats.push_back(line);
    } else {
        c.summary = line;
    }
}

/// Reads what is available from every child not at EOF, waiting at most `wait_ms`.
void pump(std::vector<Child>& kids, int wait_ms, double now) {
    std::vector<pollfd> fds;
    std::vector<Child*> who;
    for (auto& c : kids) {
        if (!c.eof) {
            fds.push_back({c.report_fd, POLLIN, 0});
            who.push_back(&c);
        }
    }
    if (fds.empty()) {
        usleep(static_cast<useconds_t>(wait_ms) * 1000);
        return;
    }
    if (poll(fds.data(), fds.size(), wait_ms) <= 0) return;
    for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        Child& c = *who[i];
        char buf[4096];
        const ssize_t n = read(c.report_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            c.eof = true;
            close(c.report_fd);
            continue;
        }
        c.pending.append(buf, static_cast<std::size_t>(n));
        for (std::size_t nl; (nl = c.pending.find('\n')) != std::string::npos;) {
            handle_line(c, c.pending.substr(0, nl), now);
            c.pending.erase(0, nl + 1);
        }
    }
}

void reap(std::vector<Child>& kids, bool block) {
    for (auto& c : kids) {
        if (c.reaped) continue;
        const pid_t r = waitpid(c.pid, &c.status, block ? 0 : WNOHANG);
        if (r == c.pid) c.reaped = true;
    }
}

std::string describe_status(int status) {
    char buf[64];
    if (WIFEXITED(status)) {
        std::snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        std::snprintf(buf, sizeof buf, "killed by signal %d (%s)", WTERMSIG(status),
                      strsignal(WTERMSIG(status)));
    } else {
        std::snprintf(buf, sizeof buf, "status 0x%x", status);
    }
    return buf;
}

/// The counters worth a glance in the summary; every counter is printed on failure.
bool interesting(const std::string& stat_line) {
    static const char* const keys[] = {
        " messages_sent ",      " naks_received ",    " repairs_sent ",
        " repairs_coalesced ",  " unavailable_sent ", " send_dropped ",
        " injected_drops ",     " naks_sent ",        " naks_suppressed ",
        " nak_retries ",        " repairs ",          " repairs_received ",
        " duplicates ",         " buffer_evictions ", " kernel_drops ",
        " loss_events ",        " messages_lost ",    " overrun_messages ",
        " socket_send_errors ", " flow_stalls ",      " flow_timeouts ",
    };
    for (const char* k : keys) {
        if (stat_line.find(k) != std::string::npos) return true;
    }
    return false;
}

/// Prints a child's nonzero counters as "name=value" (remote ones as "remote:name=value"),
/// wrapped; all of them if the child failed, else only the interesting channel counters.
void print_counters(const std::vector<std::string>& lines, bool brief) {
    std::string out = "           ";
    for (const auto& s : lines) {
        // "STAT <scope> <name> <value>" or "EVENT <type> <count>".
        std::vector<std::string> f;
        for (std::size_t a = 0, b; a <= s.size(); a = b + 1) {
            b = s.find(' ', a);
            if (b == std::string::npos) b = s.size();
            f.push_back(s.substr(a, b - a));
        }
        std::string item;
        if (f.size() == 4 && f[0] == "STAT") {
            // Briefly: the channel's counters only (with one sender they sum the remote ones).
            if (f[3] == "0" || (brief && (f[1] == "remote" || !interesting(" " + f[2] + " ")))) {
                continue;
            }
            item = (f[1] == "remote" ? "remote:" : "") + f[2] + "=" + f[3];
        } else if (f.size() == 3 && f[0] == "EVENT") {
            item = "event:" + f[1] + "=" + f[2];
        } else {
            continue;
        }
        if (out.size() + item.size() > 100) {
            std::fprintf(stderr, "%s\n", out.c_str());
            out = "           ";
        }
        out += " " + item;
    }
    if (out.size() > 11) std::fprintf(stderr, "%s\n", out.c_str());
}

pid_t spawn(std::vector<int>& all_fds, int keep_a, int keep_b, const std::function<int()>& body);

int parent_main(const Options& o) {
    std::vector<Child> kids(static_cast<std::size_t>(o.receivers) + 1);
    std::vector<int> all_fds;
    int control[2];
    if (pipe(control) != 0) {
        std::perror("pipe");
        return 1;
    }
    all_fds.insert(all_fds.end(), {control[0], control[1]});
    std::vector<int> write_ends(kids.size());
    for (std::size_t i = 0; i < kids.size(); ++i) {
        int p[2];
        if (pipe(p) != 0) {
            std::perror("pipe");
            return 1;
        }
        kids[i].report_fd = p[0];
        write_ends[i] = p[1];
        all_fds.insert(all_fds.end(), {p[0], p[1]});
    }
    const auto t0 = Clock::now();
    const std::size_t sender = kids.size() - 1;
    for (std::size_t i = 0; i < kids.size(); ++i) {
        const int w = write_ends[i];
        if (i == sender) {
            kids[i].name = "sender";
            kids[i].pid = spawn(all_fds, control[0], w,
                                [&o, &control, w] { return sender_main(o, control[0], w); });
        } else {
            kids[i].name = "receiver " + std::to_string(i);
            const int idx = static_cast<int>(i);
            kids[i].pid = spawn(all_fds, w, -1, [&o, idx, w] { return receiver_main(o, idx, w); });
        }
        if (kids[i].pid < 0) {
            std::perror("fork");
            for (auto& c : kids) {
                if (c.pid > 0) kill(c.pid, SIGKILL);
            }
            return 1;
        }
    }
    close(control[0]);
    for (int w : write_ends) close(w);

    const auto deadline = t0 + std::chrono::seconds(o.timeout_s);
    bool released = false, quit_sent = false, aborted = false;
    double release_at = 0;
    for (;;) {
        const double now = seconds_since(t0);
        pump(kids, 200, now);
        reap(kids, false);
        bool all_ready = true, all_done = true, early_death = false;
        for (std::size_t i = 0; i < sender; ++i) {
            const Child& c = kids[i];
            all_ready = all_ready && c.ready;
            all_done = all_done && (c.eof || c.reaped);
            if (!c.ready && (c.eof || c.reaped)) early_death = true;
        }
        if (early_death && !released) {
            logf("FAIL: a receiver ended before it was ready");
            aborted = true;
            break;
        }
        if (all_ready && !released) {
            logf("%d receivers ready after %.2f s; releasing the sender", o.receivers, now);
            released = true;
            release_at = now;
            (void)!write(control[1], "G", 1);
        }
        if (released && all_done && !quit_sent) {
            (void)!write(control[1], "Q", 1);
            close(control[1]);
            quit_sent = true;
        }
        if (!quit_sent && (kids[sender].eof || kids[sender].reaped) && released) {
            // A sender that dies mid-run leaves the receivers waiting for nothing.
            logf("FAIL: the sender ended before the receivers were done");
            aborted = true;
            break;
        }
        bool all_reaped = true;
        for (const auto& c : kids) all_reaped = all_reaped && c.reaped && c.eof;
        if (all_reaped) break;
        if (Clock::now() > deadline) {
            logf("FAIL: timeout after %d s; killing every child", o.timeout_s);
            aborted = true;
            break;
        }
    }
    if (aborted) {
        for (auto& c : kids) {
            if (!c.reaped) kill(c.pid, SIGKILL);
        }
        if (!quit_sent) close(control[1]);
        reap(kids, true);
        // Drain what the dead children wrote: their counters help to diagnose.
        for (int i = 0; i < 50; ++i) {
            bool open = false;
            for (const auto& c : kids) open = open || !c.eof;
            if (!open) break;
            pump(kids, 100, seconds_since(t0));
        }
    }

    // Summary.
    const double total = seconds_since(t0);
    bool ok = !aborted;
    std::fprintf(stderr,
                 "\n==== multiproc summary: %" PRIu64 " messages, %d receivers, inject_loss %g",
                 o.messages, o.receivers, o.loss);
    std::fprintf(stderr, ", group %s:%d, %.1f s in all (%.1f s after release) ====\n",
                 o.group.c_str(), o.port, total, released ? total - release_at : 0.0);
    for (const auto& c : kids) {
        const bool child_ok =
            c.reaped && WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0 && c.result == "ok";
        ok = ok && child_ok;
        std::fprintf(stderr, "%-11s %s: %s, %s; %s", c.name.c_str(), child_ok ? "OK  " : "FAIL",
                     c.result.empty() ? "no result" : c.result.c_str(),
                     c.reaped ? describe_status(c.status).c_str() : "not reaped",
                     c.summary.empty() ? "-" : c.summary.c_str());
        if (c.done_at > 0 && released) {
            std::fprintf(stderr, " (done %.1f s after release)", c.done_at - release_at);
        }
        std::fprintf(stderr, "\n");
        print_counters(c.stats, child_ok);
    }
    std::fprintf(stderr, "==== %s ====\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}

pid_t spawn(std::vector<int>& all_fds, int keep_a, int keep_b, const std::function<int()>& body) {
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid != 0) return pid;
    // Child: die with the parent (a killed test must not leave senders on the group), and keep
    // only its own pipe ends so the parent sees EOF exactly when this child is gone.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    for (int fd : all_fds) {
        if (fd != keep_a && fd != keep_b) close(fd);
    }
    std::exit(body());
}

// ---- Command line ----------------------------------------------------------------------------

void usage() {
    std::fprintf(
        stderr,
        "usage: blip_multiproc_test [--messages=N] [--receivers=R] [--loss=P]\n"
        "         [--max-size=BYTES] [--seed=S] [--timeout=SEC] [--stall=SEC]\n"
        "         [--linger-ms=MS] [--rate-limit=BYTES_PER_S] [--window-bytes=BYTES]\n"
        "         [--recv-buffer=BYTES] [--group=ADDR] [--port=P] [--interface=IF]\n"
        "         [--dry-run]\n"
        "Defaults: 100000 messages, 3 receivers, loss 0.1, max size 1 MiB, rate limit 16 MB/s\n"
        "(0: unlimited), the library's window. Needs the private network namespace of\n"
        ".ci/in-netns.sh (BLIP_NETNS set); exits 77 (skipped) without it.\n");
}

bool parse(int argc, char** argv, Options& o, bool& dry_run) {
    using U64 = std::uint64_t;
    using I64 = std::int64_t;
    const std::map<std::string, std::function<void(double)>> numeric = {
        {"messages", [&](double v) { o.messages = static_cast<U64>(v); }},
        {"receivers", [&](double v) { o.receivers = static_cast<int>(v); }},
        {"loss", [&](double v) { o.loss = v; }},
        {"max-size", [&](double v) { o.max_size = static_cast<std::size_t>(v); }},
        {"seed", [&](double v) { o.seed = static_cast<U64>(v); }},
        {"timeout", [&](double v) { o.timeout_s = static_cast<int>(v); }},
        {"stall", [&](double v) { o.stall_s = static_cast<int>(v); }},
        {"linger-ms", [&](double v) { o.linger_ms = static_cast<int>(v); }},
        {"rate-limit", [&](double v) { o.rate_limit = static_cast<I64>(v); }},
        {"window-bytes", [&](double v) { o.window_bytes = static_cast<I64>(v); }},
        {"recv-buffer", [&](double v) { o.recv_buffer = static_cast<I64>(v); }},
        {"port", [&](double v) { o.port = static_cast<int>(v); }},
    };
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--dry-run") {
            dry_run = true;
            continue;
        }
        const std::size_t eq = a.find('=');
        if (a.rfind("--", 0) != 0 || eq == std::string::npos) return false;
        const std::string k = a.substr(2, eq - 2), v = a.substr(eq + 1);
        char* end = nullptr;
        errno = 0;
        const double num = std::strtod(v.c_str(), &end);
        const bool is_num = !v.empty() && *end == '\0' && errno == 0 && num >= 0;
        if (k == "group" || k == "interface") {
            (k == "group" ? o.group : o.interface) = v;
            continue;
        }
        const auto it = numeric.find(k);
        if (it == numeric.end() || !is_num) return false;
        it->second(num);
    }
    return o.messages >= 1 && o.receivers >= 1 && o.receivers <= 64 && o.loss < 1 &&
           o.max_size >= 1 && o.timeout_s >= 1 && o.stall_s >= 1 && o.port <= 65535;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    bool dry_run = false;
    if (!parse(argc, argv, o, dry_run)) {
        usage();
        return 2;
    }
    // A group and port of our own (from the pid), so runs that overlap in one namespace (ctest
    // -j) never hear each other.
    const unsigned pid = static_cast<unsigned>(getpid());
    if (o.group.empty()) {
        o.group = "239.77." + std::to_string((pid >> 8) & 0xFF) + "." + std::to_string(pid & 0xFF);
    }
    if (o.port == 0) o.port = 20000 + static_cast<int>(pid % 30000);

    std::uint64_t volume = 0, largest = 0;
    for (std::uint64_t i = 0; i < o.messages; ++i) {
        const std::size_t s = message_size(o.seed, i, o.messages, o.max_size);
        volume += s;
        largest = std::max<std::uint64_t>(largest, s);
    }
    logf("blip %s: %" PRIu64 " messages, %.1f MB in all, largest %" PRIu64 " bytes, seed %" PRIu64,
         blip_version(), o.messages, static_cast<double>(volume) / 1e6, largest, o.seed);
    if (dry_run) return 0;
    if (std::getenv("BLIP_NETNS") == nullptr) {
        std::printf(
            "SKIP: sends multicast; run it inside the private network namespace of "
            ".ci/in-netns.sh (BLIP_NETNS unset)\n");
        return kSkip;
    }
    signal(SIGPIPE, SIG_IGN);
    return parent_main(o);
}
