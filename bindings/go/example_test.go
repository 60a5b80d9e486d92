package blip_test

// example_test.go - documentation examples (compiled by go test and go vet, never run: they
// would open channels).

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"blip.dev/blip"
)

func ExampleOpen() {
	ch, err := blip.Open("239.255.0.1", 5000, "127.0.0.1", blip.WithTTL(1),
		blip.WithNodeName("example/hello"))
	if errors.Is(err, blip.ErrNoDevice) {
		log.Fatalf("no such interface: %v", err) // the message lists the interfaces
	} else if err != nil {
		log.Fatal(err)
	}
	defer ch.Close()
	if _, err := ch.Send([]byte("hello")); err != nil {
		log.Fatal(err)
	}
}

func ExampleChannel_Recv() {
	ch, err := blip.Open("239.255.0.1", 5000, "127.0.0.1")
	if err != nil {
		log.Fatal(err)
	}
	defer ch.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		m, err := ch.Recv(ctx)
		if err != nil {
			return // ctx.Err() after 10 s, or blip.ErrClosed
		}
		switch e := m.Event.(type) {
		case nil:
			fmt.Printf("%s #%d: %s\n", m.Sender, m.Seq, m.Data)
		case blip.Loss:
			fmt.Printf("lost %d messages of %s from #%d (%s)\n", e.Count, e.Sender, e.First, e.Reason)
		default:
			fmt.Println(e)
		}
	}
}

func ExampleChannel_Messages() {
	ch, err := blip.Open("239.255.0.1", 5000, "127.0.0.1")
	if err != nil {
		log.Fatal(err)
	}
	time.AfterFunc(time.Minute, func() { ch.Close() }) // ends the loop below
	for m := range ch.Messages() {
		if !m.IsEvent() {
			fmt.Printf("%s: %s\n", m.Sender, m.Data)
		}
	}
}

func ExampleNewContext() {
	x, err := blip.NewContext() // one loop thread for the channels opened on it
	if err != nil {
		log.Fatal(err)
	}
	defer x.Close() // closes its channels and frees everything
	a, err := x.Open("239.255.0.1", 5000, "127.0.0.1", blip.WithStream(1))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := a.SendStream(2, []byte("on stream 2")); err != nil {
		log.Fatal(err)
	}
}
