package blip

// default.go - the managed default contexts behind package-level Open. The library keeps a
// closed channel's handle (and its receive descriptor) until the context is destroyed, so one
// context that lived forever would leak both with every Open/Close. Instead the default
// context is retired after retireAfter channels have closed on it: later Opens get a fresh
// one, and a retired context is destroyed as soon as its last channel closes.

import "sync"

// retireAfter bounds how many closed channel handles a default context accumulates.
const retireAfter = 64

var defaults struct {
	mu  sync.Mutex
	cur *Context
}

// Open opens a channel on a shared default context: group is a multicast address
// ("239.1.2.3", "ff12::1", "ff02::1%eth0"), port a UDP port, iface the interface by name,
// index or address ("127.0.0.1"; never guessed). Options follow, e.g. WithTTL(4). Errors
// carry the library's explanation, e.g. ErrInvalid with "group '10.0.0.1' is not multicast".
// Channels opened this way share one loop thread; the package manages that context.
func Open(group string, port int, iface string, opts ...Option) (*Channel, error) {
	x, err := pickDefault()
	if err != nil {
		return nil, err
	}
	c, err := x.Open(group, port, iface, opts...)
	x.mu.Lock()
	x.pending--
	destroy := x.retireIfDueLocked()
	x.mu.Unlock()
	if destroy {
		_ = x.destroy()
	}
	return c, err
}

// pickDefault returns the current default context, creating one if needed, and counts an
// Open pending on it so that it is not destroyed meanwhile.
func pickDefault() (*Context, error) {
	defaults.mu.Lock()
	defer defaults.mu.Unlock()
	if x := defaults.cur; x != nil {
		x.mu.Lock()
		if !x.retired {
			x.pending++
			x.mu.Unlock()
			return x, nil
		}
		x.mu.Unlock()
	}
	x, err := NewContext()
	if err != nil {
		return nil, err
	}
	x.managed = true
	x.pending = 1
	defaults.cur = x
	return x, nil
}

// retireIfDueLocked retires a managed context that has seen retireAfter closes and reports
// whether it must now be destroyed (retired, no channel open, no Open pending). It marks it
// closing, so the caller destroys it exactly once. x.mu is held.
func (x *Context) retireIfDueLocked() bool {
	if !x.managed || x.closing {
		return false
	}
	if x.closed >= retireAfter {
		x.retired = true
	}
	if x.retired && len(x.channels) == 0 && x.pending == 0 {
		x.closing = true
		return true
	}
	return false
}
