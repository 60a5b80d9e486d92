// Command logsub prints the lines published by logpub on a Blip channel, prefixed with the
// publisher and the line's sequence number: the collecting half of centralized logging over
// multicast. Lines of each publisher arrive in order; lines that could not be recovered are
// reported on standard error with their exact range, never skipped silently.
//
//	logsub -interface eth0 -group 239.255.0.10 -port 5010
//
// It runs until interrupted, or until -n lines have arrived or -idle passes without one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
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
	count := flag.Int("n", 0, "exit after this many lines (0: run until interrupted)")
	idle := flag.Duration("idle", 0, "exit after this long without a line (0: never)")
	var sets setFlags
	flag.Var(&sets, "set", "any channel option as name=value (repeatable), e.g. -set inject_loss=0.1")
	flag.Parse()
	if *iface == "" {
		fmt.Fprintln(os.Stderr, "logsub: -interface is required (a guessed interface is the classic silent multicast failure)")
		os.Exit(2)
	}

	ch, err := blip.Open(*group, *port, *iface, sets...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "logsub:", err)
		os.Exit(1)
	}
	defer ch.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(os.Stderr, "logsub: listening on %s\n", ch)

	lines, lost := 0, uint64(0)
	for *count == 0 || lines < *count {
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if *idle > 0 {
			rctx, cancel = context.WithTimeout(ctx, *idle)
		}
		m, err := ch.Recv(rctx)
		cancel()
		if err != nil {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				fmt.Fprintln(os.Stderr, "logsub:", err)
			}
			break
		}
		switch e := m.Event.(type) {
		case nil:
			lines++
			fmt.Printf("%s %s #%d: %s\n", time.Now().Format("15:04:05.000"), m.Sender, m.Seq, m.Data)
		case blip.Loss:
			lost += e.Count
			fmt.Fprintf(os.Stderr, "logsub: LOST %v\n", e)
		case blip.Overrun:
			lost += e.Count
			fmt.Fprintf(os.Stderr, "logsub: LOST (too slow) %v\n", e)
		default:
			fmt.Fprintf(os.Stderr, "logsub: %v\n", e)
		}
	}
	fmt.Fprintf(os.Stderr, "logsub: %d lines, %d lost", lines, lost)
	if st, err := ch.Stats(); err == nil {
		fmt.Fprintf(os.Stderr, "; %d datagrams dropped by inject_loss, %d repairs received, %d NAKs sent",
			st["injected_drops"], st["repairs_received"], st["naks_sent"])
	}
	fmt.Fprintln(os.Stderr)
	if lost > 0 {
		os.Exit(3)
	}
}
