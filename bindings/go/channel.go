package blip

// channel.go - Channel: one open channel (a multicast group, a port and an interface) in pull
// mode; opening, closing and identity. Sending is in send.go, receiving in recv.go.

// #include <blip/blip.h>
import "C"

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Channel is one open channel: it sends to and receives from a multicast group on a port
// and an interface. Every method is safe for concurrent use by many goroutines. Close it when
// done: an unreferenced Channel is not closed for you.
type Channel struct {
	x    *Context
	ptr  *C.blip_channel_t // valid until x is destroyed, closed or not
	fd   C.int             // readable while events are queued (blip_channel_fd)
	name string            // "group:port@interface", for messages

	closed atomic.Bool
	done   chan struct{} // closed by closeHandle

	pumpOnce sync.Once
	msgs     chan Message
}

// Open opens a channel on this context; see the package-level Open.
func (x *Context) Open(group string, port int, iface string, opts ...Option) (*Channel, error) {
	cfg, err := newConfig(group, port, iface, opts)
	if err != nil {
		return nil, err
	}
	defer destroyConfig(cfg)
	if !x.acquire() {
		return nil, closedError("open")
	}
	defer x.release()

	name := fmt.Sprintf("%s:%d@%s", group, port, iface)
	var ptr *C.blip_channel_t
	if rc := C.blip_channel_open(x.ptr, cfg, &ptr); rc != C.BLIP_OK {
		return nil, newError(rc, "open "+name, C.GoString(C.blip_config_error(cfg)))
	}
	var fd C.int
	if rc := C.blip_channel_fd(ptr, &fd); rc != C.BLIP_OK {
		C.blip_channel_close(ptr)
		return nil, newError(rc, "open "+name, "no receive descriptor")
	}
	c := &Channel{x: x, ptr: ptr, fd: fd, name: name, done: make(chan struct{})}
	if !x.register(c) {
		C.blip_channel_close(c.ptr)
		return nil, closedError("open " + c.name)
	}
	return c, nil
}

// String names the channel as "group:port@interface".
func (c *Channel) String() string { return c.name }

// Close leaves the group and closes the socket. Messages still queued to send are discarded
// (call WaitSent first to transmit them); events not yet received are dropped. Calls blocked
// on the channel in other goroutines (Recv, Send) return ErrClosed promptly, and the channel
// of Messages is closed. Close returns nil the first time and ErrClosed after that, also when
// the channel's Context was closed first.
func (c *Channel) Close() error {
	err := c.closeHandle()
	c.x.forget(c)
	return err
}

// closeHandle closes the library channel once; ErrClosed the second time or after the
// context was destroyed.
func (c *Channel) closeHandle() error {
	if !c.closed.CompareAndSwap(false, true) {
		return closedError("close")
	}
	close(c.done)
	if !c.x.acquire() {
		return closedError("close")
	}
	defer c.x.release()
	return newError(C.blip_channel_close(c.ptr), "close", "")
}

// Identity returns this channel's node id (as receivers see it in Sender.NodeID) and
// session id.
func (c *Channel) Identity() (nodeID, sessionID uint64, err error) {
	if !c.x.acquire() {
		return 0, 0, closedError("identity")
	}
	defer c.x.release()
	var node, session C.uint64_t
	if rc := C.blip_channel_identity(c.ptr, &node, &session); rc != C.BLIP_OK {
		return 0, 0, newError(rc, "identity", "")
	}
	return uint64(node), uint64(session), nil
}
