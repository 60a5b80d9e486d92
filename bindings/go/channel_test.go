package blip

// channel_test.go - channels over loopback multicast inside the private namespace: delivery
// with injected loss, concurrent senders, the Messages channel, stats, open errors.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSendRecvWithInjectedLoss(t *testing.T) {
	requireNetns(t)
	group, port := testGroup(t)
	const n = 3000
	rx := openTest(t, nil, group, port, WithInjectLoss(0.1), WithInjectSeed(7))
	tx := openTest(t, nil, group, port, WithNodeName("go-test/sender"))
	node, _, err := tx.Identity()
	if err != nil {
		t.Fatal(err)
	}
	// ~300-byte messages: several hundred datagrams, so that 10% loss drops dozens of them.
	payload := func(i int) string { return fmt.Sprintf("message %d %0290d", i, i) }
	go func() {
		for i := 0; i < n; i++ {
			seq, err := tx.Send([]byte(payload(i)))
			if err != nil || seq != uint64(i) {
				t.Errorf("send %d: seq %d, %v", i, seq, err)
				return
			}
		}
	}()
	r := collect(t, testCtx(t, 60*time.Second), rx, node, n)
	for i, m := range r.messages {
		if m.Seq != uint64(i) || string(m.Data) != payload(i) {
			t.Fatalf("message %d: seq %d, %q", i, m.Seq, m.Data)
		}
	}
	sawNew := false
	for _, e := range r.events {
		switch e := e.(type) {
		case SenderNew:
			sawNew = true
		case Loss, Overrun:
			t.Errorf("unexpected %v", e)
		}
	}
	if !sawNew {
		t.Error("no SenderNew event before the messages")
	}
	stats, err := rx.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("receiver: %d datagrams, %d dropped by inject_loss, %d repairs, %d NAKs sent",
		stats["data_datagrams_received"], stats["injected_drops"], stats["repairs_received"],
		stats["naks_sent"])
	if stats["injected_drops"] == 0 || stats["repairs_received"] == 0 {
		t.Errorf("no loss was injected and repaired: %v", stats)
	}
	if stats["messages_received"] != n || stats["messages_lost"] != 0 {
		t.Errorf("messages_received %d, messages_lost %d", stats["messages_received"],
			stats["messages_lost"])
	}
}

func TestConcurrentSenders(t *testing.T) {
	requireNetns(t)
	group, port := testGroup(t)
	const goroutines, each, streams = 16, 500, 4
	rx := openTest(t, nil, group, port)
	tx := openTest(t, nil, group, port)
	node, _, _ := tx.Identity()

	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			payload := make([]byte, 8)
			for i := 0; i < each; i++ {
				binary.BigEndian.PutUint32(payload[0:], uint32(g))
				binary.BigEndian.PutUint32(payload[4:], uint32(i))
				if _, err := tx.SendStream(uint32(g%streams), payload); err != nil {
					t.Errorf("goroutine %d message %d: %v", g, i, err)
					return
				}
			}
		}(g)
	}
	r := collect(t, testCtx(t, 60*time.Second), rx, node, goroutines*each)
	wg.Wait()

	nextSeq := map[uint32]uint64{}
	nextIndex := map[uint32]uint32{}
	for _, m := range r.messages {
		if m.Seq != nextSeq[m.Stream] {
			t.Fatalf("stream %d: seq %d, want %d", m.Stream, m.Seq, nextSeq[m.Stream])
		}
		nextSeq[m.Stream]++
		g, i := binary.BigEndian.Uint32(m.Data[0:]), binary.BigEndian.Uint32(m.Data[4:])
		if g%streams != m.Stream || i != nextIndex[g] {
			t.Fatalf("goroutine %d's message %d on stream %d, want its message %d", g, i, m.Stream, nextIndex[g])
		}
		nextIndex[g]++
	}
	for s := uint32(0); s < streams; s++ {
		if nextSeq[s] != goroutines/streams*each {
			t.Errorf("stream %d: %d messages", s, nextSeq[s])
		}
	}
}

