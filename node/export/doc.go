// Package export turns a gathering into files people and other tools can
// use, and carries a gathering's operations between nodes on a USB stick.
//
// Exports are pure functions over values read from a crdt.State: Collect
// gathers them (call it under the node's read lock), then Markdown, JSON,
// CSV, ICS and ActivityStreams write one format each. They read no clock
// and no disk; the caller passes the time the export is made.
//
// # Bundles
//
// A bundle is one file holding a gathering's sealed operations, or only
// those from a given clock on. A hub that knows only the gathering id can
// write and check one; the payloads stay sealed. Layout, integers
// big-endian:
//
//	magic      15 bytes  "convene-bundle\n"
//	version     1 byte   (1)
//	gathering  32 bytes
//	since      12 bytes  wall (8, Unix ms) | logical (4): every operation
//	                     in the bundle has a clock ≥ since; zero means all
//	stream      …        one zstd frame; decompressed, a sequence of
//	                     uvarint length | envelope encoding
//	count       8 bytes  the number of envelopes in the stream
//	checksum   32 bytes  SHA-256 of everything before it
//
// The count trails the stream, rather than leading it, so that a bundle is
// written in a single pass over the store without holding it in memory;
// the reader holds back the last 40 bytes while it decompresses.
//
// ReadBundle is all-or-nothing: it returns the envelopes only when the
// checksum, the count, the gathering, every envelope's encoding, clock and
// signature check out, and otherwise an error wrapping ErrBadBundle. Import
// adds, for a node, that every payload opens with the gathering's key and
// no clock is too far ahead, and only then hands the whole set to
// node.Ingest, which skips the operations it already holds, so importing
// twice is harmless. WriteLogBundle writes a node's (or a hub's) log.
package export
