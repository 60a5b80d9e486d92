package blip

// optiontable.go - every channel option of blip.h's option table, by name, with its value
// type. The library is the authority on values; this table lets programs list the options and
// lets the drift test catch an option added to (or renamed in) blip.h but not here.

import "sort"

// OptionType is the value type of a channel option, as blip.h's option table gives it.
type OptionType int

const (
	// OptionString is a text option such as "group" or "join".
	OptionString OptionType = iota + 1
	// OptionInt is an integer option such as "port" or "ttl".
	OptionInt
	// OptionBool is a boolean option such as "loopback".
	OptionBool
	// OptionFloat is a floating-point option ("double" in blip.h) such as "inject_loss".
	OptionFloat
	// OptionIntOrString is an integer also accepted as text (decimal or 0x hex): "node_id".
	OptionIntOrString
)

// String names the type as blip.h's option table does.
func (t OptionType) String() string {
	switch t {
	case OptionString:
		return "string"
	case OptionInt:
		return "int"
	case OptionBool:
		return "bool"
	case OptionFloat:
		return "double"
	case OptionIntOrString:
		return "int or string"
	default:
		return "unknown"
	}
}

// optionTypes is blip.h's option table, in its order.
var optionTypes = map[string]OptionType{
	"group":                   OptionString,
	"port":                    OptionInt,
	"interface":               OptionString,
	"ttl":                     OptionInt,
	"loopback":                OptionBool,
	"segmentation_offload":    OptionBool,
	"reuse_port":              OptionBool,
	"recv_buffer":             OptionInt,
	"send_buffer":             OptionInt,
	"datagram_size":           OptionInt,
	"max_message_size":        OptionInt,
	"stream":                  OptionInt,
	"accept_streams":          OptionString,
	"window_bytes":            OptionInt,
	"window_messages":         OptionInt,
	"send_queue_bytes":        OptionInt,
	"send_queue_messages":     OptionInt,
	"rate_limit":              OptionInt,
	"repair_rate":             OptionInt,
	"repair_burst":            OptionInt,
	"repair_holdoff_us":       OptionInt,
	"heartbeat_min_us":        OptionInt,
	"heartbeat_max_us":        OptionInt,
	"flow_control":            OptionBool,
	"flow_timeout_ms":         OptionInt,
	"join":                    OptionString,
	"reorder_buffer_bytes":    OptionInt,
	"nak_delay_min_us":        OptionInt,
	"nak_backoff_us":          OptionInt,
	"repair_timeout_us":       OptionInt,
	"adaptive_repair_timeout": OptionBool,
	"repair_timeout_min_us":   OptionInt,
	"nak_retry_max_us":        OptionInt,
	"nak_max_retries":         OptionInt,
	"sender_timeout_ms":       OptionInt,
	"sender_forget_ms":        OptionInt,
	"max_senders":             OptionInt,
	"busy_poll_us":            OptionInt,
	"receive_queue_messages":  OptionInt,
	"receive_queue_bytes":     OptionInt,
	"node_id":                 OptionIntOrString,
	"node_name":               OptionString,
	"seed":                    OptionInt,
	"inject_loss":             OptionFloat,
	"inject_seed":             OptionInt,
}

// OptionNames lists the names of every channel option this binding knows, sorted.
func OptionNames() []string {
	names := make([]string, 0, len(optionTypes))
	for n := range optionTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupOption gives an option's value type; ok is false for a name this binding does not
// know (the library may still know it if it is newer: WithString works for every option).
func LookupOption(name string) (t OptionType, ok bool) {
	t, ok = optionTypes[name]
	return t, ok
}
