package blip

// errors.go - the library's BLIP_E* codes as Go error values: one exported sentinel per code,
// and *Error, which carries the code, the operation and the library's explanation.

// #include <blip/blip.h>
import "C"

import "fmt"

// Error is an error reported by the library. Every error a Channel, Context or Open returns
// (other than a context.Context's own error) is an *Error. Compare it with the sentinels with
// errors.Is: two *Error values match when their codes are equal, whatever their messages.
type Error struct {
	// Code is the library's negative BLIP_E* code, e.g. -1 for BLIP_EINVAL.
	Code int
	// Name is the code's C name, e.g. "BLIP_EINVAL".
	Name string
	// Op is the operation that failed, e.g. "open", "send", "option ttl"; empty in sentinels.
	Op string
	// Detail is the library's explanation when it gave one (blip_config_error() for
	// configuration and open failures), e.g. "option 'ttl': 300 is out of range 0..255".
	Detail string
}

// Error formats the error as "blip: OP: DETAIL (NAME)", falling back on the code's generic
// description when the library gave no detail.
func (e *Error) Error() string {
	what := e.Detail
	if what == "" {
		what = describeCode(e.Code)
	}
	if e.Op == "" {
		return fmt.Sprintf("blip: %s (%s)", what, e.Name)
	}
	return fmt.Sprintf("blip: %s: %s (%s)", e.Op, what, e.Name)
}

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, blip.ErrInvalid) holds for every BLIP_EINVAL failure.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// The sentinels, one per BLIP_E* code of blip.h. Use them with errors.Is; never compare
// errors with ==, since the errors returned carry the operation and details.
var (
	// ErrInvalid is BLIP_EINVAL: an invalid argument or option value.
	ErrInvalid = sentinel(C.BLIP_EINVAL)
	// ErrNoMemory is BLIP_ENOMEM: out of memory.
	ErrNoMemory = sentinel(C.BLIP_ENOMEM)
	// ErrWouldBlock is BLIP_EAGAIN: a queue is full. Send waits instead of returning it.
	ErrWouldBlock = sentinel(C.BLIP_EAGAIN)
	// ErrMessageTooLarge is BLIP_EMSGSIZE: a message above the max_message_size option.
	ErrMessageTooLarge = sentinel(C.BLIP_EMSGSIZE)
	// ErrClosed is BLIP_ECLOSED: the channel or context is closed, or closing.
	ErrClosed = sentinel(C.BLIP_ECLOSED)
	// ErrTimedOut is BLIP_ETIMEDOUT: an operation timed out inside the library.
	ErrTimedOut = sentinel(C.BLIP_ETIMEDOUT)
	// ErrNotSupported is BLIP_ENOTSUP: an unknown option or counter name.
	ErrNotSupported = sentinel(C.BLIP_ENOTSUP)
	// ErrAddrInUse is BLIP_EADDRINUSE: the group and port are taken without reuse_port.
	ErrAddrInUse = sentinel(C.BLIP_EADDRINUSE)
	// ErrAddrNotAvailable is BLIP_EADDRNOTAVAIL: an address or interface is not usable, or a
	// remote sender stream is not tracked.
	ErrAddrNotAvailable = sentinel(C.BLIP_EADDRNOTAVAIL)
	// ErrNoDevice is BLIP_ENODEV: no such network interface.
	ErrNoDevice = sentinel(C.BLIP_ENODEV)
	// ErrProtocol is BLIP_EPROTO: a malformed packet.
	ErrProtocol = sentinel(C.BLIP_EPROTO)
	// ErrState is BLIP_ESTATE: the object is in the wrong state for the call.
	ErrState = sentinel(C.BLIP_ESTATE)
	// ErrIO is BLIP_EIO: a system or socket error.
	ErrIO = sentinel(C.BLIP_EIO)
	// ErrInternal is BLIP_EINTERNAL: a bug in Blip; please report it.
	ErrInternal = sentinel(C.BLIP_EINTERNAL)
)

// errorCodes lists every BLIP_E* code the binding knows, by C name, with its sentinel.
// The drift test checks it against the #defines of blip.h.
var errorCodes = []struct {
	name string
	err  *Error
}{
	{"BLIP_EINVAL", ErrInvalid},
	{"BLIP_ENOMEM", ErrNoMemory},
	{"BLIP_EAGAIN", ErrWouldBlock},
	{"BLIP_EMSGSIZE", ErrMessageTooLarge},
	{"BLIP_ECLOSED", ErrClosed},
	{"BLIP_ETIMEDOUT", ErrTimedOut},
	{"BLIP_ENOTSUP", ErrNotSupported},
	{"BLIP_EADDRINUSE", ErrAddrInUse},
	{"BLIP_EADDRNOTAVAIL", ErrAddrNotAvailable},
	{"BLIP_ENODEV", ErrNoDevice},
	{"BLIP_EPROTO", ErrProtocol},
	{"BLIP_ESTATE", ErrState},
	{"BLIP_EIO", ErrIO},
	{"BLIP_EINTERNAL", ErrInternal},
}

func sentinel(code C.int) *Error {
	return &Error{Code: int(code), Name: C.GoString(C.blip_err_name(code))}
}

func describeCode(code int) string {
	return C.GoString(C.blip_strerror(C.int(code)))
}

// newError wraps a failing return code of the library; nil for BLIP_OK.
func newError(rc C.int, op, detail string) error { return codeError(int(rc), op, detail) }

// codeError is newError for a code held as a Go int.
func codeError(code int, op, detail string) error {
	if code == C.BLIP_OK {
		return nil
	}
	return &Error{
		Code:   code,
		Name:   C.GoString(C.blip_err_name(C.int(code))),
		Op:     op,
		Detail: detail,
	}
}

// closedError is the error of any call on a closed channel or context.
func closedError(op string) error {
	return newError(C.BLIP_ECLOSED, op, "")
}
