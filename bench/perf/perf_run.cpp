// perf_run.cpp - forks and drives the processes of one blip-perf repetition (see perf_run.h).
// Synchronisation is by pipes only: receivers report ready, the sender is released with a go
// byte, the sender's total goes to the receivers, and quit bytes end the roles that linger.
#include "perf_run.h"

#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>

#include "perf_payload.h"
#include "perf_roles.h"
#include "perf_util.h"

namespace perf {

namespace {

constexpr std::uint64_t kReadyTimeoutNs = 15'000'000'000ULL;
constexpr std::uint64_t kFinalGraceNs = 10'000'000'000ULL;  // a lingering role's last report

struct Child {
    std::string name;
    pid_t pid = -1;
    int report_fd = -1;   // parent's read end
    int control_fd = -1;  // parent's write end
    std::vector<char> pending;
    bool ready = false, sent = false, final = false, eof = false, reaped = false;
    Report ready_report, sent_report, final_report;
    int status = 0;
};

// Every parent-side pipe end, so that each child closes the others' (a child holding another
// child's control pipe would keep it from ever seeing EOF).
std::vector<int> g_parent_fds;

bool spawn(Child& c, const std::function<int(RolePipes)>& role) {
    int report[2];
    int control[2];
    if (pipe(report) != 0) return false;
    if (pipe(control) != 0) {
        close(report[0]);
        close(report[1]);
        return false;
    }
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
        // Dies with the parent, whatever kills it, so nothing is left sending.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        for (const int fd : g_parent_fds) close(fd);
        close(report[0]);
        close(control[1]);
        _exit(role(RolePipes{report[1], control[0]}));
    }
    close(report[1]);
    close(control[0]);
    if (pid < 0) {
        close(report[0]);
        close(control[1]);
        return false;
    }
    c.pid = pid;
    c.report_fd = report[0];
    c.control_fd = control[1];
    g_parent_fds.push_back(c.report_fd);
    g_parent_fds.push_back(c.control_fd);
    return true;
}

void send_control(Child& c, char code, std::uint64_t value = 0) {
    if (c.control_fd < 0) return;
    unsigned char buf[9] = {static_cast<unsigned char>(code)};
    std::size_t len = 1;
    if (code == kCtlTotal) {
        put_u64(buf + 1, value);
        len = 9;
    }
    if (!write_all(c.control_fd, buf, len)) {
        close(c.control_fd);  // the child is gone; its EOF tells the rest
        c.control_fd = -1;
    }
}

void take(Child& c, const Report& r) {
    switch (r.phase) {
        case Phase::kReady:
            c.ready = true;
            c.ready_report = r;
            break;
        case Phase::kSent:
            c.sent = true;
            c.sent_report = r;
            break;
        case Phase::kFinal:
            c.final = true;
            c.final_report = r;
            break;
    }
}

// Reads what the children wrote, waiting up to `wait_ms`.
void pump(std::vector<Child*>& kids, int wait_ms) {
    std::vector<pollfd> fds;
    std::vector<Child*> who;
    for (Child* c : kids) {
        if (c->eof || c->report_fd < 0) continue;
        fds.push_back({c->report_fd, POLLIN, 0});
        who.push_back(c);
    }
    if (fds.empty()) {
        usleep(static_cast<useconds_t>(wait_ms) * 1000);
        return;
    }
    if (poll(fds.data(), fds.size(), wait_ms) <= 0) return;
    for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        Child& c = *who[i];
        char buf[8192];
        const ssize_t n = read(c.report_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            c.eof = true;
            continue;
        }
        c.pending.insert(c.pending.end(), buf, buf + n);
        while (c.pending.size() >= sizeof(Report)) {
            Report r;
            std::memcpy(&r, c.pending.data(), sizeof r);
            c.pending.erase(c.pending.begin(),
                            c.pending.begin() + static_cast<std::ptrdiff_t>(sizeof r));
            take(c, r);
        }
    }
}

std::string describe_exit(const Child& c) {
    char buf[128];
    if (!c.reaped) {
        std::snprintf(buf, sizeof buf, "%s ended without a report", c.name.c_str());
    } else if (WIFSIGNALED(c.status)) {
        std::snprintf(buf, sizeof buf, "%s died of signal %d (%s)", c.name.c_str(),
                      WTERMSIG(c.status), strsignal(WTERMSIG(c.status)));
    } else {
        std::snprintf(buf, sizeof buf, "%s exited with status %d without a report", c.name.c_str(),
                      WEXITSTATUS(c.status));
    }
    return buf;
}

void reap(std::vector<Child*>& kids, bool block) {
    for (Child* c : kids) {
        if (c->pid <= 0 || c->reaped) continue;
        if (waitpid(c->pid, &c->status, block ? 0 : WNOHANG) == c->pid) c->reaped = true;
    }
}

void cleanup(std::vector<Child*>& kids) {
    for (Child* c : kids) {
        if (c->pid > 0 && !c->reaped) kill(c->pid, SIGKILL);
    }
    reap(kids, true);
    for (Child* c : kids) {
        for (int* fd : {&c->report_fd, &c->control_fd}) {
            if (*fd < 0) continue;
            g_parent_fds.erase(std::remove(g_parent_fds.begin(), g_parent_fds.end(), *fd),
                               g_parent_fds.end());
            close(*fd);
            *fd = -1;
        }
    }
}

}  // namespace

