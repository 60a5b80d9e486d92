package blip

// context.go - Context: one library context (an event loop on its own thread) and the channels
// opened on it. NewContext gives one the caller controls and closes; package-level Open uses
// managed default contexts (default.go).

// #include <blip/blip.h>
import "C"

import "sync"

// Context owns one library event loop, on a thread of its own, and the channels opened on
// it. Most programs never need one: Open uses a shared default context. Create one with
// NewContext to choose which channels share a loop thread, or to free everything at a known
// point with Close. The library frees a closed channel's resources (its handle and a file
// descriptor) only when its context is destroyed: a Context that opens and closes channels
// over a long life should be closed and replaced now and then, as the default one is. All
// methods are safe for concurrent use.
type Context struct {
	// life is held for reading by every call that uses the context or one of its channels,
	// and for writing while Close destroys the context: the library forbids
	// blip_context_destroy concurrently with other calls on the context or its channels.
	life sync.RWMutex
	ptr  *C.blip_context_t // nil once destroyed; written under life (write lock)

	mu       sync.Mutex // guards the fields below
	closing  bool
	channels map[*Channel]struct{}
	// Managed default contexts only (default.go).
	managed bool
	pending int // package-level Opens that chose this context and have not finished
	closed  int // channels closed so far
	retired bool
}

// NewContext creates a context and starts its loop thread.
func NewContext() (*Context, error) {
	var ptr *C.blip_context_t
	if rc := C.blip_context_create(&ptr); rc != C.BLIP_OK {
		return nil, newError(rc, "context create", "")
	}
	return &Context{ptr: ptr, channels: make(map[*Channel]struct{})}, nil
}

// acquire marks the start of a call on the context or one of its channels; false if the
// context is destroyed. A true result must be paired with release.
func (x *Context) acquire() bool {
	x.life.RLock()
	if x.ptr == nil {
		x.life.RUnlock()
		return false
	}
	return true
}

func (x *Context) release() { x.life.RUnlock() }

// register records an open channel; false if the context started closing meanwhile.
func (x *Context) register(c *Channel) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closing {
		return false
	}
	x.channels[c] = struct{}{}
	return true
}

// forget drops a closed channel; a retired default context is destroyed with its last one.
func (x *Context) forget(c *Channel) {
	x.mu.Lock()
	_, known := x.channels[c]
	delete(x.channels, c)
	if known {
		x.closed++
	}
	destroy := x.retireIfDueLocked()
	x.mu.Unlock()
	if destroy {
		_ = x.destroy()
	}
}

// Close closes every channel of the context (as Channel.Close: blocked calls on them return
// ErrClosed), waits for calls still running on them to return, then stops the loop thread
// and frees everything. A second Close returns ErrClosed.
func (x *Context) Close() error {
	x.mu.Lock()
	if x.managed {
		x.mu.Unlock()
		return newError(C.BLIP_ESTATE, "context close", "the default context is managed by the package")
	}
	if x.closing {
		x.mu.Unlock()
		return closedError("context close")
	}
	x.closing = true
	open := make([]*Channel, 0, len(x.channels))
	for c := range x.channels {
		open = append(open, c)
	}
	x.channels = nil
	x.mu.Unlock()

	// Closing the channels first wakes every call blocked on them, so the write lock in
	// destroy is granted once they have returned.
	for _, c := range open {
		_ = c.closeHandle()
	}
	return x.destroy()
}

// destroy frees the library context once no call is using it; the caller has set closing.
func (x *Context) destroy() error {
	x.life.Lock()
	defer x.life.Unlock()
	rc := C.blip_context_destroy(x.ptr)
	x.ptr = nil
	return newError(rc, "context close", "")
}
