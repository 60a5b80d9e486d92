package blip

// helpers_test.go - what the channel tests share: the network-namespace gate, a fresh group
// per test, and helpers to open channels and collect messages.

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// The interface is always named explicitly: loopback, inside the private namespace.
const testIface = "127.0.0.1"

var groupCounter atomic.Int32

// requireNetns skips a test that opens channels unless it runs inside .ci/in-netns.sh: an
// open channel sends multicast (heartbeats), which must never reach a real network.
func requireNetns(t *testing.T) {
	t.Helper()
	if os.Getenv("BLIP_NETNS") == "" {
		t.Skip("opens a channel, which sends multicast: runs only inside a private network " +
			"namespace (.ci/in-netns.sh sets BLIP_NETNS)")
	}
}

// testGroup gives each test its own group (239.255.79.N, then 239.255.80.N, ...) and a port that differs between
// processes, so that tests running in parallel, here or in other suites, never share one.
func testGroup(t *testing.T) (string, int) {
	t.Helper()
	n := groupCounter.Add(1) - 1
	return fmt.Sprintf("239.255.%d.%d", 79+n/250%100, 1+n%250), 20000 + os.Getpid()%20000
}

// openTest opens a channel on the test's group and closes it when the test ends.
func openTest(t *testing.T, x *Context, group string, port int, opts ...Option) *Channel {
	t.Helper()
	var ch *Channel
	var err error
	if x == nil {
		ch, err = Open(group, port, testIface, opts...)
	} else {
		ch, err = x.Open(group, port, testIface, opts...)
	}
	if err != nil {
		t.Fatalf("open %s:%d: %v", group, port, err)
	}
	t.Cleanup(func() { _ = ch.Close() })
	return ch
}

// testCtx is a context.Context that ends with the test or after d.
func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// received is what a receiver got from one sender node.
type received struct {
	messages []Message // data messages, in arrival order
	events   []Event   // every event about that node
}

// collect receives until `want` data messages from node have arrived or ctx ends. Events
// about other nodes (never expected) fail the test.
func collect(t *testing.T, ctx context.Context, ch *Channel, node uint64, want int) received {
	t.Helper()
	var r received
	for len(r.messages) < want {
		m, err := ch.Recv(ctx)
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(r.messages), want, err)
		}
		if m.NodeID != node && m.Event == nil {
			t.Fatalf("message from unexpected node %s", m.Sender)
		}
		switch {
		case m.Event == nil:
			r.messages = append(r.messages, m)
		case m.NodeID == node:
			r.events = append(r.events, m.Event)
		default:
			t.Logf("event not about the sender: %v", m.Event)
		}
	}
	return r
}
