package blip

// lifecycle_test.go - cancellation, timeouts and closing: Recv and Send honour their
// context.Context, Close wakes blocked calls, double closes, explicit contexts.

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// within runs f in a goroutine and fails unless it returns within d.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

func TestRecvHonoursCancellationAndTimeout(t *testing.T) {
	requireNetns(t)
	group, port := testGroup(t)
	ch := openTest(t, nil, group, port)
	drain(t, ch) // the channel's own startup events, if any

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	within(t, 2*time.Second, "Recv after cancel", func() {
		if _, err := ch.Recv(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled Recv: %v", err)
		}
	})
	t.Logf("cancelled after %v", time.Since(start))

	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	within(t, 2*time.Second, "Recv with a timeout", func() {
		if _, err := ch.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Recv with a deadline: %v", err)
		}
	})
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("Recv returned after %v, before its 100 ms deadline", d)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := ch.Recv(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Recv with a cancelled context: %v", err)
	}
}

// drain takes whatever is queued now, without waiting.
func drain(t *testing.T, ch *Channel) {
	t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		m, err := ch.Recv(ctx)
		cancel()
		if err != nil {
			return
		}
		t.Logf("drained %v", m)
	}
}

func TestCloseWakesBlockedRecv(t *testing.T) {
	requireNetns(t)
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{
		{"background", context.Background()},
		{"cancellable", testCtx(t, time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			group, port := testGroup(t)
			ch := openTest(t, nil, group, port)
			drain(t, ch)
			errc := make(chan error, 1)
			go func() {
				_, err := ch.Recv(tc.ctx)
				errc <- err
			}()
			time.Sleep(100 * time.Millisecond) // let Recv block
			start := time.Now()
			if err := ch.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-errc:
				if !errors.Is(err, ErrClosed) {
					t.Errorf("blocked Recv after Close: %v", err)
				}
				t.Logf("Recv returned %v after Close", time.Since(start))
			case <-time.After(2 * time.Second):
				t.Fatal("Recv still blocked 2 s after Close")
			}
		})
	}
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	requireNetns(t)
	group, port := testGroup(t)
	ch, err := Open(group, port, testIface)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := ch.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
	if _, err := ch.Send([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
	if _, err := ch.Recv(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Recv after Close: %v", err)
	}
	if _, err := ch.Stats(); !errors.Is(err, ErrClosed) {
		t.Errorf("Stats after Close: %v", err)
	}
	if _, _, err := ch.Identity(); !errors.Is(err, ErrClosed) {
		t.Errorf("Identity after Close: %v", err)
	}
	if _, ok := <-ch.Messages(); ok {
		t.Error("Messages of a closed channel delivered something")
	}
}

// A sender whose queue is full (a tiny queue drained at 2 kB/s, after a first burst of 16
// datagrams) blocks in Send: SendContext
// gives up at its deadline, and Close ends a blocked Send with ErrClosed.
func TestSendWaitsForRoom(t *testing.T) {
	requireNetns(t)
	group, port := testGroup(t)
	ch := openTest(t, nil, group, port, WithRateLimit(2000), WithMaxMessageSize(1000),
		WithSendQueue(2000))
	msg := make([]byte, 1000)
	blocked := false
	for i := 0; i < 100 && !blocked; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		start := time.Now()
		_, err := ch.SendContext(ctx, msg)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			blocked = true
			if d := time.Since(start); d < 100*time.Millisecond {
				t.Errorf("SendContext gave up after %v, before its deadline", d)
			}
		case err != nil:
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if !blocked {
		t.Fatal("the send queue never filled")
	}
	errc := make(chan error, 1)
	go func() {
		for {
			if _, err := ch.Send(msg); err != nil {
				errc <- err
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("blocked Send after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Send still blocked 2 s after Close")
	}
	if err := ch.WaitSent(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitSent after Close: %v", err)
	}
}

func TestExplicitContext(t *testing.T) {
	requireNetns(t)
	x, err := NewContext()
	if err != nil {
		t.Fatal(err)
	}
	group, port := testGroup(t)
	a, err := x.Open(group, port, testIface)
	if err != nil {
		t.Fatal(err)
	}
	b, err := x.Open(group, port, testIface)
	if err != nil {
		t.Fatal(err)
	}
	node, _, _ := b.Identity()
	if _, err := b.Send([]byte("before close")); err != nil {
		t.Fatal(err)
	}
	r := collect(t, testCtx(t, 10*time.Second), a, node, 1)
	if string(r.messages[0].Data) != "before close" {
		t.Errorf("got %q", r.messages[0].Data)
	}

	errc := make(chan error, 1)
	go func() {
		_, err := a.Recv(context.Background())
		errc <- err
	}()
	msgs := b.Messages()
	time.Sleep(100 * time.Millisecond)
	within(t, 5*time.Second, "Context.Close", func() {
		if err := x.Close(); err != nil {
			t.Errorf("Context.Close: %v", err)
		}
	})
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("Recv blocked during Context.Close: %v", err)
	}
	for range msgs { // must end: closed with the context
	}
	if err := a.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("Channel.Close after Context.Close: %v", err)
	}
	if _, err := b.Send([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Context.Close: %v", err)
	}
	if _, err := x.Open(group, port, testIface); !errors.Is(err, ErrClosed) {
		t.Errorf("Open on a closed context: %v", err)
	}
	if err := x.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Context.Close: %v", err)
	}
}

// The library frees a closed channel's handle and descriptor only with its context: the
// default contexts are retired and destroyed so that Open/Close in a loop leaks nothing.
func TestDefaultContextDoesNotAccumulateClosedChannels(t *testing.T) {
	requireNetns(t)
	countFds := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skipf("cannot count descriptors: %v", err)
		}
		return len(entries)
	}
	group, port := testGroup(t)
	before := countFds()
	for i := 0; i < 4*retireAfter; i++ {
		ch, err := Open(group, port, testIface)
		if err != nil {
			t.Fatal(err)
		}
		if err := ch.Close(); err != nil {
			t.Fatal(err)
		}
	}
	after := countFds()
	t.Logf("descriptors: %d before, %d after %d Open/Close", before, after, 4*retireAfter)
	if after-before > retireAfter+16 {
		t.Errorf("%d descriptors leaked by %d Open/Close", after-before, 4*retireAfter)
	}
}
