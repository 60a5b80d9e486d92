// Package blip is the Go binding of Blip: reliable, sequenced messaging over IP multicast.
//
// A sender multicasts numbered messages on a channel (a group, a port and an interface);
// receivers detect gaps, recover them with NAKs and retransmission, and deliver every message
// of each sender stream exactly once and in order. What cannot be recovered is reported as a
// Loss event naming the exact messages, never dropped silently.
//
//	ch, err := blip.Open("239.255.0.1", 5000, "127.0.0.1", blip.WithTTL(1))
//	if err != nil { ... }
//	defer ch.Close()
//	seq, err := ch.Send([]byte("hello"))
//	m, err := ch.Recv(ctx) // the next message or event, in order
//
// The binding wraps the C library libblip through cgo and finds it with pkg-config (blip.pc).
// It uses the library only in pull mode: no Go function is ever called from the library's
// loop thread. Every method of Channel is safe for concurrent use by many goroutines.
//
// Errors are *Error values carrying the library's BLIP_E* code; test them with errors.Is
// against the sentinels (ErrInvalid, ErrWouldBlock, ErrClosed, ...). Cancelled or expired
// context.Context values give ctx.Err() instead.
package blip
