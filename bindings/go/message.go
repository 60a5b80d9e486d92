package blip

// message.go - what Recv returns: a delivered message, or an event about the channel's
// senders, in the order the library reports them.

import "fmt"

// Sender identifies one sender stream: a node (stable across restarts when it sets
// WithNodeID or WithNodeName), its session (random per start) and the stream.
type Sender struct {
	// NodeID is the sender's node id.
	NodeID uint64
	// SessionID is the sender's session, random per start of the sender.
	SessionID uint64
	// Stream is the sender's stream id.
	Stream uint32
}

// String formats the sender as NODEID/STREAM in hex/decimal, e.g. "00c0ffee00000001/0".
func (s Sender) String() string { return fmt.Sprintf("%016x/%d", s.NodeID, s.Stream) }

// Message is one item taken from a channel: a delivered message (Event is nil), or an event
// (Event is set, Data is nil). Messages of one sender stream arrive exactly once and in
// sequence order; a gap is always reported by a Loss or Overrun event first.
type Message struct {
	// Sender is who sent the message, or whom the event is about (zero for Warning and
	// SocketError).
	Sender
	// Seq is the message's sequence number in its sender stream (0, 1, 2, ...).
	Seq uint64
	// Data is the payload, a copy owned by the caller (empty, not nil, for an empty message).
	Data []byte
	// Event is nil for a delivered message; otherwise one of Loss, Overrun, SenderNew,
	// SenderRestarted, SenderInactive, SenderActive, SenderRemoved, SocketError, Warning or
	// UnknownEvent.
	Event Event
}

// IsEvent reports whether m carries an event rather than a delivered message.
func (m Message) IsEvent() bool { return m.Event != nil }

// String describes the message in one line, for logs.
func (m Message) String() string {
	if m.Event != nil {
		return m.Event.String()
	}
	return fmt.Sprintf("message %s #%d (%d bytes)", m.Sender, m.Seq, len(m.Data))
}
