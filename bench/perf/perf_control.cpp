// perf_control.cpp - the role side of the parent's control pipe (go, quit, the sender's total).
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "perf_payload.h"
#include "perf_roles.h"

namespace perf {

bool Control::poll(int timeout_ms) {
    if (quit_) return false;
    pollfd pfd{fd_, POLLIN, 0};
    const int n = ::poll(&pfd, 1, timeout_ms);
    if (n <= 0) return true;  // nothing yet (or EINTR: the caller polls again)
    const ssize_t got = read(fd_, pending_ + have_, sizeof pending_ - have_);
    if (got < 0 && errno == EINTR) return true;
    if (got <= 0) {  // the parent is gone or closed the pipe: stop
        quit_ = true;
        return false;
    }
    have_ += static_cast<std::size_t>(got);
    std::size_t used = 0;
    while (used < have_) {
        const char c = static_cast<char>(pending_[used]);
        if (c == kCtlTotal) {
            if (have_ - used < 9) break;  // the rest of the number is still in the pipe
            total_ = get_u64(pending_ + used + 1);
            used += 9;
            continue;
        }
        if (c == kCtlGo) go_ = true;
        if (c == kCtlQuit) quit_ = true;
        ++used;
    }
    std::memmove(pending_, pending_ + used, have_ - used);
    have_ -= used;
    return !quit_;
}

}  // namespace perf
