package blip

// options_typed.go - typed helpers for the options applications set most often. Each is
// WithInt/WithString/WithBool/WithFloat with the option's name filled in; blip.h's option
// table documents ranges and defaults.

import (
	"strconv"
	"strings"
)

// JoinPolicy says where a receiver that joins a running session starts (option "join").
type JoinPolicy string

const (
	// JoinNext starts at the first message heard (the default).
	JoinNext JoinPolicy = "next"
	// JoinRecover starts at the oldest message the sender still holds and repairs the rest.
	JoinRecover JoinPolicy = "recover"
)

// WithTTL sets the IPv4 TTL / IPv6 hop limit (option "ttl", 0..255; 1 = this link only).
func WithTTL(ttl int) Option { return WithInt("ttl", int64(ttl)) }

// WithLoopback sets whether other processes on this host hear our datagrams ("loopback").
func WithLoopback(on bool) Option { return WithBool("loopback", on) }

// WithReusePort sets whether several processes may bind the same group and port ("reuse_port").
func WithReusePort(on bool) Option { return WithBool("reuse_port", on) }

// WithStream sets the stream that Send uses (option "stream").
func WithStream(stream uint32) Option { return WithInt("stream", int64(stream)) }

// WithAcceptStreams makes the channel receive only the given streams ("accept_streams");
// with no argument it receives all.
func WithAcceptStreams(streams ...uint32) Option {
	ids := make([]string, len(streams))
	for i, s := range streams {
		ids[i] = strconv.FormatUint(uint64(s), 10)
	}
	return WithString("accept_streams", strings.Join(ids, ","))
}

// WithNodeID sets this node's stable identity ("node_id"); 0 means random per open.
func WithNodeID(id uint64) Option { return WithString("node_id", strconv.FormatUint(id, 10)) }

// WithNodeName sets the node id to a 64-bit hash of a name such as "host/service"
// ("node_name"), so that receivers recognise this node when it restarts.
func WithNodeName(name string) Option { return WithString("node_name", name) }

// WithJoin sets the late-join policy ("join").
func WithJoin(p JoinPolicy) Option { return WithString("join", string(p)) }

// WithMaxMessageSize sets the largest message sent or reassembled ("max_message_size").
func WithMaxMessageSize(bytes int64) Option { return WithInt("max_message_size", bytes) }

// WithDatagramSize sets the largest UDP payload sent ("datagram_size", 128..65000).
func WithDatagramSize(bytes int) Option { return WithInt("datagram_size", int64(bytes)) }

// WithRateLimit limits the original data rate in bytes per second ("rate_limit"; 0 =
// unlimited). Messages wait in the send queue meanwhile.
func WithRateLimit(bytesPerSecond int64) Option { return WithInt("rate_limit", bytesPerSecond) }

// WithSendQueue bounds the accepted but unsent data ("send_queue_bytes"); beyond it Send waits.
func WithSendQueue(bytes int64) Option { return WithInt("send_queue_bytes", bytes) }

// WithReceiveQueue bounds the events queued for Recv ("receive_queue_messages"); a reader
// that falls further behind gets an Overrun event naming what it lost.
func WithReceiveQueue(messages int64) Option { return WithInt("receive_queue_messages", messages) }

// WithRecvBuffer requests a socket receive buffer size (SO_RCVBUF, "recv_buffer"; 0 = the
// kernel's default). A request the kernel clamps gives a Warning event.
func WithRecvBuffer(bytes int) Option { return WithInt("recv_buffer", int64(bytes)) }

// WithSendBuffer requests a socket send buffer size (SO_SNDBUF, "send_buffer").
func WithSendBuffer(bytes int) Option { return WithInt("send_buffer", int64(bytes)) }

// WithSeed seeds NAK timing and ids ("seed"); for reproducible tests only.
func WithSeed(seed int64) Option { return WithInt("seed", seed) }

// WithInjectLoss drops this fraction (0..1) of the datagrams received ("inject_loss").
// For tests and demos only.
func WithInjectLoss(fraction float64) Option { return WithFloat("inject_loss", fraction) }

// WithInjectSeed seeds the choice of WithInjectLoss ("inject_seed").
func WithInjectSeed(seed int64) Option { return WithInt("inject_seed", seed) }
