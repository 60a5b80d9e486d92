package blip

// drift_test.go - keeps the binding in step with the contract: parses include/blip/blip.h and
// checks that every BLIP_E* code, BLIP_EVENT_* type, BLIP_LOSS_* reason and every row of the
// option table is known here with the same number or type, and nothing here is unknown there.

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// headerPath is blip.h of the source tree this module sits in (bindings/go), or the file
// BLIP_GO_HEADER names (used to check that the test catches a changed header).
var headerPath = func() string {
	if p := os.Getenv("BLIP_GO_HEADER"); p != "" {
		return p
	}
	return filepath.Join("..", "..", "include", "blip", "blip.h")
}()

func readHeader(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(headerPath)
	if err != nil {
		t.Skipf("the contract header is not here (%v): run from bindings/go of the source tree", err)
	}
	return string(b)
}

// defines returns the #defines of the header whose names start with prefix, with their values.
func defines(t *testing.T, header, prefix string) map[string]int {
	t.Helper()
	re := regexp.MustCompile(`(?m)^#define (` + prefix + `[A-Z_]+)\s+\(?(-?\d+)\)?`)
	out := map[string]int{}
	for _, m := range re.FindAllStringSubmatch(header, -1) {
		v, err := strconv.Atoi(m[2])
		if err != nil {
			t.Fatalf("%s: %v", m[1], err)
		}
		out[m[1]] = v
	}
	if len(out) == 0 {
		t.Fatalf("no #define %s* found in %s", prefix, headerPath)
	}
	return out
}

func TestDriftErrorCodes(t *testing.T) {
	header := readHeader(t)
	codes := defines(t, header, "BLIP_E")
	known := map[string]int{}
	for _, row := range errorCodes {
		known[row.name] = row.err.Code
	}
	for name, code := range codes {
		if strings.HasPrefix(name, "BLIP_EVENT_") {
			continue
		}
		got, ok := known[name]
		switch {
		case !ok:
			t.Errorf("blip.h defines %s (%d) but the binding has no sentinel for it (errors.go)", name, code)
		case got != code:
			t.Errorf("%s is %d in blip.h but %d in the binding", name, code, got)
		}
		delete(known, name)
	}
	for name := range known {
		t.Errorf("the binding knows %s but blip.h does not define it", name)
	}
}

func TestDriftEventTypesAndLossReasons(t *testing.T) {
	header := readHeader(t)
	for name, v := range defines(t, header, "BLIP_EVENT_") {
		if got, ok := eventTypes[name]; !ok || int(got) != v {
			t.Errorf("blip.h: %s = %d; the binding has %d (known: %v)", name, v, got, ok)
		}
	}
	for name, v := range defines(t, header, "BLIP_LOSS_") {
		if got, ok := lossReasons[name]; !ok || int(got) != v {
			t.Errorf("blip.h: %s = %d; the binding has %d (known: %v)", name, v, got, ok)
		}
	}
	if n := len(defines(t, header, "BLIP_EVENT_")); n != len(eventTypes) {
		t.Errorf("blip.h has %d event types, the binding %d", n, len(eventTypes))
	}
}

