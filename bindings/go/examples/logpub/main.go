// Command logpub publishes the lines of its standard input on a Blip channel, one message per
// line: the sending half of centralized logging over multicast. Every subscriber (logsub)
// gets every line, in order, or is told exactly which lines it lost.
//
//	tail -F /var/log/app.log | logpub -interface eth0 -group 239.255.0.10 -port 5010
//
// At end of input it waits until every line has been transmitted, then stays on the group
// for -linger so that receivers can still repair what they missed.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"blip.dev/blip"
)

// setFlags collects repeated -set name=value options.
type setFlags []blip.Option

func (s *setFlags) String() string { return fmt.Sprint(*s) }

func (s *setFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("want name=value")
	}
	*s = append(*s, blip.WithString(name, value))
	return nil
}

func main() {
	group := flag.String("group", "239.255.0.10", "multicast group")
	port := flag.Int("port", 5010, "UDP port")
	iface := flag.String("interface", "", "interface by name, index or address (required)")
	name := flag.String("name", defaultName(), "node name: receivers recognise this publisher across restarts")
	linger := flag.Duration("linger", time.Second, "time to stay on the group after the last line, for repairs")
	var sets setFlags
	flag.Var(&sets, "set", "any channel option as name=value (repeatable), e.g. -set ttl=4")
	flag.Parse()
	if *iface == "" {
		fmt.Fprintln(os.Stderr, "logpub: -interface is required (a guessed interface is the classic silent multicast failure)")
		os.Exit(2)
	}

	opts := append([]blip.Option{blip.WithNodeName(*name)}, sets...)
	ch, err := blip.Open(*group, *port, *iface, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "logpub:", err)
		os.Exit(1)
	}
	defer ch.Close()

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64*1024), 16*1024*1024)
	lines := 0
	for in.Scan() {
		if _, err := ch.Send(in.Bytes()); err != nil { // Send copies the line
			fmt.Fprintln(os.Stderr, "logpub:", err)
			os.Exit(1)
		}
		lines++
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "logpub: reading stdin:", err)
	}
	if err := ch.WaitSent(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "logpub:", err)
		os.Exit(1)
	}
	time.Sleep(*linger)
	fmt.Fprintf(os.Stderr, "logpub: %d lines published on %s\n", lines, ch)
}

func defaultName() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return host + "/logpub"
}
