package blip

// waitfd.go - waits until a channel's receive descriptor is readable or a context.Context is
// done, whichever comes first: poll(2) on the descriptor and on a private eventfd that a
// watcher goroutine signals when the context is done. Eventfds are pooled.

/*
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <blip/blip.h>

// Waits until fd or wake is readable, or timeout_ms passes. 0, or -errno.
static int blipgo_poll2(int fd, int wake, int timeout_ms) {
    struct pollfd p[2];
    p[0].fd = fd;
    p[0].events = POLLIN;
    p[0].revents = 0;
    p[1].fd = wake;
    p[1].events = POLLIN;
    p[1].revents = 0;
    int n = poll(p, 2, timeout_ms);
    if (n < 0 && errno != EINTR) return -errno;
    return 0;
}

static int blipgo_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

static void blipgo_signal(int fd) {
    uint64_t one = 1;
    ssize_t n = write(fd, &one, sizeof one);
    (void)n;
}

static void blipgo_drain(int fd) {
    uint64_t value;
    ssize_t n = read(fd, &value, sizeof value);
    (void)n;
}

static void blipgo_close(int fd) { close(fd); }
*/
import "C"

import (
	"context"
	"fmt"
)

// pollSafetyMs bounds one poll, so that a wake-up the descriptor failed to give is recovered
// by the caller's next non-blocking receive.
const pollSafetyMs = 1000

// wakers holds idle eventfds (drained) for reuse.
var wakers = make(chan C.int, 64)

func getWaker() (C.int, error) {
	select {
	case w := <-wakers:
		return w, nil
	default:
	}
	w := C.blipgo_eventfd()
	if w < 0 {
		return -1, newError(C.BLIP_EIO, "recv", "eventfd failed")
	}
	return w, nil
}

func putWaker(w C.int) {
	C.blipgo_drain(w)
	select {
	case wakers <- w:
	default:
		C.blipgo_close(w)
	}
}

// waitReadable returns when fd is readable, ctx is done, or after pollSafetyMs; the caller
// checks which. ctx must be cancellable (ctx.Done() != nil).
func waitReadable(ctx context.Context, fd C.int) error {
	w, err := getWaker()
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-ctx.Done():
			C.blipgo_signal(w)
		case <-stop:
		}
	}()
	rc := C.blipgo_poll2(fd, w, pollSafetyMs)
	close(stop)
	<-exited // the watcher no longer touches w: it may be reused
	putWaker(w)
	if rc < 0 {
		return newError(C.BLIP_EIO, "recv", fmt.Sprintf("poll: errno %d", -rc))
	}
	return nil
}
