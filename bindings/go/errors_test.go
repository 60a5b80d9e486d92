package blip

// errors_test.go - error mapping and option errors; no channel is opened, so these run
// anywhere.

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestEveryCodeMapsToItsSentinel(t *testing.T) {
	for _, row := range errorCodes {
		err := codeError(row.err.Code, "op", "detail")
		if !errors.Is(err, row.err) {
			t.Errorf("%s: errors.Is(newError(%d), sentinel) is false", row.name, row.err.Code)
		}
		if !errors.Is(fmt.Errorf("wrapped: %w", err), row.err) {
			t.Errorf("%s: not found through a wrapping error", row.name)
		}
		for _, other := range errorCodes {
			if other.err != row.err && errors.Is(err, other.err) {
				t.Errorf("%s also matches %s", row.name, other.name)
			}
		}
		var e *Error
		if !errors.As(err, &e) || e.Name != row.name || e.Op != "op" {
			t.Errorf("%s: errors.As gives %+v", row.name, e)
		}
		if row.err.Name != row.name {
			t.Errorf("sentinel for %s is named %q by the library", row.name, row.err.Name)
		}
		if !strings.Contains(err.Error(), row.name) || !strings.Contains(err.Error(), "detail") {
			t.Errorf("%s: message %q lacks the name or the detail", row.name, err)
		}
	}
	if codeError(0, "op", "") != nil {
		t.Error("BLIP_OK must map to nil")
	}
	if msg := ErrClosed.Error(); !strings.HasPrefix(msg, "blip: ") || !strings.Contains(msg, "BLIP_ECLOSED") {
		t.Errorf("ErrClosed.Error() = %q", msg)
	}
}

func TestUnknownCodeKeepsItsNumber(t *testing.T) {
	err := codeError(-999, "op", "")
	var e *Error
	if !errors.As(err, &e) || e.Code != -999 || e.Name != "BLIP_E_UNKNOWN" {
		t.Fatalf("unknown code gives %+v", e)
	}
	for _, row := range errorCodes {
		if errors.Is(err, row.err) {
			t.Errorf("unknown code matches %s", row.name)
		}
	}
}

// configError builds a config with the given options (never opening a channel) and returns
// the error.
func configError(t *testing.T, opts ...Option) error {
	t.Helper()
	cfg, err := newConfig("239.255.79.1", 20000, "127.0.0.1", opts)
	if err == nil {
		destroyConfig(cfg)
	}
	return err
}

func TestOptionErrorsCarryTheLibrarysMessage(t *testing.T) {
	cases := []struct {
		opt  Option
		want error
		text string
	}{
		{WithTTL(300), ErrInvalid, "out of range"},
		{WithInt("no_such_option", 1), ErrNotSupported, "no_such_option"},
		{WithString("port", "not-a-number"), ErrInvalid, "port"},
		{WithFloat("inject_loss", 2), ErrInvalid, "inject_loss"},
		{WithBool("ttl", true), ErrInvalid, "ttl"},
		{WithJoin("sideways"), ErrInvalid, "join"},
	}
	for _, tc := range cases {
		err := configError(t, tc.opt)
		if !errors.Is(err, tc.want) {
			t.Errorf("%v: got %v, want %v", tc.opt, err, tc.want)
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Detail == "" || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%v: message %q lacks the library's explanation (%q)", tc.opt, err, tc.text)
		}
	}
	if err := configError(t, WithTTL(4), WithLoopback(true), WithNodeName("host/svc"),
		WithInjectLoss(0.1), WithAcceptStreams(1, 2), WithNodeID(1<<63+5)); err != nil {
		t.Errorf("valid options refused: %v", err)
	}
}

func TestOptionString(t *testing.T) {
	for opt, want := range map[Option]string{
		WithTTL(4):            "ttl=4",
		WithLoopback(false):   "loopback=false",
		WithInjectLoss(0.25):  "inject_loss=0.25",
		WithJoin(JoinRecover): "join=recover",
	} {
		if opt.String() != want {
			t.Errorf("%q, want %q", opt.String(), want)
		}
	}
}
