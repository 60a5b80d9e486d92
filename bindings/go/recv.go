package blip

// recv.go - receiving in pull mode: Recv takes the next message or event with
// blip_channel_receive, waiting on the channel's descriptor so that a context.Context can
// cancel the wait; Messages runs Recv in a goroutine and feeds a Go channel.

// #include <blip/blip.h>
import "C"

import (
	"context"
	"unsafe"
)

// Recv takes the next message or event queued on the channel, waiting until there is one, ctx
// is done (ctx.Err()) or the channel is closed (ErrClosed, also for a Recv already waiting
// when Close is called). A message taken is always returned, never dropped: if ctx is done
// before one is available, nothing is taken. Concurrent Recv calls each get different items.
func (c *Channel) Recv(ctx context.Context) (Message, error) {
	if !c.x.acquire() {
		return Message{}, closedError("recv")
	}
	defer c.x.release()
	for {
		if err := ctx.Err(); err != nil {
			return Message{}, err
		}
		var ev *C.blip_event_t
		rc := C.blip_channel_receive(c.ptr, 0, &ev)
		if rc == C.BLIP_EAGAIN && ctx.Done() == nil {
			rc = C.blip_channel_receive(c.ptr, -1, &ev) // only Close can end this wait
		}
		switch rc {
		case C.BLIP_OK:
			return takeEvent(ev)
		case C.BLIP_EAGAIN:
			if err := waitReadable(ctx, c.fd); err != nil {
				return Message{}, err
			}
		default:
			return Message{}, newError(rc, "recv", "")
		}
	}
}

// Messages returns a Go channel that delivers what Recv would, in order, from a goroutine
// started on the first call (later calls return the same channel). It is closed when the
// channel is closed (or its Context is) or on a receive error. Do not mix it with Recv
// unless any split of the items between the two is fine.
func (c *Channel) Messages() <-chan Message {
	c.pumpOnce.Do(func() {
		c.msgs = make(chan Message)
		go c.pump()
	})
	return c.msgs
}

func (c *Channel) pump() {
	defer close(c.msgs)
	for {
		m, err := c.Recv(context.Background())
		if err != nil {
			return
		}
		select {
		case c.msgs <- m:
		case <-c.done:
			return
		}
	}
}

// takeEvent copies an event into Go memory and frees it.
func takeEvent(ev *C.blip_event_t) (Message, error) {
	defer C.blip_event_free(ev)
	var info C.blip_event_info_t
	info.size = C.size_t(unsafe.Sizeof(info))
	if rc := C.blip_event_get_info(ev, &info); rc != C.BLIP_OK {
		return Message{}, newError(rc, "recv", "blip_event_get_info failed")
	}
	from := Sender{
		NodeID:    uint64(info.node_id),
		SessionID: uint64(info.session_id),
		Stream:    uint32(info.stream_id),
	}
	m := Message{Sender: from}
	text := ""
	if info.text != nil {
		text = C.GoString(info.text)
	}
	switch EventType(info._type) {
	case EventMessage:
		m.Seq = uint64(info.sequence)
		m.Data = make([]byte, int(info.length))
		if info.length > 0 {
			// Copied out before blip_event_free (deferred above) releases the payload.
			copy(m.Data, unsafe.Slice((*byte)(info.data), int(info.length)))
		}
	case EventLoss:
		m.Event = Loss{Sender: from, First: uint64(info.sequence), Count: uint64(info.count),
			OpenEnded: info.open_ended != 0, Reason: LossReason(info.reason)}
	case EventOverrun:
		m.Event = Overrun{Sender: from, First: uint64(info.sequence), Count: uint64(info.count)}
	case EventSenderNew:
		m.Event = SenderNew{from}
	case EventSenderRestarted:
		m.Event = SenderRestarted{Sender: from, OldSessionID: uint64(info.old_session_id)}
	case EventSenderInactive:
		m.Event = SenderInactive{from}
	case EventSenderActive:
		m.Event = SenderActive{from}
	case EventSenderRemoved:
		m.Event = SenderRemoved{from}
	case EventSocketError:
		m.Sender = Sender{}
		m.Event = SocketError{Err: newError(info.error, "socket", text), Text: text,
			Suppressed: uint64(info.suppressed)}
	case EventWarning:
		m.Sender = Sender{}
		m.Event = Warning{Text: text}
	default:
		m.Event = UnknownEvent{Sender: from, Code: EventType(info._type)}
	}
	return m, nil
}
