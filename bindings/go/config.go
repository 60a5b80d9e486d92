package blip

// config.go - builds a library config (blip_config_t) from Open's arguments. Kept apart from
// opening, so that option errors can be tested without opening a channel.

// #include <blip/blip.h>
import "C"

// newConfig creates a config with group, port and interface set, then every option in order.
// On success the caller destroys the config with C.blip_config_destroy.
func newConfig(group string, port int, iface string, opts []Option) (*C.blip_config_t, error) {
	var cfg *C.blip_config_t
	if rc := C.blip_config_create(&cfg); rc != C.BLIP_OK {
		return nil, newError(rc, "config create", "")
	}
	all := make([]Option, 0, 3+len(opts))
	all = append(all, WithString("group", group), WithInt("port", int64(port)),
		WithString("interface", iface))
	all = append(all, opts...)
	for _, o := range all {
		if err := o.apply(cfg); err != nil {
			destroyConfig(cfg)
			return nil, err
		}
	}
	return cfg, nil
}

func destroyConfig(cfg *C.blip_config_t) { C.blip_config_destroy(cfg) }