func TestMessagesChannel(t *testing.T) {
	requireNetns(t)
	group, port := testGroup(t)
	const n = 200
	rx := openTest(t, nil, group, port)
	tx := openTest(t, nil, group, port)
	node, _, _ := tx.Identity()
	for i := 0; i < n; i++ {
		if _, err := tx.Send([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := rx.Messages()
	if rx.Messages() != msgs {
		t.Error("Messages returned a different channel the second time")
	}
	got := 0
	timeout := time.After(30 * time.Second)
	for got < n {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatalf("closed after %d messages", got)
			}
			if m.Event != nil || m.NodeID != node {
				continue
			}
			if m.Seq != uint64(got) || len(m.Data) != 1 || m.Data[0] != byte(got) {
				t.Fatalf("message %d: %v %v", got, m, m.Data)
			}
			got++
		case <-timeout:
			t.Fatalf("timed out after %d of %d messages", got, n)
		}
	}
	if err := rx.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-msgs:
			if !ok {
				return // closed with the channel
			}
		case <-deadline:
			t.Fatal("Messages channel still open 5 s after Close")
		}
	}
}

func TestStats(t *testing.T) {
	requireNetns(t)
	group, port := testGroup(t)
	const n = 50
	rx := openTest(t, nil, group, port)
	tx := openTest(t, nil, group, port, WithStream(3))
	node, _, _ := tx.Identity()
	for i := 0; i < n; i++ {
		if _, err := tx.Send([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	r := collect(t, testCtx(t, 30*time.Second), rx, node, n)
	if r.messages[0].Stream != 3 {
		t.Errorf("WithStream(3): message on stream %d", r.messages[0].Stream)
	}
	txStats, err := tx.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if len(txStats) != len(StatNames()) || len(txStats) == 0 {
		t.Fatalf("Stats has %d counters, StatNames %d", len(txStats), len(StatNames()))
	}
	if txStats["messages_sent"] != n {
		t.Errorf("sender messages_sent = %d, want %d (all: %v)", txStats["messages_sent"], n, txStats)
	}
	remotes, err := rx.Remotes()
	if err != nil {
		t.Fatal(err)
	}
	var found *Sender
	for i := range remotes {
		if remotes[i].NodeID == node && remotes[i].Stream == 3 {
			found = &remotes[i]
		}
	}
	if found == nil {
		t.Fatalf("Remotes() = %v lacks %016x/3", remotes, node)
	}
	rs, err := rx.RemoteStats(*found)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(RemoteStatNames()) || rs["messages"] != n {
		t.Errorf("remote stats: %v", rs)
	}
	if _, err := rx.RemoteStats(Sender{NodeID: node ^ 1}); !errors.Is(err, ErrAddrNotAvailable) {
		t.Errorf("stats of an unknown sender: %v, want ErrAddrNotAvailable", err)
	}
}

func TestOpenErrors(t *testing.T) {
	requireNetns(t)
	_, port := testGroup(t)
	cases := []struct {
		group, iface string
		port         int
		want         []error
		text         string
	}{
		{"10.1.2.3", testIface, port, []error{ErrInvalid}, "multicast"},
		{"not-an-address", testIface, port, []error{ErrInvalid}, "not-an-address"},
		{"239.255.79.200", testIface, 0, []error{ErrInvalid}, "port"},
		{"239.255.79.200", "eth9", port, []error{ErrNoDevice, ErrAddrNotAvailable}, "eth9"},
	}
	for _, tc := range cases {
		ch, err := Open(tc.group, tc.port, tc.iface)
		if err == nil {
			ch.Close()
			t.Errorf("open %s:%d@%s succeeded", tc.group, tc.port, tc.iface)
			continue
		}
		ok := false
		for _, w := range tc.want {
			ok = ok || errors.Is(err, w)
		}
		var e *Error
		if !ok || !errors.As(err, &e) || e.Detail == "" || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("open %s:%d@%s: %v; want %v with a message naming %q", tc.group, tc.port,
				tc.iface, err, tc.want, tc.text)
		}
		t.Logf("%v", err)
	}
}

func TestMessageTooLarge(t *testing.T) {
	requireNetns(t)
	group, port := testGroup(t)
	ch := openTest(t, nil, group, port, WithMaxMessageSize(1000))
	if _, err := ch.Send(make([]byte, 1001)); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("1001 bytes with max_message_size 1000: %v", err)
	}
	if _, err := ch.Send(make([]byte, 1000)); err != nil {
		t.Errorf("1000 bytes: %v", err)
	}
	if _, err := ch.Send(nil); err != nil {
		t.Errorf("empty message: %v", err)
	}
}
