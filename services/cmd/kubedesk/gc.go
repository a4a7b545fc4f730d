package main

import "runtime/debug"

// embeddedGCPercent is the garbage collector's target (GOGC) of a process
// that runs the embedded Temporal server, unless GOGC is set. The server
// allocates fast while clocks fall due, and at Go's default of 100 the
// collector took about 11 % of a busy minute's CPU on 2 cores; 150 lets
// the heap grow half as much again between collections, which the
// process's memory has room for (docs/benchmarks.md: peak RSS 426 MiB in
// the 10,000-ticket benchmark, against 382-388 MiB at 100).
const embeddedGCPercent = 150

// setEmbeddedGCPercent applies embeddedGCPercent unless the environment
// sets GOGC (as the runtime reads it: empty is unset), and reports whether
// it did.
func setEmbeddedGCPercent(getenv func(string) string) bool {
	if getenv("GOGC") != "" {
		return false
	}
	debug.SetGCPercent(embeddedGCPercent)
	return true
}
