// Package node is the state one gateway process keeps per store, which
// outlives a Caddy config: the open engine, the usage writer, the
// management state, the ledger, key limits, live stats, key health, the
// low-balance notifier, the flush/resync loop and the usage-retention
// loop, and the requests in flight.
//
// It knows nothing of Caddy: the ai app shares one State per store between
// the configurations a reload overlaps (a caddy.UsagePool, whose entry
// closes the State when the last configuration lets go of it).
package node
