package blip

// events.go - the events a channel reports besides messages (BLIP_EVENT_* of blip.h), as Go
// types. Type-switch on Message.Event; ignore types you do not know.

// #include <blip/blip.h>
import "C"

import "fmt"

// EventType is the library's BLIP_EVENT_* number of an event.
type EventType int

// The event types of blip.h. Their numbers are part of the library's ABI.
const (
	EventMessage         EventType = C.BLIP_EVENT_MESSAGE
	EventLoss            EventType = C.BLIP_EVENT_LOSS
	EventSenderNew       EventType = C.BLIP_EVENT_SENDER_NEW
	EventSenderRestarted EventType = C.BLIP_EVENT_SENDER_RESTARTED
	EventSenderInactive  EventType = C.BLIP_EVENT_SENDER_INACTIVE
	EventSenderActive    EventType = C.BLIP_EVENT_SENDER_ACTIVE
	EventSenderRemoved   EventType = C.BLIP_EVENT_SENDER_REMOVED
	EventOverrun         EventType = C.BLIP_EVENT_OVERRUN
	EventSocketError     EventType = C.BLIP_EVENT_SOCKET_ERROR
	EventWarning         EventType = C.BLIP_EVENT_WARNING
)

// eventTypes names every BLIP_EVENT_* constant the binding knows (checked by the drift test).
var eventTypes = map[string]EventType{
	"BLIP_EVENT_MESSAGE":          EventMessage,
	"BLIP_EVENT_LOSS":             EventLoss,
	"BLIP_EVENT_SENDER_NEW":       EventSenderNew,
	"BLIP_EVENT_SENDER_RESTARTED": EventSenderRestarted,
	"BLIP_EVENT_SENDER_INACTIVE":  EventSenderInactive,
	"BLIP_EVENT_SENDER_ACTIVE":    EventSenderActive,
	"BLIP_EVENT_SENDER_REMOVED":   EventSenderRemoved,
	"BLIP_EVENT_OVERRUN":          EventOverrun,
	"BLIP_EVENT_SOCKET_ERROR":     EventSocketError,
	"BLIP_EVENT_WARNING":          EventWarning,
}

// String names the type as the library does: "message", "loss", "sender_new", ...
func (t EventType) String() string { return C.GoString(C.blip_event_type_name(C.int(t))) }

// LossReason says why messages were lost (BLIP_LOSS_* of blip.h).
type LossReason int

// The loss reasons of blip.h.
const (
	// LossLeftWindow: the sender no longer held the data (its window moved on).
	LossLeftWindow LossReason = C.BLIP_LOSS_LEFT_WINDOW
	// LossSenderGone: the sender restarted or went silent while data was missing.
	LossSenderGone LossReason = C.BLIP_LOSS_SENDER_GONE
	// LossGaveUp: repair requests went unanswered nak_max_retries times.
	LossGaveUp LossReason = C.BLIP_LOSS_GAVE_UP
	// LossRejected: above a local limit (e.g. max_message_size), or malformed.
	LossRejected LossReason = C.BLIP_LOSS_REJECTED
)

// lossReasons names every BLIP_LOSS_* constant the binding knows (checked by the drift test).
var lossReasons = map[string]LossReason{
	"BLIP_LOSS_LEFT_WINDOW": LossLeftWindow,
	"BLIP_LOSS_SENDER_GONE": LossSenderGone,
	"BLIP_LOSS_GAVE_UP":     LossGaveUp,
	"BLIP_LOSS_REJECTED":    LossRejected,
}

// String names the reason as the library does: "left_window", "sender_gone", ...
func (r LossReason) String() string { return C.GoString(C.blip_loss_reason_name(C.int(r))) }

// Event is something a channel reports other than a delivered message. The concrete types
// are the structs below; new ones may be added, so a type switch needs a default case.
type Event interface {
	// Type is the event's BLIP_EVENT_* number.
	Type() EventType
	// String describes the event in one line, for logs.
	String() string
	isEvent()
}

// Loss says that messages [First, First+Count) of a sender stream will never arrive. With
// OpenEnded the loss runs to the unknown end of a vanished stream and Count is 0. Delivery
// continues after it.
type Loss struct {
	Sender
	First     uint64
	Count     uint64
	OpenEnded bool
	Reason    LossReason
}

