package blip

// send.go - sending: the library copies each message into its send queue; when the queue is
// full (BLIP_EAGAIN) Send waits for room with blip_channel_wait_writable, in short slices when
// the context.Context can be cancelled.

// #include <blip/blip.h>
import "C"

import (
	"context"
	"fmt"
	"unsafe"
)

// waitSliceMs bounds each library wait of a cancellable call, so that a cancelled
// context.Context is noticed within about this long. Close ends every wait at once.
const waitSliceMs = 20

// Send sends a copy of b on the channel's stream (WithStream; 0 by default) and returns its
// sequence number in that stream. It returns as soon as the message is queued. When the send
// queue is full it waits for room, until the channel is closed (ErrClosed). Messages sent by
// one goroutine keep their order. A message above max_message_size gives ErrMessageTooLarge.
func (c *Channel) Send(b []byte) (uint64, error) {
	return c.send(context.Background(), 0, false, b)
}

// SendContext is Send that gives up waiting for room in the send queue when ctx is done,
// returning ctx.Err(); the message is then not sent.
func (c *Channel) SendContext(ctx context.Context, b []byte) (uint64, error) {
	return c.send(ctx, 0, false, b)
}

// SendStream is Send on the given stream instead of the channel's default one. Each stream
// has its own sequence numbers; receivers may filter on it (WithAcceptStreams).
func (c *Channel) SendStream(stream uint32, b []byte) (uint64, error) {
	return c.send(context.Background(), stream, true, b)
}

// SendStreamContext is SendStream that gives up waiting for room when ctx is done.
func (c *Channel) SendStreamContext(ctx context.Context, stream uint32, b []byte) (uint64, error) {
	return c.send(ctx, stream, true, b)
}

func (c *Channel) send(ctx context.Context, stream uint32, explicit bool, b []byte) (uint64, error) {
	if !c.x.acquire() {
		return 0, closedError("send")
	}
	defer c.x.release()
	// The library only reads b during the call and keeps a copy: passing a pointer to Go
	// memory that holds no Go pointers is allowed by the cgo rules.
	var data unsafe.Pointer
	if len(b) > 0 {
		data = unsafe.Pointer(&b[0])
	}
	for {
		var seq C.uint64_t
		var rc C.int
		if explicit {
			rc = C.blip_channel_send_stream(c.ptr, C.uint32_t(stream), data, C.size_t(len(b)), &seq)
		} else {
			rc = C.blip_channel_send(c.ptr, data, C.size_t(len(b)), &seq)
		}
		switch rc {
		case C.BLIP_OK:
			return uint64(seq), nil
		case C.BLIP_EAGAIN:
			if err := c.wait(ctx, "send", func(ms C.int) C.int {
				return C.blip_channel_wait_writable(c.ptr, ms)
			}); err != nil {
				return 0, err
			}
		case C.BLIP_EMSGSIZE:
			return 0, newError(rc, "send", fmt.Sprintf("%d bytes is above max_message_size", len(b)))
		default:
			return 0, newError(rc, "send", "")
		}
	}
}

// WaitSent waits until every message sent so far has been transmitted at least once (the
// send queue is empty), or until ctx is done (ctx.Err()). Receivers may still need repairs
// afterwards: keep the channel open a little longer before Close to give them time.
func (c *Channel) WaitSent(ctx context.Context) error {
	if !c.x.acquire() {
		return closedError("wait sent")
	}
	defer c.x.release()
	return c.wait(ctx, "wait sent", func(ms C.int) C.int {
		return C.blip_channel_wait_sent(c.ptr, ms)
	})
}

// wait runs a library wait (timeout in ms, BLIP_ETIMEDOUT when it runs out) until it
// succeeds, fails, or ctx is done. Uncancellable contexts wait in one call.
func (c *Channel) wait(ctx context.Context, op string, f func(ms C.int) C.int) error {
	slice := C.int(waitSliceMs)
	if ctx.Done() == nil {
		slice = -1
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch rc := f(slice); rc {
		case C.BLIP_OK:
			return nil
		case C.BLIP_ETIMEDOUT:
		default:
			return newError(rc, op, "")
		}
	}
}