RepResult run_rep(const RunSpec& s, int timeout_s) {
    std::signal(SIGPIPE, SIG_IGN);  // a dead child's pipe gives EPIPE, not death
    RepResult res;
    const std::uint64_t t0 = monotonic_ns();
    const std::uint64_t deadline = t0 + static_cast<std::uint64_t>(timeout_s) * 1000000000ULL;
    const bool pingpong = s.kind == Kind::kPingPong;
    const int nrx = pingpong ? 1 : s.receivers;

    std::vector<Child> rx(static_cast<std::size_t>(nrx));
    Child tx;
    tx.name = pingpong ? "pinger" : "sender";
    std::vector<Child*> all;
    auto fail = [&](const std::string& why) {
        if (res.error.empty()) res.error = why;
        res.ok = false;
    };

    for (int i = 0; i < nrx; ++i) {
        Child& c = rx[static_cast<std::size_t>(i)];
        c.name = pingpong ? "echo" : "receiver " + std::to_string(i + 1);
        const bool ok = spawn(c, [&s, i](RolePipes p) {
            switch (s.kind) {
                case Kind::kRaw:
                case Kind::kRawLatency:
                    return raw_receiver_role(s, i, p);
                case Kind::kPingPong:
                    return blip_echo_role(s, p);
                default:
                    return blip_receiver_role(s, i, p);
            }
        });
        if (!ok) {
            fail(std::string("fork/pipe: ") + std::strerror(errno));
            cleanup(all);
            return res;
        }
        all.push_back(&c);
    }

    // Every receiver listens before the sender starts, so each hears the whole session.
    const std::uint64_t ready_by = std::min(deadline, t0 + kReadyTimeoutNs);
    for (;;) {
        const bool all_ready =
            std::all_of(rx.begin(), rx.end(), [](const Child& c) { return c.ready || c.eof; });
        if (all_ready || monotonic_ns() >= ready_by) break;
        pump(all, 50);
    }
    for (Child& c : rx) {
        if (!c.ready) {
            reap(all, false);
            fail(c.eof ? describe_exit(c) : c.name + " did not get ready in time");
        } else if (c.ready_report.ok == 0) {
            fail(c.name + ": " + c.ready_report.error);
        }
    }
    if (!res.error.empty()) {
        cleanup(all);
        return res;
    }

    if (!spawn(tx, [&s](RolePipes p) {
            return is_raw(s.kind) ? raw_sender_role(s, p) : blip_sender_role(s, p);
        })) {
        fail(std::string("fork/pipe: ") + std::strerror(errno));
        cleanup(all);
        return res;
    }
    all.push_back(&tx);
    send_control(tx, kCtlGo);

    bool told_total = false;
    bool quit_sent = false;
    std::uint64_t grace_until = 0;
    for (;;) {
        pump(all, 50);
        const std::uint64_t now = monotonic_ns();
        if (tx.sent && !told_total) {
            for (Child& c : rx) send_control(c, kCtlTotal, tx.sent_report.sent);
            told_total = true;
        }
        const bool rx_done =
            std::all_of(rx.begin(), rx.end(), [](const Child& c) { return c.final || c.eof; });
        // Ping-pong ends with the pinger; otherwise with the receivers, then the lingering sender.
        const bool main_done = pingpong ? (tx.final || tx.eof) : rx_done;
        if (main_done && !quit_sent) {
            for (Child* c : all) send_control(*c, kCtlQuit);
            quit_sent = true;
            grace_until = std::min(deadline, now + kFinalGraceNs);
        }
        if ((tx.final || tx.eof) && rx_done) break;
        if (tx.final && tx.final_report.ok == 0 && !tx.sent) {  // the sender could not start
            for (Child* c : all) send_control(*c, kCtlQuit);
            if (!quit_sent) grace_until = std::min(deadline, now + kFinalGraceNs);
            quit_sent = true;
        }
        if (now >= deadline) {
            fail("timed out after " + std::to_string(timeout_s) + " s (" +
                 (told_total ? "the sender finished; " : "the sender was still sending; ") +
                 "processes killed)");
            break;
        }
        if (quit_sent && now >= grace_until) {
            fail("a role did not report within " + std::to_string(kFinalGraceNs / 1000000000ULL) +
                 " s of being told to stop");
            break;
        }
    }
    for (Child* c : all) {
        if (c->final) continue;
        reap(all, false);
        if (c->eof) fail(describe_exit(*c));
    }
    cleanup(all);

    res.sender = tx.final ? tx.final_report : tx.sent_report;
    if (tx.final && tx.final_report.ok == 0) fail(tx.name + ": " + tx.final_report.error);
    for (Child& c : rx) {
        res.receivers.push_back(c.final_report);
        if (!c.final) {
            fail(c.name + " did not report");
        } else if (c.final_report.ok == 0) {
            fail(c.name + ": " + c.final_report.error);
        }
    }
    if (!tx.final) fail(tx.name + " did not report");
    res.ok = res.error.empty();
    res.wall_s = static_cast<double>(monotonic_ns() - t0) / 1e9;
    return res;
}

}  // namespace perf