// Overrun says that this receiver fell behind: messages [First, First+Count) of a sender
// stream were received but dropped because the receive queue was full. Read faster or raise
// WithReceiveQueue.
type Overrun struct {
	Sender
	First uint64
	Count uint64
}

// SenderNew is the first packet heard from a sender stream.
type SenderNew struct{ Sender }

// SenderRestarted says a known node came back with a new session; OldSessionID ended.
type SenderRestarted struct {
	Sender
	OldSessionID uint64
}

// SenderInactive says nothing was heard from the sender for sender_timeout_ms.
type SenderInactive struct{ Sender }

// SenderActive says an inactive sender was heard again.
type SenderActive struct{ Sender }

// SenderRemoved says a silent sender's state was freed (sender_forget_ms).
type SenderRemoved struct{ Sender }

// SocketError says the socket reported an error. At most one is reported per second per
// channel; Suppressed counts those not reported since the last.
type SocketError struct {
	Err        error // an *Error with the library's code
	Text       string
	Suppressed uint64
}

// Warning is a non-fatal problem found at open, e.g. a socket buffer the kernel clamped.
type Warning struct{ Text string }

// UnknownEvent is an event type newer than this binding.
type UnknownEvent struct {
	Sender
	Code EventType
}

// Type implements Event.
func (Loss) Type() EventType { return EventLoss }

// Type implements Event.
func (Overrun) Type() EventType { return EventOverrun }

// Type implements Event.
func (SenderNew) Type() EventType { return EventSenderNew }

// Type implements Event.
func (SenderRestarted) Type() EventType { return EventSenderRestarted }

// Type implements Event.
func (SenderInactive) Type() EventType { return EventSenderInactive }

// Type implements Event.
func (SenderActive) Type() EventType { return EventSenderActive }

// Type implements Event.
func (SenderRemoved) Type() EventType { return EventSenderRemoved }

// Type implements Event.
func (SocketError) Type() EventType { return EventSocketError }

// Type implements Event.
func (Warning) Type() EventType { return EventWarning }

// Type implements Event.
func (e UnknownEvent) Type() EventType { return e.Code }

func (Loss) isEvent()            {}
func (Overrun) isEvent()         {}
func (SenderNew) isEvent()       {}
func (SenderRestarted) isEvent() {}
func (SenderInactive) isEvent()  {}
func (SenderActive) isEvent()    {}
func (SenderRemoved) isEvent()   {}
func (SocketError) isEvent()     {}
func (Warning) isEvent()         {}
func (UnknownEvent) isEvent()    {}

// String describes the event.
func (e Loss) String() string {
	if e.OpenEnded {
		return fmt.Sprintf("loss %s from #%d on (%s)", e.Sender, e.First, e.Reason)
	}
	return fmt.Sprintf("loss %s #%d..#%d, %d messages (%s)", e.Sender, e.First,
		e.First+e.Count-1, e.Count, e.Reason)
}

// String describes the event.
func (e Overrun) String() string {
	return fmt.Sprintf("overrun %s #%d..#%d, %d messages dropped locally", e.Sender, e.First,
		e.First+e.Count-1, e.Count)
}

// String describes the event.
func (e SenderNew) String() string { return "sender_new " + e.Sender.String() }

// String describes the event.
func (e SenderRestarted) String() string {
	return fmt.Sprintf("sender_restarted %s (session %016x ended)", e.Sender, e.OldSessionID)
}

// String describes the event.
func (e SenderInactive) String() string { return "sender_inactive " + e.Sender.String() }

// String describes the event.
func (e SenderActive) String() string { return "sender_active " + e.Sender.String() }

// String describes the event.
func (e SenderRemoved) String() string { return "sender_removed " + e.Sender.String() }

// String describes the event.
func (e SocketError) String() string {
	return fmt.Sprintf("socket_error: %s (%v; %d suppressed)", e.Text, e.Err, e.Suppressed)
}

// String describes the event.
func (e Warning) String() string { return "warning: " + e.Text }

// String describes the event.
func (e UnknownEvent) String() string {
	return fmt.Sprintf("unknown event %d %s", int(e.Code), e.Sender)
}
