// Package buildinfo holds the version stamped in at link time.
package buildinfo

// Version is set by `make build` with -ldflags -X.
var Version = "dev"
