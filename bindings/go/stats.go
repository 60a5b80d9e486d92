package blip

// stats.go - counters by name: the channel's (blip_channel_stat) and those of each remote
// sender stream it tracks (blip_channel_remote_stat). Names come from blip_stat_name.

// #include <stdlib.h>
// #include <blip/blip.h>
import "C"

import (
	"sync"
	"unsafe"
)

var statNames struct {
	once            sync.Once
	channel, remote []string
}

func loadStatNames() {
	statNames.once.Do(func() {
		statNames.channel = listStatNames(C.BLIP_STATS_CHANNEL)
		statNames.remote = listStatNames(C.BLIP_STATS_REMOTE)
	})
}

func listStatNames(scope C.int) []string {
	var names []string
	for i := 0; ; i++ {
		var name *C.char
		if C.blip_stat_name(scope, C.size_t(i), &name) != C.BLIP_OK {
			return names
		}
		names = append(names, C.GoString(name))
	}
}

// StatNames lists the names of the channel counters Stats returns, in the library's order.
func StatNames() []string {
	loadStatNames()
	return append([]string(nil), statNames.channel...)
}

// RemoteStatNames lists the names of the per-sender counters RemoteStats returns.
func RemoteStatNames() []string {
	loadStatNames()
	return append([]string(nil), statNames.remote...)
}

// Stats reads every channel counter by name, e.g. "messages_sent", "naks_sent",
// "kernel_drops". Channel counters sum every stream this channel sends and every remote
// sender stream it tracks now.
func (c *Channel) Stats() (map[string]uint64, error) {
	loadStatNames()
	if !c.x.acquire() {
		return nil, closedError("stats")
	}
	defer c.x.release()
	return readStats(statNames.channel, "stats", func(name *C.char, v *C.uint64_t) C.int {
		return C.blip_channel_stat(c.ptr, name, v)
	})
}

// Remotes lists the remote sender streams the channel tracks now (SessionID is left 0).
func (c *Channel) Remotes() ([]Sender, error) {
	if !c.x.acquire() {
		return nil, closedError("remotes")
	}
	defer c.x.release()
	for capacity := 16; ; capacity *= 2 {
		// C memory for the arrays: nothing of Go's is handed to the library to fill.
		nodes := (*C.uint64_t)(C.calloc(C.size_t(capacity), C.size_t(unsafe.Sizeof(C.uint64_t(0)))))
		streams := (*C.uint32_t)(C.calloc(C.size_t(capacity), C.size_t(unsafe.Sizeof(C.uint32_t(0)))))
		var count C.size_t
		rc := C.blip_channel_remotes(c.ptr, nodes, streams, C.size_t(capacity), &count)
		var out []Sender
		if rc == C.BLIP_OK && int(count) <= capacity {
			ns := unsafe.Slice(nodes, capacity)
			ss := unsafe.Slice(streams, capacity)
			out = make([]Sender, int(count))
			for i := range out {
				out[i] = Sender{NodeID: uint64(ns[i]), Stream: uint32(ss[i])}
			}
		}
		C.free(unsafe.Pointer(nodes))
		C.free(unsafe.Pointer(streams))
		if rc != C.BLIP_OK {
			return nil, newError(rc, "remotes", "")
		}
		if out != nil {
			return out, nil
		}
	}
}

// RemoteStats reads every counter of one remote sender stream (e.g. "messages", "repairs",
// "naks_sent"); ErrAddrNotAvailable if the channel does not track it.
func (c *Channel) RemoteStats(s Sender) (map[string]uint64, error) {
	loadStatNames()
	if !c.x.acquire() {
		return nil, closedError("remote stats")
	}
	defer c.x.release()
	return readStats(statNames.remote, "remote stats", func(name *C.char, v *C.uint64_t) C.int {
		return C.blip_channel_remote_stat(c.ptr, C.uint64_t(s.NodeID), C.uint32_t(s.Stream), name, v)
	})
}

func readStats(names []string, op string, get func(*C.char, *C.uint64_t) C.int) (map[string]uint64, error) {
	out := make(map[string]uint64, len(names))
	for _, n := range names {
		cname := C.CString(n)
		var v C.uint64_t
		rc := get(cname, &v)
		C.free(unsafe.Pointer(cname))
		if rc != C.BLIP_OK {
			return nil, newError(rc, op+" "+n, "")
		}
		out[n] = uint64(v)
	}
	return out, nil
}
