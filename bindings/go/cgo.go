package blip

// cgo.go - the one place that tells cgo how to find libblip: pkg-config's blip.pc. Every other
// file includes <blip/blip.h> (and what it needs) in its own preamble.

// #cgo pkg-config: blip
// #include <blip/blip.h>
import "C"
