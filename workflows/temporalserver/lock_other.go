//go:build !unix

package temporalserver

// lockDataDir does not lock on this platform: do not point two servers at
// one DataDir.
func lockDataDir(string) (unlock func() error, err error) {
	return func() error { return nil }, nil
}
