package blip

// options.go - functional options: a channel option set by name with one constructor per value
// type, mirroring blip_config_set_int/_string/_bool/_double. The library validates every
// value; typed helpers for common options are in options_typed.go.

// #include <stdlib.h>
// #include <blip/blip.h>
import "C"

import (
	"fmt"
	"unsafe"
)

type valueKind int

const (
	kindInt valueKind = iota
	kindString
	kindBool
	kindFloat
)

// Option is one channel option, given to Open. Build it with WithInt, WithString, WithBool,
// WithFloat or a typed helper such as WithTTL. Options apply in order, after group, port and
// interface; a later option overrides an earlier one of the same name.
type Option struct {
	name string
	kind valueKind
	i    int64
	s    string
	b    bool
	f    float64
}

// WithInt sets an integer option by name, e.g. WithInt("ttl", 4). The library also accepts
// it for bool options (0/1) and double options.
func WithInt(name string, v int64) Option { return Option{name: name, kind: kindInt, i: v} }

// WithString sets an option from text; this works for options of every type
// ("1400", "0x1f", "true", "0.1"), as on blip-send's --set command line.
func WithString(name, v string) Option { return Option{name: name, kind: kindString, s: v} }

// WithBool sets a boolean option by name, e.g. WithBool("loopback", false).
func WithBool(name string, v bool) Option { return Option{name: name, kind: kindBool, b: v} }

// WithFloat sets a floating-point option by name, e.g. WithFloat("inject_loss", 0.1).
func WithFloat(name string, v float64) Option { return Option{name: name, kind: kindFloat, f: v} }

// Name returns the option's name, as blip.h's option table spells it.
func (o Option) Name() string { return o.name }

// String formats the option as name=value, as blip-send's --set takes it.
func (o Option) String() string {
	switch o.kind {
	case kindInt:
		return fmt.Sprintf("%s=%d", o.name, o.i)
	case kindBool:
		return fmt.Sprintf("%s=%t", o.name, o.b)
	case kindFloat:
		return fmt.Sprintf("%s=%g", o.name, o.f)
	default:
		return fmt.Sprintf("%s=%s", o.name, o.s)
	}
}

// apply sets the option on a config; on failure the error carries blip_config_error().
func (o Option) apply(cfg *C.blip_config_t) error {
	cname := C.CString(o.name)
	defer C.free(unsafe.Pointer(cname))
	var rc C.int
	switch o.kind {
	case kindInt:
		rc = C.blip_config_set_int(cfg, cname, C.int64_t(o.i))
	case kindBool:
		v := C.int(0)
		if o.b {
			v = 1
		}
		rc = C.blip_config_set_bool(cfg, cname, v)
	case kindFloat:
		rc = C.blip_config_set_double(cfg, cname, C.double(o.f))
	default:
		cval := C.CString(o.s)
		defer C.free(unsafe.Pointer(cval))
		rc = C.blip_config_set_string(cfg, cname, cval)
	}
	if rc != C.BLIP_OK {
		return newError(rc, "option "+o.name, C.GoString(C.blip_config_error(cfg)))
	}
	return nil
}
