// Package itest holds the integration tests of the reference stack: the
// edge-agent and cloud-hub binaries (and their `defects` builds) are built
// once, started as real processes on 127.0.0.1 with temporary data dirs, cut
// off, killed with SIGKILL and restarted, and the hub ledger is checked for
// exactly-once delivery of every acknowledged write. Run with -short to skip.
package itest