// headerOptions parses the option table of blip.h's configuration section: rows
// `| name | type | default | meaning |` inside the Doxygen comment. A row may wrap over several
// comment lines, and several rows may share one line, so the table's text is joined and cut
// at the cell bars: after the header and separator rows it reads
// "| n | t | d | m | | n | t | d | m |...", i.e. groups of four cells with a blank between.
func headerOptions(t *testing.T, header string) map[string]string {
	t.Helper()
	lines := strings.Split(header, "\n")
	start := -1
	for i, l := range lines {
		if strings.Contains(l, "| name | type | default | meaning |") {
			start = i
			break
		}
	}
	if start < 0 || start+1 >= len(lines) || !strings.Contains(lines[start+1], "|------|") {
		t.Fatalf("%s: the option table header `| name | type | default | meaning |` is gone", headerPath)
	}
	var text []string
	for _, l := range lines[start+2:] {
		l = strings.TrimSpace(l)
		if l == "*" || !strings.HasPrefix(l, "*") {
			break // the blank comment line that ends the table
		}
		text = append(text, strings.TrimSpace(strings.TrimPrefix(l, "*")))
	}
	joined := strings.TrimSpace(strings.Join(text, " "))
	if !strings.HasPrefix(joined, "|") || !strings.HasSuffix(joined, "|") {
		t.Fatalf("option table does not start and end with a cell bar: %.80q...", joined)
	}
	tokens := strings.Split(joined[1:len(joined)-1], "|")
	if len(tokens)%5 != 4 {
		t.Fatalf("option table: %d cells, not rows of 4 (a '|' inside a cell?)", len(tokens))
	}
	nameRE := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	out := map[string]string{}
	for i := 0; i < len(tokens); i += 5 {
		if i > 0 && strings.TrimSpace(tokens[i-1]) != "" {
			t.Fatalf("option table: expected a row boundary before %q", tokens[i])
		}
		name, typ := strings.TrimSpace(tokens[i]), strings.TrimSpace(tokens[i+1])
		if !nameRE.MatchString(name) {
			t.Fatalf("option table: %q does not look like an option name (row %d)", name, i/5+1)
		}
		out[name] = typ
	}
	return out
}

// headerType maps the type column ("int 1..65535", "double 0..1", "int or string (...)") to
// an OptionType.
func headerType(col string) OptionType {
	switch {
	case strings.HasPrefix(col, "int or string"):
		return OptionIntOrString
	case strings.HasPrefix(col, "string"):
		return OptionString
	case strings.HasPrefix(col, "int"):
		return OptionInt
	case strings.HasPrefix(col, "bool"):
		return OptionBool
	case strings.HasPrefix(col, "double"):
		return OptionFloat
	}
	return 0
}

func TestDriftOptionTable(t *testing.T) {
	table := headerOptions(t, readHeader(t))
	if len(table) < 30 {
		t.Fatalf("parsed only %d options from blip.h: %v", len(table), table)
	}
	for name, col := range table {
		want := headerType(col)
		got, ok := LookupOption(name)
		switch {
		case want == 0:
			t.Errorf("option %s: type column %q not understood", name, col)
		case !ok:
			t.Errorf("blip.h documents option %s (%s) but optiontable.go lacks it", name, col)
		case got != want:
			t.Errorf("option %s is %q in blip.h but %v in optiontable.go", name, col, got)
		}
	}
	for _, name := range OptionNames() {
		if _, ok := table[name]; !ok {
			t.Errorf("optiontable.go has %s, which blip.h's option table does not document", name)
		}
	}
}

// Every option of the table is known to the library too (an unknown name is
// BLIP_ENOTSUP whatever the value), and every typed helper names a known option with a
// compatible value type.
func TestOptionsKnownToTheLibrary(t *testing.T) {
	for _, name := range OptionNames() {
		if err := configError(t, WithString(name, "1")); errors.Is(err, ErrNotSupported) {
			t.Errorf("the library does not know option %s: %v", name, err)
		}
	}
	if err := configError(t, WithString("no_such_option", "1")); !errors.Is(err, ErrNotSupported) {
		t.Errorf("an unknown option gives %v, want ErrNotSupported", err)
	}
	helpers := []Option{WithTTL(1), WithLoopback(true), WithReusePort(true), WithStream(1),
		WithAcceptStreams(1), WithNodeID(1), WithNodeName("n"), WithJoin(JoinNext),
		WithMaxMessageSize(1), WithDatagramSize(1400), WithRateLimit(0), WithSendQueue(1),
		WithReceiveQueue(1), WithRecvBuffer(0), WithSendBuffer(0), WithSeed(1),
		WithInjectLoss(0), WithInjectSeed(1)}
	for _, o := range helpers {
		typ, ok := LookupOption(o.Name())
		compatible := o.kind == kindString ||
			(o.kind == kindInt && (typ == OptionInt || typ == OptionIntOrString)) ||
			(o.kind == kindBool && typ == OptionBool) || (o.kind == kindFloat && typ == OptionFloat)
		if !ok || !compatible {
			t.Errorf("helper %v: option %q is %v in the table (known: %v)", o, o.Name(), typ, ok)
		}
	}
}
